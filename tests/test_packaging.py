"""Release metadata and the CI files agree with each other: the Pythons pyproject.toml claims are
the ones CI runs, the workflow installs what .ci/run installs, and a release needs no token.
(.ci/run builds and runs the wheel itself, and checks the workflows against GitHub's schema.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = (ROOT / "pyproject.toml").read_text()
CI_RUN = (ROOT / ".ci" / "run").read_text()


def _workflow(name: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def _ci_run_pythons() -> tuple[str, list[str]]:
    """.ci/run's oldest Python and its newest-first candidates."""
    oldest = re.search(r"^OLDEST=(\S+)$", CI_RUN, re.MULTILINE)
    newest = re.search(r"^NEWEST_FIRST=\(([^)]*)\)$", CI_RUN, re.MULTILINE)
    assert oldest
    assert newest
    return oldest.group(1), newest.group(1).split()


def test_the_python_classifiers_are_every_version_ci_knows() -> None:
    oldest, newest_first = _ci_run_pythons()
    claimed = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', PYPROJECT)
    assert sorted(claimed, key=lambda v: int(v.split(".")[1])) == [oldest, *newest_first[::-1]]
    assert f'requires-python = ">={oldest}"' in PYPROJECT


def test_the_three_operating_systems_and_the_licence_are_declared() -> None:
    for system in ("POSIX :: Linux", "MacOS", "Microsoft :: Windows"):
        assert f'"Operating System :: {system}"' in PYPROJECT
    # PEP 639: an SPDX expression and the file; a License :: classifier beside it is an error.
    assert 'license = "Apache-2.0"' in PYPROJECT
    assert 'license-files = ["LICENSE"]' in PYPROJECT
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert "License ::" not in PYPROJECT


def test_no_placeholder_project_urls() -> None:
    """True URLs or none: the repository has no public address yet."""
    assert "example.invalid" not in PYPROJECT
    assert "[project.urls]" not in PYPROJECT


def test_one_version_source() -> None:
    assert 'version = { attr = "eksauth.__version__" }' in PYPROJECT
    assert 'dynamic = ["version"]' in PYPROJECT


def test_the_workflow_runs_the_legs_of_ci_run_on_every_os() -> None:
    oldest, newest_first = _ci_run_pythons()
    ci = _workflow("ci.yml")
    assert set(ci[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    matrix = ci["jobs"]["test"]["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    assert matrix["python"] == [oldest, newest_first[0]]
    installs = {row["python"]: row["install"] for row in matrix["include"]}
    # The same pip arguments as .ci/run's floor and newest legs.
    assert installs[oldest] == 'pip install -c .ci/constraints-floor.txt -e ".[test-core]"'
    assert installs[newest_first[0]] == (
        'pip install --upgrade --upgrade-strategy eager -e ".[test]"'
    )
    assert "pip install -c .ci/constraints-floor.txt -e '.[test-core]'" in CI_RUN
    assert "pip install --upgrade --upgrade-strategy eager -e '.[test]'" in CI_RUN
    commands = "\n".join(step.get("run", "") for step in ci["jobs"]["test"]["steps"])
    for command in ("python -m pytest", "ruff check .", "ruff format --check .", "mypy eksauth"):
        assert command in commands


def test_a_release_publishes_with_trusted_publishing_and_no_token() -> None:
    release = _workflow("release.yml")
    assert set(release[True]) == {"push"}
    assert release[True]["push"] == {"tags": ["v*"]}
    publish = release["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    (step,) = (s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", ""))
    assert "with" not in step  # no password / api-token input: PyPI trusts the OIDC token
    build_steps = "\n".join(s.get("run", "") for s in release["jobs"]["build"]["steps"])
    assert ".ci/smoke-wheel dist/eksauth-*.whl" in build_steps
    assert "twine check --strict" in build_steps
    for text in (ROOT / ".github" / "workflows").glob("*.yml"):
        assert "secrets." not in text.read_text()
