#!/usr/bin/env python3
"""Whole-process timing of `eksauth update-kubeconfig --all` against a slow loopback EKS.

    .venv/bin/python benchmarks/bench_all.py               # 5 interleaved rounds
    .venv/bin/python benchmarks/bench_all.py --rounds 9 --delay 0.05 --json

The stand-in (tests/standins/eks_regions.py) serves EKS for 17 regions holding 40 clusters on
one loopback URL and answers every call after `--delay` seconds (default 50 ms), as a distant
AWS region might. Each round runs, in turn: `python -c pass`, a first run into an empty
kubeconfig (40 clusters added), and a second run over the file it left (all unchanged, nothing
written). Each is the project venv's `eksauth` console script, a fresh process.

Done one call after another, the 57 calls (17 ListClusters + 40 DescribeCluster) would take
57 x delay (2.85 s at 50 ms) before any process start-up; the report gives that serial floor
beside the medians, and the ratio of each run to it.
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

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(PROJECT))

from bench import environment as private_environment  # noqa: E402 -- this folder's bench.py

from tests.standins.eks_regions import EksRegionsServer  # noqa: E402

REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
]
CLUSTERS = 40


def fleet() -> dict[str, dict[str, str]]:
    """40 clusters over 17 regions, round robin; a few names repeat across regions."""
    clusters: dict[str, dict[str, str]] = {r: {} for r in REGIONS}
    for i in range(CLUSTERS):
        clusters[REGIONS[i % len(REGIONS)]][f"team-{i % 23}"] = "ACTIVE"
    return clusters


def environment(home: Path, url: str) -> dict[str, str]:
    """bench.py's private, offline AWS environment, aimed at the stand-in EKS; no region or
    exec info of its own (every region is given on the command line)."""
    env = private_environment(home)
    for name in ("AWS_DEFAULT_REGION", "KUBERNETES_EXEC_INFO"):
        env.pop(name)
    env.update(AWS_ENDPOINT_URL_EKS=url, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}... failed ({done.returncode}): {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--delay", type=float, default=0.05, help="seconds per answer (0: the overhead alone)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    regions = [arg for r in REGIONS for arg in ("--region", r)]
    times: dict[str, list[float]] = {"python -c pass": [], "first run": [], "second run": []}
    with tempfile.TemporaryDirectory() as scratch, EksRegionsServer(fleet()) as server:
        server.delay = args.delay
        env = environment(Path(scratch) / "home", server.url)
        command = [str(BIN / "eksauth"), "update-kubeconfig", "--all", *regions]
        for number in range(args.rounds):
            config = Path(scratch) / f"config-{number}"
            env["KUBECONFIG"] = str(config)
            times["python -c pass"].append(timed([sys.executable, "-c", "pass"], env))
            times["first run"].append(timed(command, env))
            before = config.read_bytes()
            times["second run"].append(timed(command, env))
            if config.read_bytes() != before:
                raise SystemExit("the second run changed the file")
            marks = config.read_text().count("eksauth/update-kubeconfig-all")
            if marks != 2 * CLUSTERS + 1:  # each cluster's and context's mark, one user's
                raise SystemExit(f"expected {CLUSTERS} clusters written, found {marks} marks")
    serial = (len(REGIONS) + CLUSTERS) * args.delay
    medians = {name: statistics.median(values) for name, values in times.items()}
    if args.json:
        print(json.dumps({"medians": medians, "serial_floor": serial, "times": times}, indent=2))
        return
    print(f"{len(REGIONS)} regions, {CLUSTERS} clusters, {args.delay * 1000:g} ms per call,")
    print(f"{args.rounds} interleaved rounds; serial floor of the calls alone: {serial:.2f} s")
    for name, median in medians.items():
        ratio = f"   {median / serial:5.2f}x the serial floor" if serial else ""
        print(f"  {name:<16} median {median:6.3f} s{ratio}")


if __name__ == "__main__":
    main()
