#!/usr/bin/env python3
"""Whole-process timings of eksauth against `aws eks get-token` and `python -c pass`.

Run from the project's virtualenv (the one with the `[test]` extra, which brings awscli):

    .venv/bin/python benchmarks/bench.py            # 21 interleaved rounds
    .venv/bin/python benchmarks/bench.py --rounds 51 --json

Every command runs once per round, in turn, so machine noise hits them all alike; the report
gives medians and, more usefully on a shared machine, ratios taken within this one run.
Nothing leaves the machine: signing is local, with AWS's documented example keys.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def environment(home: Path) -> dict[str, str]:
    """A private, offline AWS environment: example keys, empty config files, no IMDS."""
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    for name in ("config", "credentials"):
        (home / ".aws" / name).touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EKSAUTH_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # noqa: S106 -- AWS's documented example key
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_CONFIG_FILE=str(home / ".aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        KUBERNETES_EXEC_INFO='{"apiVersion":"client.authentication.k8s.io/v1beta1"}',
    )
    return env


def commands(home: Path) -> dict[str, list[str]]:
    token = ["token", "--cluster-name", "bench"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "eksauth hit": [str(BIN / "eksauth"), *token],
        "python -m eksauth hit": [sys.executable, "-m", "eksauth", *token],
        "eksauth miss": [str(BIN / "eksauth"), *token, "--cache-dir", "{fresh}"],
        "aws eks get-token": [str(BIN / "aws"), "eks", "get-token", "--cluster-name", "bench"],
    }


def run_once(argv: list[str], env: dict[str, str], scratch: Path, n: int) -> float:
    argv = [a.replace("{fresh}", str(scratch / f"empty-{n}")) for a in argv]
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace').strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (default 21)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    missing = [b for b in ("eksauth", "aws") if not (BIN / b).exists()]
    if missing:
        sys.exit(f"run from the project venv with the [test] extra: missing {', '.join(missing)}")

    with tempfile.TemporaryDirectory(prefix="eksauth-bench-") as tmp:
        scratch = Path(tmp)
        env = environment(scratch / "home")
        table = commands(scratch)
        samples: dict[str, list[float]] = {name: [] for name in table}
        for argv in table.values():  # warm the page cache and the token cache once
            run_once(argv, env, scratch, -1)
        for n in range(args.rounds):
            for name, argv in table.items():
                samples[name].append(run_once(argv, env, scratch, n))

    medians = {name: statistics.median(times) for name, times in samples.items()}
    base, aws = medians["python -c pass"], medians["aws eks get-token"]
    ratios = {
        "hit / python -c pass": medians["eksauth hit"] / base,
        "python -m hit / python -c pass": medians["python -m eksauth hit"] / base,
        "aws / hit (times faster)": aws / medians["eksauth hit"],
        "aws / miss (times faster)": aws / medians["eksauth miss"],
    }
    if args.json:
        print(json.dumps({"rounds": args.rounds, "median_seconds": medians, "ratios": ratios}))
        return
    print(f"{args.rounds} interleaved rounds, {sys.platform}, Python {sys.version.split()[0]}")
    for name, value in medians.items():
        print(f"  {name:<24} median {value * 1000:7.1f} ms")
    for name, value in ratios.items():
        print(f"  {name:<32} {value:5.2f}")


if __name__ == "__main__":
    main()
