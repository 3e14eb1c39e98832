"""The platform rules, each asked for Linux, macOS and Windows on whatever machine runs the
tests: the platform is a parameter, never a patched sys.platform."""

from __future__ import annotations

import ast
import ntpath
import os
import posixpath
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from eksauth import portable
from eksauth.aws import rolesessions
from eksauth.cache import default_cache_dir, resolve_cache_dir
from eksauth.lookup import aws_files
from eksauth.portable import expand_home, home_folder, open_always
from eksauth.sso import session

PACKAGE = Path(__file__).resolve().parents[1] / "eksauth"
HOME_VARIABLES = ("HOME", "USERPROFILE", "HOMEDRIVE", "HOMEPATH")

WINDOWS_ENVS = [
    {"USERPROFILE": "C:\\Users\\me"},
    {"USERPROFILE": "C:\\Users\\me", "HOME": "D:\\elsewhere"},  # HOME is not read there
    {"HOMEDRIVE": "D:", "HOMEPATH": "\\Users\\me"},
    {"USERPROFILE": "C:\\Users\\me", "HOMEDRIVE": "D:", "HOMEPATH": "\\x"},
    {"HOME": "C:\\Users\\me"},  # Python >= 3.8 ignores HOME on Windows: no home
    {},
]
POSIX_ENVS = [
    {"HOME": "/home/me"},
    {"HOME": "/home/me/"},
    {"HOME": "/"},
    {"HOME": "/home/me", "USERPROFILE": "C:\\Users\\other"},  # USERPROFILE is not read there
    {},  # the password database's entry
]


def _only(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HOME_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


class TestHomeFolder:
    """`home_folder(env, platform)` is `os.path.expanduser("~")` of that platform, botocore's
    rule, asked of ntpath and posixpath themselves."""

    @pytest.mark.parametrize("env", WINDOWS_ENVS)
    def test_windows_is_ntpath_expanduser(self, env, monkeypatch) -> None:
        _only(env, monkeypatch)
        expanded = ntpath.expanduser("~")
        assert home_folder(os.environ, "win32") == (expanded if ntpath.isabs(expanded) else None)

    @pytest.mark.parametrize("platform", ["linux", "darwin"])
    @pytest.mark.parametrize("env", POSIX_ENVS)
    def test_posix_is_posixpath_expanduser(self, platform, env, monkeypatch) -> None:
        if not env and not hasattr(os, "getuid"):
            pytest.skip("no password database on this machine to fall back on")
        _only(env, monkeypatch)
        assert home_folder(os.environ, platform) == posixpath.expanduser("~")

    @pytest.mark.parametrize("home", ["", "relative/home"])
    def test_a_relative_or_empty_home_counts_as_unset(self, home) -> None:
        """The one difference from expanduser: private files never land under the working
        folder (or "/"). POSIX falls back on the password database; Windows has none."""
        if hasattr(os, "getuid"):
            assert home_folder({"HOME": home}, "linux") == home_folder({}, "linux")
        assert home_folder({"USERPROFILE": home}, "win32") is None

    def test_every_aws_file_and_cache_folder_follows_the_one_rule(self, tmp_path) -> None:
        """The aws files, the SSO cache, aws-cli's role sessions and the token cache all sit
        under the same home, set the way this platform's shells set it."""
        home = str(tmp_path)
        env = {"USERPROFILE": home} if sys.platform == "win32" else {"HOME": home}
        paths = [
            *aws_files(env),
            session.default_cache_dir(env),
            rolesessions.aws_cli_cache_dir(env),
        ]
        if sys.platform != "win32":  # platformdirs' known folder there, not under home
            paths.append(default_cache_dir(env))
        for path in paths:
            assert path is not None
            assert os.path.commonpath([home, path]) == home, path


POSIX_PATHS = ["~", "~/", "~/.aws/sso/cache", "~//x", "relative/~/x", "/abs/x", "~nosuchuser/x"]
# Not `~nosuchuser` there: on Windows, expanduser guesses another user's home from ours.
WINDOWS_PATHS = [*POSIX_PATHS[:-1], "~\\.aws\\sso\\cache", "C:\\x"]


class TestExpandHome:
    """`expand_home(path, env, platform)` is that platform's `os.path.expanduser(path)` with the
    home of `home_folder`: the one home rule for a `~` in a path."""

    @pytest.mark.parametrize("path", WINDOWS_PATHS)
    @pytest.mark.parametrize("env", [e for e in WINDOWS_ENVS if home_folder(e, "win32")])
    def test_windows_is_ntpath_expanduser(self, env, path, monkeypatch) -> None:
        _only(env, monkeypatch)
        assert expand_home(path, os.environ, "win32") == ntpath.expanduser(path)

    @pytest.mark.parametrize("path", POSIX_PATHS)
    @pytest.mark.parametrize("platform", ["linux", "darwin"])
    @pytest.mark.parametrize("env", POSIX_ENVS)
    def test_posix_is_posixpath_expanduser(self, platform, env, path, monkeypatch) -> None:
        if not env and not hasattr(os, "getuid"):
            pytest.skip("no password database on this machine to fall back on")
        _only(env, monkeypatch)
        assert expand_home(path, os.environ, platform) == posixpath.expanduser(path)

    @pytest.mark.parametrize("home", ["", "relative/home"])
    def test_a_relative_or_empty_home_counts_as_unset(self, home) -> None:
        if not hasattr(os, "getuid"):
            pytest.skip("no password database on this machine to fall back on")
        from_passwords = home_folder({}, "linux")
        assert from_passwords is not None
        assert expand_home("~/.aws", {"HOME": home}, "linux") == from_passwords + "/.aws"

    def test_without_a_home_it_is_what_botocore_gets(self, monkeypatch) -> None:
        """No usable home (Windows without USERPROFILE or HOMEPATH): expanduser's own answer,
        which is where botocore looks for `~/.aws/...`."""
        _only({"HOME": "/from/the/process"}, monkeypatch)
        assert home_folder({}, "win32") is None
        assert expand_home("~/.aws", {}, "win32") == os.path.expanduser("~/.aws")

    def test_the_cache_folder_option_and_the_sso_cache_follow_it(self, tmp_path) -> None:
        home = str(tmp_path)
        env = {"USERPROFILE": home} if sys.platform == "win32" else {"HOME": home}
        assert resolve_cache_dir("~/tokens", env) == os.path.join(home, "tokens")
        assert resolve_cache_dir(None, {**env, "EKSAUTH_CACHE_DIR": "~"}) == home
        assert session.default_cache_dir(env) == os.path.join(home, ".aws", "sso", "cache")


class TestOpenFlags:
    def test_binary_is_added_where_the_platform_has_it(self) -> None:
        windows = SimpleNamespace(O_BINARY=0x8000, O_NOINHERIT=0x80)
        linux = SimpleNamespace(O_CLOEXEC=0o2000000)
        assert open_always(windows) == 0x8000
        assert open_always(linux) == 0o2000000
        assert open_always(os) == portable.OPEN_ALWAYS

    def test_every_os_open_adds_the_platform_flags(self) -> None:
        """A new `os.open` without them would read Ctrl-Z as the end of a file on Windows."""
        calls = 0
        for path in PACKAGE.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "open"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "os"
                ):
                    calls += 1
                    flags = ast.unparse(node.args[1])
                    named = flags if "OPEN_ALWAYS" in flags else _assigned(path, flags)
                    assert "OPEN_ALWAYS" in named, f"{path.name}:{node.lineno}: {flags}"
        assert calls >= 7

    @pytest.mark.skipif(not hasattr(os, "O_BINARY"), reason="only Windows has O_BINARY")
    def test_a_ctrl_z_byte_survives_a_round_trip(self, tmp_path) -> None:
        from eksauth.files.boundedread import read_text
        from eksauth.files.private import replace_private

        path = str(tmp_path / "f")
        replace_private(path, b"a\nb\x1ac\n")
        assert (tmp_path / "f").read_bytes() == b"a\nb\x1ac\n"
        assert read_text(path, what="f") == "a\nb\x1ac\n"


def _assigned(path: Path, name: str) -> str:
    """The right-hand sides assigned to `name` in `path` (`flags = ...` before an os.open)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            found.append(ast.unparse(node.value))
    return " ".join(found) if found and all("OPEN_ALWAYS" in f for f in found) else ""


COMMANDS = [
    ("eksauth", "eksauth"),
    ("/usr/local/bin/eksauth", "eksauth"),
    ("C:\\Users\\me\\.local\\bin\\eksauth.exe", "eksauth"),
    ("C:/tools/EKSAUTH.EXE", "EKSAUTH"),
    ("eksauth.exe", "eksauth"),
    ("aws.exe", "aws"),
    ("C:\\Program Files\\Amazon\\AWSCLIV2\\aws.exe", "aws"),
    ("D:\\bin\\aws-iam-authenticator.exe", "aws-iam-authenticator"),
    ("/opt/aws-iam-authenticator", "aws-iam-authenticator"),
    ("eksauth-helper", "eksauth-helper"),
    ("", ""),
    (None, ""),
]


class TestCommandRecognition:
    """One owner (`kubeconfig.command.program`) for every reader of an exec's command."""

    @pytest.mark.parametrize(("command", "name"), COMMANDS)
    def test_program(self, command, name) -> None:
        from eksauth.kubeconfig.command import program

        assert program(command) == name

    @pytest.mark.parametrize(
        "command", ["eksauth", "C:\\Users\\me\\.local\\bin\\eksauth.exe", "/opt/x/eksauth"]
    )
    def test_the_shared_user_is_recognised_by_any_path(self, command) -> None:
        from eksauth.kubeconfig.shared import is_shared_user, shared_user

        assert is_shared_user(shared_user("eksauth", command))

    def test_windows_aws_cli_and_authenticator_execs_are_migrated(self) -> None:
        from eksauth.kubeconfig.migrate import migrate_exec

        aws = {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "C:\\Program Files\\Amazon\\AWSCLIV2\\aws.exe",
            "args": ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "demo"],
        }
        assert migrate_exec(aws) is not None
        assert aws["command"] == "eksauth"
        assert aws["args"][:3] == ["token", "--cluster-name", "demo"]
        authenticator = {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "D:\\bin\\aws-iam-authenticator.exe",
            "args": ["token", "-i", "demo", "--region", "eu-west-1"],
        }
        assert migrate_exec(authenticator) is not None
        assert authenticator["command"] == "eksauth"

    @pytest.mark.parametrize(
        ("argv0", "found"),
        [
            ("C:\\venv\\Scripts\\eksauth.exe", True),
            ("/venv/bin/eksauth", True),
            ("/venv/bin/eksauth-script.py", True),
            ("/venv/lib/eksauth/__main__.py", False),
        ],
    )
    def test_the_running_script_is_recognised(self, argv0, found, tmp_path) -> None:
        from eksauth.kubeconfig.command import running_script

        python = str(tmp_path / "python")  # no eksauth beside it
        assert (running_script(argv0, python) is not None) is found


class _Msvcrt:
    """Stands in for Windows' msvcrt off Windows: `locking(fd, LK_NBLCK, n)` fails with
    PermissionError while another descriptor of the same file holds its first bytes."""

    LK_NBLCK = 2  # msvcrt's value

    def __init__(self) -> None:
        self.held: dict[tuple[int, int], int] = {}
        self.calls: list[tuple[int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append((mode, nbytes))
        st = os.fstat(fd)
        holder = self.held.setdefault((st.st_dev, st.st_ino), fd)
        if holder != fd:
            raise PermissionError(13, "Permission denied")


class TestLockChoice:
    """The platform picks the lock call; msvcrt is reached through `locks.windows_locking`."""

    def _two(self, tmp_path) -> tuple[int, int]:
        path = str(tmp_path / "entry.lock")
        flags = os.O_RDWR | os.O_CREAT | portable.OPEN_ALWAYS
        return os.open(path, flags, 0o600), os.open(path, flags, 0o600)

    def test_windows_takes_msvcrts_non_blocking_lock(self, tmp_path, monkeypatch) -> None:
        from eksauth.files import locks

        msvcrt = _Msvcrt()
        monkeypatch.setattr(locks, "windows_locking", lambda: msvcrt)
        first, second = self._two(tmp_path)
        try:
            assert locks._try_lock(first, "win32")
            assert not locks._try_lock(second, "win32")  # held: no wait, no exception
            assert msvcrt.calls == [(msvcrt.LK_NBLCK, 1), (msvcrt.LK_NBLCK, 1)]
        finally:
            os.close(first)
            os.close(second)

    @pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX's; Windows has msvcrt")
    @pytest.mark.parametrize("platform", ["linux", "darwin"])
    def test_posix_takes_flock_and_never_msvcrt(self, platform, tmp_path, monkeypatch) -> None:
        from eksauth.files import locks

        def no_msvcrt() -> None:
            raise AssertionError("msvcrt asked for on " + platform)

        monkeypatch.setattr(locks, "windows_locking", no_msvcrt)
        first, second = self._two(tmp_path)
        try:
            assert locks._try_lock(first, platform)
            assert not locks._try_lock(second, platform)
            os.close(first)
            first = -1
            assert locks._try_lock(second, platform)  # closing released it
        finally:
            for fd in (first, second):
                if fd >= 0:
                    os.close(fd)

    @pytest.mark.skipif(sys.platform != "win32", reason="the real msvcrt exists only on Windows")
    def test_the_real_msvcrt_lock_excludes_a_second_descriptor(self, tmp_path) -> None:
        from eksauth.files import locks

        first, second = self._two(tmp_path)
        try:
            assert locks._try_lock(first)
            assert not locks._try_lock(second)
        finally:
            os.close(first)
            os.close(second)


class TestReparsePoints:
    """Where there is no O_NOFOLLOW (Windows), a folder or file that is a reparse point (a
    symlink, or a junction, which lstat reports as a plain folder) is refused by its file
    attributes. Given here as the stat result Windows would return for a real private folder."""

    def _as_windows_reports(self, path, attributes: int) -> SimpleNamespace:
        st = os.stat(path, follow_symlinks=False)
        return SimpleNamespace(st_mode=st.st_mode, st_uid=st.st_uid, st_file_attributes=attributes)

    def test_a_junction_for_the_cache_folder_is_refused(self, tmp_path) -> None:
        from eksauth.cache import folder_problem

        folder = tmp_path / "eksauth"
        folder.mkdir(mode=0o700)
        plain = self._as_windows_reports(folder, 0x10)  # FILE_ATTRIBUTE_DIRECTORY
        junction = self._as_windows_reports(folder, 0x10 | 0x400)  # ... | REPARSE_POINT
        assert folder_problem(plain) is None  # type: ignore[arg-type]
        assert folder_problem(junction) == "it is a link (a Windows reparse point)"  # type: ignore[arg-type]

    def test_a_linked_aws_file_is_refused(self, tmp_path) -> None:
        from eksauth.cache import file_problem

        path = tmp_path / "token.json"
        path.write_text("{}")
        path.chmod(0o600)
        assert file_problem(self._as_windows_reports(path, 0x20)) is None  # type: ignore[arg-type]
        linked = self._as_windows_reports(path, 0x20 | 0x400)
        assert file_problem(linked) == "it is a link (a Windows reparse point)"  # type: ignore[arg-type]


@pytest.mark.parametrize(("platform", "written"), [("win32", b"? hint\n"), ("linux", None)])
def test_text_a_windows_pipe_cannot_encode_is_replaced(monkeypatch, platform, written) -> None:
    """A pipe on Windows is written in cp1252, which has no `→` (doctor's hints)."""
    import io

    from eksauth.cli import text_never_fails

    pipe = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(pipe, encoding="cp1252"))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(io.BytesIO(), encoding="cp1252"))
    text_never_fails(platform)
    if written is None:  # elsewhere the stream is left as it is
        with pytest.raises(UnicodeEncodeError):
            sys.stdout.write("→ hint\n")
        return
    sys.stdout.write("→ hint\n")
    sys.stdout.flush()
    assert pipe.getvalue() == written
