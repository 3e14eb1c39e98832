"""The one rule for the `command` a written exec entry names: one kubectl will find.

kubectl looks the command up on its own PATH. A bare `eksauth` is written only when the
`eksauth` found on the current PATH is the one running now; otherwise (a venv not on PATH, a
checkout run by full path) the absolute path of the running executable is written, with a
note saying why, so the kubeconfig works wherever kubectl runs from.

Under `python -m eksauth` the running program is the interpreter, not a script: the `eksauth`
script installed beside that interpreter stands for it. With no such script (a bare checkout
on PYTHONPATH) the interpreter itself cannot be written as the command, because the exec
entry's args start with `token`; a bare `eksauth` is then written, with a note that it must be
put on PATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass

NAME = "eksauth"
# kubectl prints an exec's installHint whenever it cannot find the command (for every missing
# plugin, not only eksauth), so each exec entry eksauth writes carries this one.
INSTALL_HINT = (
    "eksauth is not on kubectl's PATH. Install it (pipx install eksauth, or pipx install . from"
    " a checkout; then pipx ensurepath), or rerun eksauth update-kubeconfig to write its full path"
)


@dataclass(frozen=True)
class ExecCommand:
    """The `command` to write, and why it is not the bare name (None when it is)."""

    command: str
    note: str | None = None


def program(command: object) -> str:
    """The program an exec `command` names, as every platform's kubectl would find it:
    `eksauth`, `/usr/local/bin/eksauth`, `C:\\tools\\eksauth.exe` and `eksauth.EXE` are all
    `eksauth` (kubeconfigs travel between machines, so either separator counts everywhere)."""
    name = str(command or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name[: -len(".exe")] if name.lower().endswith(".exe") else name


def running_script(argv0: str, executable: str) -> str | None:
    """The eksauth script this process runs as: argv[0] when it is the console script, else
    (`python -m eksauth`, where argv[0] is the package's __main__.py, or an embedding program)
    the script installed beside `executable`, if there is one.
    """
    if program(argv0).lower() == NAME or os.path.basename(argv0).lower() == f"{NAME}-script.py":
        return _with_exe(os.path.abspath(argv0))
    for name in _BESIDE:
        beside = os.path.join(os.path.dirname(executable), name)
        if os.path.isfile(beside) and os.access(beside, os.X_OK):
            return beside
    return None


# Windows' Scripts folder holds `eksauth.exe` (beside python.exe in a venv, below it in a
# Python installed for all), and the launcher pip writes there strips `.exe` from argv[0],
# naming a file that does not exist; PATH lookups find `eksauth.exe`.
_BESIDE = (NAME, f"{NAME}.exe", os.path.join("Scripts", f"{NAME}.exe"))


def _with_exe(path: str) -> str:
    """`path`, or `path.exe` when only that exists (argv[0] of pip's Windows launcher)."""
    if not os.path.exists(path) and os.path.isfile(path + ".exe"):
        return path + ".exe"
    return path


def exec_command(
    env: Mapping[str, str] | None = None,
    argv0: str | None = None,
    executable: str | None = None,
) -> ExecCommand:
    """The command for kubeconfig exec entries, judged against `env`'s PATH."""
    env = os.environ if env is None else env
    script = running_script(sys.argv[0] if argv0 is None else argv0, executable or sys.executable)
    found = shutil.which(NAME, path=env.get("PATH", os.defpath))
    if script is None:
        if found is not None:
            return ExecCommand(NAME)
        return ExecCommand(NAME, "no eksauth script was found; put one on kubectl's PATH")
    if found is not None and _same_file(found, script):
        return ExecCommand(NAME)
    where = f"PATH finds {found}" if found else "eksauth is not on PATH"
    return ExecCommand(script, f"wrote the full path {script}: {where}")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
