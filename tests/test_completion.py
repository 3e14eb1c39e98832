"""Shell completions: committed scripts match what click generates, and bash really completes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from eksauth.cli import SHELLS, completion_script
from tests.conftest import not_on_windows

COMPLETIONS = Path(__file__).resolve().parent.parent / "completions"


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_scripts_are_current(shell: str, eksauth) -> None:
    committed = (COMPLETIONS / f"eksauth.{shell}").read_text()
    assert committed == completion_script(shell), "run: eksauth completion SHELL > completions/"
    assert eksauth("completion", shell).stdout == committed


def bash_complete(words: str, aws_env: Path) -> list[str]:
    """Source the committed script in a real bash and ask it to complete `words`."""
    version = subprocess.run(
        ["bash", "-c", 'echo "${BASH_VERSINFO[0]} ${BASH_VERSINFO[1]}"'],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    if (int(version[0]), int(version[1])) < (4, 4):
        pytest.skip(f"bash {'.'.join(version)} predates 4.4, which click's completion needs")
    script = COMPLETIONS / "eksauth.bash"
    program = (
        f"source {script}\n"
        "complete -p eksauth >&2\n"
        f"COMP_WORDS=({words})\n"
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        '[[ "' + words + '" == *" " ]] && COMP_CWORD=${#COMP_WORDS[@]}\n'
        "_eksauth_completion eksauth\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        env=dict(os.environ),  # eksauth on PATH (aws_env)
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr.startswith("complete -o nosort -F _eksauth_completion eksauth")
    return done.stdout.split()


@pytest.mark.e2e
@not_on_windows("no POSIX bash to source the script in (bash there is WSL's or Git Bash)")
class TestBash:
    def test_subcommands(self, aws_env: Path) -> None:
        assert {"token", "cache", "completion"} <= set(bash_complete("eksauth ''", aws_env))

    def test_options(self, aws_env: Path) -> None:
        options = bash_complete("eksauth token --cl", aws_env)
        assert options == ["--cluster-name", "--cluster-id"]

    def test_profiles_from_the_aws_files(self, aws_env: Path) -> None:
        (aws_env / ".aws" / "config").write_text("[profile dev]\n[profile prod]\n[default]\n")
        (aws_env / ".aws" / "credentials").write_text("[ci]\n")
        assert bash_complete("eksauth token --profile ''", aws_env) == [
            "ci",
            "default",
            "dev",
            "prod",
        ]

    def test_regions_from_botocore(self, aws_env: Path) -> None:
        regions = bash_complete("eksauth token --region eu-west-", aws_env)
        assert {"eu-west-1", "eu-west-2", "eu-west-3"} <= set(regions)
        assert all(r.startswith("eu-west-") for r in regions)
