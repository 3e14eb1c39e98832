#!/usr/bin/env python3
"""Whole-process timings of eksauth against `aws eks get-token` and `python -c pass`.

Run from the project's virtualenv (the one with the `[test]` extra, which brings awscli):

    .venv/bin/python benchmarks/bench.py            # 21 interleaved rounds
    .venv/bin/python benchmarks/bench.py --rounds 51 --json

Every command runs once per round, in turn, so machine noise hits them all alike; the report
gives medians and, more usefully on a shared machine, ratios taken within this one run.
Nothing leaves the machine: signing is local, with AWS's documented example keys.

Each eksauth runs as a user installs it: the project is built into a wheel and installed
(`pip install`, no editable finder) into a scratch virtualenv, so the timed `eksauth` is the
console script pip writes, which imports `re` before eksauth starts. Where uv is available
(beside this Python or on PATH; `pip install uv`), a second scratch venv is installed by
`uv pip install`, whose script does without `re`, as `uv tool install` writes it. Both venvs
borrow this venv's dependencies through a path entry.
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
PROJECT = Path(__file__).resolve().parent.parent


def build_wheel(out: Path, source: Path = PROJECT) -> Path:
    """The wheel of `source` (this project, or another tree of it), as `pip install .` builds it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
    )
    return next(out.glob("eksauth-*.whl"))


def uv_binary() -> str | None:
    beside = BIN / "uv"
    return str(beside) if beside.exists() else shutil.which("uv")


def scratch_venv(root: Path, wheel: Path, uv: str | None = None) -> Path:
    """A venv with eksauth installed from `wheel` by pip (or by uv), borrowing our deps."""
    if uv is None:
        # No pip inside: its setuptools would add a .pth import to every start, baseline included.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        install = [sys.executable, "-m", "pip", "--python", str(root / "bin" / "python")]
        install += ["install", "-q", "--no-index"]
    else:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(root)], check=True)
        install = [uv, "pip", "install", "-q", "--python", str(root / "bin" / "python")]
        install += ["--no-index", "--compile-bytecode"]
    subprocess.run([*install, "--no-deps", str(wheel)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A plain path line: .pth files inside it (an editable finder) are not processed.
    (Path(purelib) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return root / "bin"


def imports_re(script: Path) -> bool:
    return any(line.strip() == "import re" for line in script.read_text().splitlines())


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


def commands(bin_dir: Path, uv_bin: Path | None) -> dict[str, list[str]]:
    python = str(bin_dir / "python")
    token = ["token", "--cluster-name", "bench"]
    table = {
        "python -c pass": [python, "-c", "pass"],
        "eksauth hit (pip)": [str(bin_dir / "eksauth"), *token],
        "python -m eksauth hit": [python, "-m", "eksauth", *token],
        # kubectl with provideClusterInfo: the cluster comes from the exec extension (EXTENSION_ENV)
        "eksauth hit via extension (pip)": [str(bin_dir / "eksauth"), "token"],
        "eksauth miss (pip)": [str(bin_dir / "eksauth"), *token, "--cache-dir", "{fresh}"],
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
    if uv_bin is not None:
        table["eksauth hit (uv)"] = [str(uv_bin / "eksauth"), *token]
    return table


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

    uv = uv_binary()
    with tempfile.TemporaryDirectory(prefix="eksauth-bench-") as tmp:
        scratch = Path(tmp)
        env = environment(scratch / "home")
        wheel = build_wheel(scratch / "dist")
        pip_bin = scratch_venv(scratch / "venv", wheel)
        uv_bin = scratch_venv(scratch / "uv-venv", wheel, uv) if uv else None
        wrappers = {"pip": imports_re(pip_bin / "eksauth")}
        if uv_bin is not None:
            wrappers["uv"] = imports_re(uv_bin / "eksauth")
        table = commands(pip_bin, uv_bin)
        samples: dict[str, list[float]] = {name: [] for name in table}
        for argv in table.values():  # warm the page cache and the token cache once
            run_once(argv, env, scratch, -1)
        for n in range(args.rounds):
            for name, argv in table.items():
                samples[name].append(run_once(argv, env, scratch, n))

    medians = {name: statistics.median(times) for name, times in samples.items()}
    base, aws = medians["python -c pass"], medians["aws eks get-token"]
    ratios = {
        "pip hit / python -c pass": medians["eksauth hit (pip)"] / base,
        "python -m hit / python -c pass": medians["python -m eksauth hit"] / base,
        "hit via extension / hit": (
            medians["eksauth hit via extension (pip)"] / medians["eksauth hit (pip)"]
        ),
        "aws / pip hit (times faster)": aws / medians["eksauth hit (pip)"],
        "aws / pip miss (times faster)": aws / medians["eksauth miss (pip)"],
    }
    if "eksauth hit (uv)" in medians:
        ratios["uv hit / python -c pass"] = medians["eksauth hit (uv)"] / base
        ratios["aws / uv hit (times faster)"] = aws / medians["eksauth hit (uv)"]
    if args.json:
        print(
            json.dumps(
                {
                    "rounds": args.rounds,
                    "median_seconds": medians,
                    "ratios": ratios,
                    "wrapper_imports_re": wrappers,
                }
            )
        )
        return
    print(f"{args.rounds} interleaved rounds, {sys.platform}, Python {sys.version.split()[0]}")
    if uv is None:
        print("  (uv not found beside this Python or on PATH: `pip install uv` to time its script)")
    for name, value in medians.items():
        print(f"  {name:<26} median {value * 1000:7.1f} ms")
    for name, value in ratios.items():
        print(f"  {name:<32} {value:5.2f}")
    for name, value in wrappers.items():
        print(f"  the {name} console script imports re: {'yes' if value else 'no'}")


if __name__ == "__main__":
    main()
