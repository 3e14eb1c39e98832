#!/usr/bin/env python3
"""Whole-process timings of eksauth against `aws eks get-token` and `python -c pass`.

Run from the project's virtualenv (the one with the `[test]` extra, which brings awscli):

    .venv/bin/python benchmarks/bench.py            # 21 interleaved rounds
    .venv/bin/python benchmarks/bench.py --rounds 51 --json

Every command runs once per round, in turn, so machine noise hits them all alike; the report
gives medians and, more usefully on a shared machine, ratios taken within this one run.
Nothing leaves the machine: signing is local, with AWS's documented example keys.

All commands run in a scratch virtualenv holding a plain copy of eksauth (as `pip install .`
lays it out) and a path entry to this venv's dependencies: an editable install's import hook
would otherwise slow every interpreter start, `python -c pass` included, and blur the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PACKAGE = Path(__file__).resolve().parent.parent / "eksauth"
# What pip writes as a console script for `eksauth = eksauth.fastpath:main`.
SCRIPT = """#!{python}
import sys
from eksauth.fastpath import main
if __name__ == "__main__":
    sys.exit(main())
"""


def scratch_venv(root: Path) -> Path:
    """A venv with a regular copy of eksauth that borrows this venv's dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = Path(purelib) / "eksauth"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    # pip byte-compiles what it installs; without it every run would compile from source.
    subprocess.run([str(python), "-m", "compileall", "-q", str(target)], check=True)
    # A plain path line: .pth files inside it (an editable finder) are not processed.
    (Path(purelib) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    script = root / "bin" / "eksauth"
    script.write_text(SCRIPT.format(python=python))
    script.chmod(0o755)
    return root / "bin"


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


def commands(bin_dir: Path) -> dict[str, list[str]]:
    python = str(bin_dir / "python")
    token = ["token", "--cluster-name", "bench"]
    return {
        "python -c pass": [python, "-c", "pass"],
        "eksauth hit": [str(bin_dir / "eksauth"), *token],
        "python -m eksauth hit": [python, "-m", "eksauth", *token],
        # kubectl with provideClusterInfo: the cluster comes from the exec extension (EXTENSION_ENV)
        "eksauth hit via extension": [str(bin_dir / "eksauth"), "token"],
        "eksauth miss": [str(bin_dir / "eksauth"), *token, "--cache-dir", "{fresh}"],
        "aws eks get-token": [
            python,
            "-m",
            "awscli",
            "eks",
            "get-token",
            "--cluster-name",
            "bench",
        ],
    }


# What kubectl sends a shared user entry (`provideClusterInfo: true`): the same cluster, so the
# same token request and cache entry as `--cluster-name bench` with the environment's region.
EXTENSION_ENV = {
    "KUBERNETES_EXEC_INFO": json.dumps(
        {
            "kind": "ExecCredential",
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "spec": {
                "interactive": False,
                "cluster": {
                    "server": "https://bench.example",
                    "certificate-authority-data": "Q0E=",
                    "config": {"clusterName": "bench"},
                },
            },
        }
    )
}


def run_once(argv: list[str], env: dict[str, str], scratch: Path, n: int) -> float:
    if argv[-1] == "token":  # the extension case
        env = {**env, **EXTENSION_ENV}
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
    if not (BIN / "aws").exists():
        sys.exit("run from the project venv with the [test] extra (it brings awscli)")

    with tempfile.TemporaryDirectory(prefix="eksauth-bench-") as tmp:
        scratch = Path(tmp)
        env = environment(scratch / "home")
        table = commands(scratch_venv(scratch / "venv"))
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
        "hit via extension / hit": medians["eksauth hit via extension"] / medians["eksauth hit"],
        "aws / hit (times faster)": aws / medians["eksauth hit"],
        "aws / miss (times faster)": aws / medians["eksauth miss"],
    }
    if args.json:
        print(json.dumps({"rounds": args.rounds, "median_seconds": medians, "ratios": ratios}))
        return
    print(f"{args.rounds} interleaved rounds, {sys.platform}, Python {sys.version.split()[0]}")
    for name, value in medians.items():
        print(f"  {name:<26} median {value * 1000:7.1f} ms")
    for name, value in ratios.items():
        print(f"  {name:<32} {value:5.2f}")


if __name__ == "__main__":
    main()
