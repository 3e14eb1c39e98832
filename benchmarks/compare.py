#!/usr/bin/env python3
"""A cache hit of this checkout against a cache hit of another git revision, interleaved.

Run from the project's virtualenv:

    .venv/bin/python benchmarks/compare.py REV            # e.g. a tag or the commit before a change
    .venv/bin/python benchmarks/compare.py REV --rounds 61
    .venv/bin/python benchmarks/compare.py REV --miss     # a miss (signing) instead

Both trees are built into wheels and installed into scratch venvs exactly as `bench.py` installs
one (pip's console script, dependencies borrowed from this venv), each warms its own cache
folder, then the two `eksauth token` hits run in turn, round after round, so the shared
machine's noise falls on both alike. The report gives each median, the ratio of the medians
and the median of the per-round ratios (after / before): a refactor that claims "no slower"
shows both near 1.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import PROJECT, build_wheel, environment, run_once, scratch_venv

TOKEN = ["token", "--cluster-name", "bench"]


def tree_at(rev: str, into: Path) -> Path:
    """The files of `rev`, exported (not checked out: the working tree is left alone)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(PROJECT), "archive", "--format=tar", rev],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the git revision to compare against (the 'before')")
    parser.add_argument("--rounds", type=int, default=41, help="interleaved rounds (default 41)")
    parser.add_argument("--miss", action="store_true", help="time misses (--no-cache) instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        before_src = tree_at(args.rev, scratch / "before-src")
        argv, envs = {}, {}
        for name, source in (("before", before_src), ("after", PROJECT)):
            wheel = build_wheel(scratch / f"{name}-wheel", source)
            argv[name] = [str(scratch_venv(scratch / f"{name}-venv", wheel) / "eksauth"), *TOKEN]
            envs[name] = environment(scratch / f"{name}-home")  # a cache folder each
            run_once(argv[name], envs[name], scratch, 0)  # warm: the miss writes what hits read
        extra = ["--no-cache"] if args.miss else []
        times: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for name, taken in times.items():
                taken.append(run_once([*argv[name], *extra], envs[name], scratch, 0))
    before, after = (statistics.median(times[n]) for n in ("before", "after"))
    per_round = statistics.median(a / b for a, b in zip(times["after"], times["before"]))
    what = "misses, --no-cache" if args.miss else "cache hits"
    print(f"{args.rounds} interleaved rounds of `eksauth {' '.join(TOKEN)}` ({what})")
    print(f"  before ({args.rev}): {before * 1000:.2f} ms median")
    print(f"  after (this tree): {after * 1000:.2f} ms median")
    print(f"  after / before: {after / before:.3f} (of medians), {per_round:.3f} (per round)")


if __name__ == "__main__":
    main()
