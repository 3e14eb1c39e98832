"""The command kubeconfig writers put in an exec: one kubectl will find on its own PATH.

End to end: the installed eksauth writes the kubeconfig with a PATH that lacks its venv, and
the real kubectl, with that same PATH, runs the exec against the API-server stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eksauth.kubeconfig.command import INSTALL_HINT, ExecCommand, exec_command, running_script
from tests.conftest import (
    BIN,
    USER_ARN,
    fake_program,
    kubectl_version,
    not_on_windows,
    run_tool,
    tool,
)

SYSTEM_PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if p != str(BIN))


def script(folder: Path, name: str = "eksauth") -> Path:
    return fake_program(folder, name)


class TestTheRule:
    def test_the_running_script_on_path_is_named_bare(self, tmp_path) -> None:
        mine = script(tmp_path / "bin")
        env = {"PATH": str(mine.parent)}
        assert exec_command(env, str(mine), sys.executable) == ExecCommand("eksauth")

    @not_on_windows("pipx copies scripts there rather than linking them, and a symlink needs admin")
    def test_a_symlink_on_path_to_the_running_script_counts(self, tmp_path) -> None:
        mine = script(tmp_path / "venv" / "bin")  # pipx: ~/.local/bin/eksauth -> the venv's
        (tmp_path / "local").mkdir()
        (tmp_path / "local" / "eksauth").symlink_to(mine)
        env = {"PATH": str(tmp_path / "local")}
        assert exec_command(env, str(mine), sys.executable).command == "eksauth"

    def test_off_path_the_full_path_with_the_reason(self, tmp_path) -> None:
        mine = script(tmp_path / "bin")
        chosen = exec_command({"PATH": str(tmp_path / "nowhere")}, str(mine), sys.executable)
        assert chosen == ExecCommand(
            str(mine), f"wrote the full path {mine}: eksauth is not on PATH"
        )

    def test_another_eksauth_first_on_path(self, tmp_path) -> None:
        mine, other = script(tmp_path / "mine"), script(tmp_path / "other")
        chosen = exec_command({"PATH": str(other.parent)}, str(mine), sys.executable)
        assert chosen.command == str(mine)
        # normcase: Windows' shutil.which spells the extension as PATHEXT does (`.EXE`).
        expected = f"wrote the full path {mine}: PATH finds {other}"
        assert os.path.normcase(str(chosen.note)) == os.path.normcase(expected)

    def test_python_m_uses_the_script_beside_the_interpreter(self, tmp_path) -> None:
        beside = script(tmp_path / "venv" / "bin")
        python = str(beside.parent / "python")
        main = str(tmp_path / "site" / "eksauth" / "__main__.py")
        assert exec_command({"PATH": ""}, main, python).command == str(beside)
        assert exec_command({"PATH": str(beside.parent)}, main, python).command == "eksauth"

    def test_pips_windows_launcher_names_the_script_without_exe(self, tmp_path) -> None:
        exe = tmp_path / "Scripts" / "eksauth.exe"
        exe.parent.mkdir()
        exe.write_bytes(b"")
        argv0 = str(tmp_path / "Scripts" / "eksauth")  # the launcher drops `.exe` from argv[0]
        assert running_script(argv0, sys.executable) == str(exe)

    def test_python_m_finds_scripts_below_a_python_installed_for_all(self, tmp_path) -> None:
        exe = tmp_path / "Scripts" / "eksauth.exe"  # python.exe at the top, scripts below
        exe.parent.mkdir()
        exe.write_bytes(b"")
        exe.chmod(0o755)
        main = str(tmp_path / "Lib" / "site-packages" / "eksauth" / "__main__.py")
        assert running_script(main, str(tmp_path / "python.exe")) == str(exe)

    def test_python_m_without_a_script_writes_the_name_and_says_so(self, tmp_path) -> None:
        python = str(tmp_path / "bare" / "python")
        main = str(tmp_path / "eksauth" / "__main__.py")
        chosen = exec_command({"PATH": ""}, main, python)
        assert chosen.command == "eksauth"
        assert chosen.note is not None
        assert "PATH" in chosen.note


@pytest.mark.e2e
class TestKubectlFindsIt:
    @pytest.fixture
    def env(self, kubectl_env: dict[str, str]) -> dict[str, str]:
        return {**kubectl_env, "PATH": SYSTEM_PATH}  # the venv is not on it

    def offline(self, eks_api) -> list[str]:
        return [
            "--region",
            "eu-west-1",
            "--endpoint",
            eks_api.url,
            "--ca-data",
            eks_api.ca_data_b64,
        ]

    def kubectl(self, env: dict[str, str]) -> None:
        done = kubectl_version(env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["gitVersion"]

    def written(self, env: dict[str, str]) -> str:
        content = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
        command: str = content["users"][0]["user"]["exec"]["command"]
        return command

    @pytest.mark.parametrize(
        "launcher", [[tool("eksauth")], [sys.executable, "-m", "eksauth"]], ids=["script", "-m"]
    )
    def test_off_path_kubectl_runs_the_full_path(self, env, eks_api, launcher) -> None:
        update = [*launcher, "update-kubeconfig", "--name", "demo", *self.offline(eks_api)]
        done = subprocess.run(update, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert self.written(env) == tool("eksauth")
        # Said once the entry is written (and only then), after what was written.
        last = done.stderr.splitlines()[-1]
        assert last.startswith(f"eksauth: note: wrote the full path {tool('eksauth')}: ")
        self.kubectl(env)
        assert [s.arn for s in eks_api.seen] == [USER_ARN]

    def test_on_path_kubectl_runs_the_name(self, env, eks_api) -> None:
        env["PATH"] = f"{BIN}{os.pathsep}{SYSTEM_PATH}"
        update = ["eksauth", "update-kubeconfig", "--name", "demo", *self.offline(eks_api)]
        done = subprocess.run(update, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "note" not in done.stderr
        assert self.written(env) == "eksauth"
        self.kubectl(env)

    def test_kubectl_prints_the_install_hint_when_eksauth_is_missing(self, env, eks_api) -> None:
        """Written with PATH finding eksauth, run by a kubectl whose PATH has none."""
        env["PATH"] = f"{BIN}{os.pathsep}{SYSTEM_PATH}"
        update = ["eksauth", "update-kubeconfig", "--name", "demo", *self.offline(eks_api)]
        assert subprocess.run(update, env=env, capture_output=True, check=False).returncode == 0
        env["PATH"] = SYSTEM_PATH
        done = kubectl_version(env)
        assert done.returncode != 0
        assert "executable eksauth not found" in done.stderr
        assert INSTALL_HINT in done.stderr
        assert eks_api.seen == []

    def test_migrate_off_path(self, env, eks_api) -> None:
        config = Path(env["KUBECONFIG"])
        config.parent.mkdir()
        args = ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "demo"]
        eks_api.write_kubeconfig(config, exec_command="aws", exec_args=args)
        done = run_tool("eksauth", "migrate-kubeconfig", env=env)
        assert done.returncode == 0, done.stderr
        assert self.written(env) == tool("eksauth")
        self.kubectl(env)
