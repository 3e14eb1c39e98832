"""A hostile world: planted files, shared folders, FIFOs, bombs and broken pipes (issue 10).

Each class is a class of attack; each test would have caught the bug it names. End-to-end cases
drive the installed `eksauth`; two-user cases run as root with a throwaway user.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eksauth.errors import EksAuthError, StsError, TokenFormatError, VerificationError
from eksauth.files import locks, private
from eksauth.identity import replay
from eksauth.token import bearer
from tests.conftest import (
    ACCESS_KEY,
    FROZEN,
    SECRET_KEY,
    SEED_SIGNED,
    SEED_TOKEN,
    SEED_URL,
    cache_dir,
    mkfifo,
    not_on_windows,
    posix_modes,
    run_tool,
    symlink,
    tool,
    with_keys,
)
from tests.standins._server import StandInHandler, StandInServer

ARGS = ("token", "--cluster-name", "demo", "--region", "eu-west-1", "--output", "token")
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
OFFLINE = (
    "--region",
    "eu-west-1",
    "--endpoint",
    "https://demo.example.com",
    "--ca-data",
    base64.b64encode(PEM).decode(),
)
try:
    import pwd
except ImportError:  # Windows: no password database, and the two-user cases skip
    pwd = None  # type: ignore[assignment]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0 and sys.platform == "linux"
NEEDS_ROOT = pytest.mark.skipif(
    not IS_ROOT,
    reason="two-user cases need root and Linux's useradd to create a throwaway user and chown"
    " to it (Windows has no Unix owners; macOS has no useradd)",
)

# Windows command lines are UTF-16: an argument that is not UTF-8 cannot be passed at all.
NOT_UTF8 = not_on_windows(
    "command lines are Unicode; an argument of undecodable bytes cannot exist"
)


def run_installed(*args: str | bytes, **options: Any) -> subprocess.CompletedProcess[Any]:
    """The console script, its environment holding the example keys (`run_tool`'s options)."""
    return run_tool("eksauth", *args, env=with_keys(os.environ), **options)


def one_error_line(result: Any, code: int = 1) -> str:
    stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
    stdout = result.stdout if isinstance(result.stdout, (str, bytes)) else ""
    code_seen = getattr(result, "exit_code", getattr(result, "returncode", None))
    assert (code_seen, len(stdout)) == (code, 0), stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("eksauth: error: "), stderr
    return stderr


@pytest.fixture
def stranger() -> Iterator[pwd.struct_passwd]:
    """A throwaway user, removed afterwards."""
    if not IS_ROOT:
        pytest.skip("needs root and Linux's useradd to create a throwaway user")
    name = f"eksx{os.getpid() % 100000}"
    subprocess.run(["useradd", "--no-create-home", name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


# -- 1. never write through something planted ----------------------------------------------------


class TestPlanted:
    def test_symlink_at_the_backup_is_refused(self, eksauth, tmp_path: Path) -> None:
        config, victim = tmp_path / "config", tmp_path / "victim"
        config.write_text(yaml.safe_dump(_aws_cli_kubeconfig()))
        victim.write_text("precious\n")
        symlink(tmp_path / "config.eksauth-backup", victim)
        result = eksauth("migrate-kubeconfig", "--kubeconfig", str(config))
        assert "symlink" in one_error_line(result)
        assert victim.read_text() == "precious\n"
        assert yaml.safe_load(config.read_text()) == _aws_cli_kubeconfig()  # untouched

    def test_fifo_at_the_ca_file_is_refused_without_hanging(self, tmp_path: Path) -> None:
        config = tmp_path / "kube" / "config"
        config.parent.mkdir()
        mkfifo(config.parent / "demo-ca.crt")
        result = run_installed(
            "update-kubeconfig", "--name", "demo", "--kubelet", "--kubeconfig", str(config),
            *OFFLINE, text=True, timeout=20,
        )  # fmt: skip
        assert "not a regular file" in one_error_line(result)
        assert not config.exists()

    def test_symlink_at_the_ca_file_is_refused(self, eksauth, tmp_path: Path) -> None:
        config, victim = tmp_path / "config", tmp_path / "victim"
        victim.write_text("precious\n")
        symlink(tmp_path / "demo-ca.crt", victim)
        result = eksauth(
            "update-kubeconfig", "--name", "demo", "--kubelet", "--kubeconfig", str(config),
            *OFFLINE,
        )  # fmt: skip
        one_error_line(result)
        assert victim.read_text() == "precious\n"

    @posix_modes
    def test_our_own_backup_is_replaced(self, tmp_path: Path) -> None:
        backup = tmp_path / "b"
        private.replace_own(str(backup), b"one")
        private.replace_own(str(backup), b"two")
        assert backup.read_bytes() == b"two"
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600

    @NEEDS_ROOT
    def test_a_foreign_file_is_not_replaced(self, tmp_path: Path, stranger) -> None:
        backup = tmp_path / "b"
        backup.write_text("theirs")
        os.chown(backup, stranger.pw_uid, stranger.pw_gid)
        with pytest.raises(private.PlantedError):
            private.replace_own(str(backup), b"ours")
        assert backup.read_text() == "theirs"


def _aws_cli_kubeconfig() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "contexts": [],
        "current-context": "",
        "preferences": {},
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", "demo"],
                    }
                },
            }
        ],
    }


# -- 2. other people's folders and files stay as they were ---------------------------------------


@pytest.mark.usefixtures("static_keys")
class TestOthersFolders:
    @posix_modes
    def test_a_shared_cache_folder_is_never_chmodded(self, eksauth, tmp_path: Path) -> None:
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o1777)
        result = eksauth(*ARGS, "--cache-dir", str(shared))
        assert result.exit_code == 0
        assert result.stdout.startswith("k8s-aws-v1.")
        assert result.stderr.startswith("eksauth: warning: not using ")
        assert len(result.stderr.splitlines()) == 1
        assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
        assert list(shared.iterdir()) == []

    @posix_modes
    def test_a_new_folder_inside_a_shared_one_is_ours_and_private(self, eksauth, tmp_path) -> None:
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o1777)
        assert eksauth(*ARGS, "--cache-dir", str(shared / "mine")).stderr == ""
        assert stat.S_IMODE((shared / "mine").stat().st_mode) == 0o700
        assert stat.S_IMODE(shared.stat().st_mode) == 0o1777

    @posix_modes
    def test_a_shared_folder_named_eksauth_is_never_chmodded(self, eksauth, tmp_path) -> None:
        shared = tmp_path / "team" / "eksauth"  # the default's name, named by --cache-dir
        shared.mkdir(parents=True)
        shared.chmod(0o1777)
        result = eksauth(*ARGS, "--cache-dir", str(shared))
        assert result.exit_code == 0
        assert result.stderr.startswith("eksauth: warning: not using ")
        assert stat.S_IMODE(shared.stat().st_mode) == 0o1777

    @posix_modes
    def test_clear_removes_nothing_from_a_folder_it_would_not_use(self, eksauth, tmp_path) -> None:
        loose = tmp_path / "loose"
        loose.mkdir()
        loose.chmod(0o777)
        planted = [loose / "token-theirs.json", loose / "role-theirs.json"]
        for path in planted:
            path.write_text("{}")
        result = eksauth("cache", "clear", "--cache-dir", str(loose))
        assert result.exit_code == 0
        assert "not using" in result.stderr
        assert "removed 0 cache entries" in result.stderr
        assert all(path.exists() for path in planted)

    @NEEDS_ROOT
    def test_clear_never_removes_another_users_entries(self, eksauth, tmp_path, stranger) -> None:
        assert eksauth(*ARGS).exit_code == 0
        folder = cache_dir(tmp_path)
        theirs = folder / "token-theirs.json"
        theirs.write_text("{}")
        os.chown(theirs, stranger.pw_uid, stranger.pw_gid)
        result = eksauth("cache", "clear")
        assert result.stderr == "removed 1 cache entry\n"  # ours, not theirs
        assert theirs.exists()

    @NEEDS_ROOT
    def test_a_foreign_cache_folder_is_not_read(self, eksauth, tmp_path, stranger) -> None:
        first = eksauth(*ARGS)
        os.chown(cache_dir(tmp_path), stranger.pw_uid, stranger.pw_gid)
        again = eksauth(*ARGS, now=FROZEN + 60)
        assert again.stdout != first.stdout  # signed anew, not served from their folder
        assert "another user" in again.stderr

    @NEEDS_ROOT
    def test_root_rewriting_a_users_kubeconfig_keeps_it_theirs(self, tmp_path, stranger) -> None:
        home = tmp_path / "theirs"
        home.mkdir()
        config = home / "config"
        config.write_text(yaml.safe_dump(_aws_cli_kubeconfig()))
        config.chmod(0o640)
        for path in (home, config):
            os.chown(path, stranger.pw_uid, stranger.pw_gid)
        updated = run_installed(
            "update-kubeconfig", "--name", "demo", "--kubeconfig", str(config), *OFFLINE, text=True
        )
        assert updated.returncode == 0, updated.stderr
        migrated = run_installed("migrate-kubeconfig", "--kubeconfig", str(config), text=True)
        assert migrated.returncode == 0, migrated.stderr
        st = config.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (
            stranger.pw_uid,
            stranger.pw_gid,
            0o640,
        )
        # The backup is theirs too (0600): they can read and restore it, and their own next
        # migration may replace it.
        backup = Path(f"{config}.eksauth-backup")
        st = backup.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (
            stranger.pw_uid,
            stranger.pw_gid,
            0o600,
        )


# -- 3. the cache never blocks and never trusts --------------------------------------------------


@pytest.mark.usefixtures("static_keys")
class TestCacheNeverBlocks:
    def entry(self, eksauth, tmp_path: Path) -> Path:
        assert eksauth(*ARGS).exit_code == 0
        (path,) = cache_dir(tmp_path).glob("token-*.json")
        return path

    def test_a_fifo_entry_hangs_nothing(self, eksauth, tmp_path: Path) -> None:
        entry = self.entry(eksauth, tmp_path)
        entry.unlink()
        mkfifo(entry, 0o600)
        for args in (ARGS, ("cache", "list"), ("cache", "clear")):
            result = run_installed(*args, text=True, timeout=20)
            assert result.returncode == 0, (args, result.stderr)

    @pytest.mark.parametrize(
        "expires_at", ["NaN", "Infinity", "true", "1e308", '"2099-01-01"', "[1]"]
    )
    def test_odd_numbers_are_a_miss(self, eksauth, tmp_path: Path, expires_at: str) -> None:
        entry = self.entry(eksauth, tmp_path)
        data = json.loads(entry.read_text())
        text = json.dumps({**data, "expires_at": 0}).replace(
            '"expires_at": 0', f'"expires_at": {expires_at}'
        )
        entry.write_text(text)
        again = eksauth(*ARGS, now=FROZEN + 60)
        assert again.stdout.strip() != data["token"]  # signed anew
        listed = eksauth("cache", "list", "--json", now=FROZEN + 61)
        assert listed.exit_code == 0, listed.stderr

    def test_cache_list_survives_odd_entries(self, eksauth, tmp_path: Path) -> None:
        entry = self.entry(eksauth, tmp_path)
        data = json.loads(entry.read_text())
        entry.write_text(json.dumps({**data, "cluster": {"x": [1]}, "expires_at": 1e300}))
        result = eksauth("cache", "list")
        assert result.exit_code == 0, result.stderr

    def test_an_entry_signed_in_the_future_is_a_miss(self, eksauth, tmp_path: Path) -> None:
        first = eksauth(*ARGS, now=FROZEN + 300)  # the clock was ahead...
        again = eksauth(*ARGS, now=FROZEN)  # ...and stepped back
        assert again.stdout != first.stdout
        assert (
            "20261123T100000Z"
            in base64.urlsafe_b64decode(again.stdout.strip()[11:] + "===").decode()
        )
        del tmp_path

    @not_on_windows(
        "os.stat has no change time there (st_ctime is the creation time): a rewrite that"
        " restores the size and mtime goes unnoticed"
    )
    def test_a_credentials_file_rewritten_in_place_is_noticed(self, eksauth, aws_env, monkeypatch):
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(name)
        credentials = aws_env / ".aws" / "credentials"
        other = "AKIAIOSFODNN7EXAMPLF"  # same length: same size
        credentials.write_text(
            f"[default]\naws_access_key_id={ACCESS_KEY}\naws_secret_access_key={SECRET_KEY}\n"
        )
        first = eksauth(*ARGS)
        before = credentials.stat()
        credentials.write_text(
            f"[default]\naws_access_key_id={other}\naws_secret_access_key={SECRET_KEY}\n"
        )
        os.utime(credentials, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert credentials.stat().st_size == before.st_size
        again = eksauth(*ARGS, now=FROZEN + 60)
        assert other in bearer.decode(again.stdout.strip())
        assert first.stdout != again.stdout

    @posix_modes
    def test_a_loose_lock_file_is_repaired(self, eksauth, tmp_path: Path) -> None:
        entry = self.entry(eksauth, tmp_path)
        lock = entry.with_suffix(".lock")
        lock.chmod(0o666)
        result = eksauth(*ARGS, "--refresh", "-v", now=FROZEN + 60)
        assert result.exit_code == 0
        assert "lock" not in result.stderr
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600

    def test_a_fifo_lock_file_is_replaced(self, eksauth, tmp_path: Path) -> None:
        entry = self.entry(eksauth, tmp_path)
        lock = entry.with_suffix(".lock")
        lock.unlink()
        mkfifo(lock, 0o600)
        result = eksauth(*ARGS, "--refresh", "-v", now=FROZEN + 60)
        assert result.exit_code == 0
        assert stat.S_ISREG(lock.lstat().st_mode)

    def test_clear_removes_temp_files_of_killed_writers(self, eksauth, tmp_path: Path) -> None:
        entry = self.entry(eksauth, tmp_path)
        left = entry.parent / f".{entry.name}.4242.123456789.tmp"
        left.write_text('{"secret_access_key": "x"}')
        assert eksauth("cache", "clear").exit_code == 0
        assert not left.exists()


# -- 4. concurrent kubeconfig writers lose nothing -----------------------------------------------


def test_a_fifo_or_huge_kubeconfig_is_one_line_and_no_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    mkfifo(fifo)
    huge = tmp_path / "huge"
    with huge.open("wb") as stream:
        stream.truncate(17 << 20)
    for path, reason in ((fifo, "is not a regular file"), (huge, "is larger than 16 MiB")):
        result = run_installed("migrate-kubeconfig", "--kubeconfig", str(path), text=True)
        assert reason in one_error_line(result)
        assert not Path(f"{path}.lock").exists()


class TestConcurrentWriters:
    def test_eight_parallel_updates_keep_eight_clusters(self, tmp_path: Path) -> None:
        config = tmp_path / "config"
        env = with_keys(os.environ)
        argv = [tool("eksauth"), "update-kubeconfig", "--kubeconfig", str(config), *OFFLINE]
        runs = [
            subprocess.Popen(
                [*argv, "--name", f"c{i}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for i in range(8)
        ]
        for run in runs:
            _, err = run.communicate(timeout=60)
            assert run.returncode == 0, err
        clusters = yaml.safe_load(config.read_text())["clusters"]
        assert sorted(c["name"] for c in clusters) == [f"c{i}.eu-west-1" for i in range(8)]
        assert not (tmp_path / "config.lock").exists()

    def test_a_held_lock_times_out_with_a_clear_error(self, tmp_path: Path) -> None:
        config = tmp_path / "config"
        with locks.exclusive(str(config)):
            started = time.monotonic()
            second = locks.exclusive(str(config), timeout=0.3)
            with pytest.raises(locks.LockTimeout, match="held by another writer"), second:
                pass
            assert time.monotonic() - started < 5


# -- 5. bounded cost on hostile input ------------------------------------------------------------


def _alias_bomb(levels: int = 9) -> str:
    lines = ["data:", "  lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"  lol{i}: &a{i} [{refs}]")
    lines.append(f"  mapRoles: *a{levels - 1}")
    return "\n".join(lines) + "\n"


class TestBoundedCost:
    def test_an_aws_auth_alias_bomb_is_one_line(self, tmp_path: Path) -> None:
        bomb = tmp_path / "aws-auth.yaml"
        bomb.write_text(_alias_bomb())
        started = time.monotonic()
        result = run_installed(
            "verify", "--cluster-name", "demo", "--aws-auth", str(bomb), SEED_TOKEN, text=True
        )
        assert one_error_line(result) == (
            "eksauth: error: the aws-auth file is not valid YAML: expands to more than 1000000 "
            "nodes (alias bomb?)\n"
        )
        assert time.monotonic() - started < 20

    @pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "a:\n" + "- " * 3000 + "x\n"])
    def test_a_deep_kubeconfig_is_one_line(self, eksauth, tmp_path: Path, text: str) -> None:
        config = tmp_path / "config"
        config.write_text(text)
        result = eksauth("migrate-kubeconfig", "--kubeconfig", str(config))
        assert "nested" in one_error_line(result)

    def test_deep_exec_info_falls_back(self, eksauth, monkeypatch) -> None:
        from eksauth.execcred import FALLBACK, read_exec_info

        info = read_exec_info({"KUBERNETES_EXEC_INFO": '{"a":' * 100_000 + "1" + "}" * 100_000})
        assert info.api_version == FALLBACK
        assert info.warning is not None
        del eksauth, monkeypatch

    def test_a_credential_process_nested_deep_is_one_line(self, aws_env: Path) -> None:
        script = aws_env / "creds.py"
        script.write_text("print('[' * 100000 + ']' * 100000)\n")
        (aws_env / ".aws" / "config").write_text(
            f"[profile deep]\ncredential_process = {sys.executable} {script}\n"
        )
        result = run_tool("eksauth", *ARGS, "--profile", "deep", "--no-cache")
        assert "nested too deeply" in one_error_line(result)

    @pytest.mark.parametrize(
        ("output", "expected"),
        [
            ("not json", "cannot be read"),
            (
                '{"Version": 1, "AccessKeyId": "AKIAX", "SecretAccessKey": "s", '
                '"SessionToken": "t", "Expiration": "2001-01-01T00:00:00Z"}',
                "already expired",
            ),
        ],
    )
    def test_credential_process_garbage_is_one_line(self, aws_env, output, expected) -> None:
        script = aws_env / "creds.py"
        script.write_text(f"print({output!r})\n")
        (aws_env / ".aws" / "config").write_text(
            f"[profile odd]\ncredential_process = {sys.executable} {script}\n"
        )
        result = run_tool("eksauth", *ARGS, "--profile", "odd", "--no-cache")
        assert expected in one_error_line(result)

    @pytest.mark.parametrize("value", ["6" * 5000, "\uff16\uff10", "\u0666\u0660"])
    def test_odd_numbers_in_a_token(self, value: str) -> None:
        """5,000 digits cost nothing and say so; non-ASCII digits are refused, as Go does."""
        odd = SEED_URL.replace("X-Amz-Expires=60", f"X-Amz-Expires={value}")
        with pytest.raises(VerificationError, match="X-Amz-Expires"):
            bearer.check_offline(odd, SEED_SIGNED)

    def test_a_deep_sts_reply_is_an_error_not_a_crash(self) -> None:
        deep = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
        with _Server(deep, trickle=False) as server, pytest.raises(StsError):
            replay.verify(*_token_for(server.url), **_verify_args(server.url), timeout=5)

    def test_verify_has_a_total_deadline(self) -> None:
        with _Server(b"", trickle=True) as server:
            started = time.monotonic()
            with pytest.raises(StsError, match="did not answer within 1 s"):
                replay.verify(*_token_for(server.url), **_verify_args(server.url), timeout=1)
            assert time.monotonic() - started < 3


def _token_for(url: str) -> tuple[str, ...]:
    result = run_installed(
        "token", "-c", "demo", "--region", "us-east-1", "--sts-url", url, "--no-cache",
        "--output", "token", text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return (result.stdout.strip(),)


def _verify_args(url: str) -> dict[str, Any]:
    return {"cluster": "demo", "now": time.time(), "sts_url": url}


class _Handler(StandInHandler):
    def do_GET(self) -> None:
        if self.standin.trickle:
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            for _ in range(20):  # one header byte every 0.25 s: 5 s in all
                self.wfile.write(b"X")
                self.wfile.flush()
                time.sleep(0.25)
            return
        self.respond(200, self.standin.body, "application/json")


class _Server(StandInServer):
    handler_class = _Handler

    def __init__(self, body: bytes, *, trickle: bool) -> None:
        super().__init__()
        self.body, self.trickle = body, trickle

    def __enter__(self) -> _Server:
        return self.start()


# -- 6. every failure is one line ----------------------------------------------------------------


def _token_of(url: str) -> str:
    return bearer.PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class TestOneLine:
    @pytest.mark.parametrize(
        ("args", "code"),
        [
            (("decode", _token_of("https://[::1/?Action=GetCallerIdentity")), 1),
            (("verify", "-c", "x", _token_of("https://[::1/?Action=GetCallerIdentity")), 1),
            (("decode", _token_of("https://sts.amazonaws.com\uff03x/?a=b")), 1),
            (("verify", "-c", "x", _token_of("https://sts.amazonaws.com\uff03x/?a=b")), 1),
            # A bad option value is a usage error; a bad token is not.
            (("verify", "-c", "x", "--sts-url", "http://[::1", SEED_TOKEN), 2),
        ],
    )
    def test_hostile_urls(self, args: tuple[str, ...], code: int) -> None:
        result = run_installed(*args, text=True)
        one_error_line(result, code=code)

    @pytest.mark.parametrize(
        ("args", "code"),
        [
            pytest.param((b"token", b"--cluster-name", b"\xff"), 2, marks=NOT_UTF8),
            pytest.param((b"decode", b"k8s-aws-v1.\xff"), 2, marks=NOT_UTF8),
            ((b"completion",), 2),
            ((b"cache", b"list", b"--json", b"\n"), 2),
        ],
    )
    def test_odd_command_lines(self, args: tuple[bytes, ...], code: int) -> None:
        result = run_installed(*args, text=False)
        one_error_line(result, code=code)

    @pytest.mark.parametrize("hit", [True, False], ids=["fast-path", "click-path"])
    @pytest.mark.parametrize("where", ["broken-pipe", "dev-full"])
    def test_stdout_that_cannot_take_the_answer(self, tmp_path, hit: bool, where: str) -> None:
        args = (*ARGS, "--cache-dir", str(tmp_path / "c"))
        if hit:
            assert run_installed(*args).returncode == 0
        if where == "dev-full":
            if not os.path.exists("/dev/full"):
                pytest.skip("no /dev/full on this system")
            with open("/dev/full", "wb") as full:
                result = _run_with_stdout(args, full.fileno())
        else:
            read, write = os.pipe()
            os.close(read)
            try:
                result = _run_with_stdout(args, write)
            finally:
                os.close(write)
        assert result.returncode == 1
        assert result.stderr.startswith("eksauth: error: cannot write to stdout")
        assert len(result.stderr.splitlines()) == 1


def _run_with_stdout(args: tuple[str, ...], fd: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("eksauth"), *args],
        check=False,
        env=with_keys(os.environ),
        stdout=fd,
        stderr=subprocess.PIPE,
        text=True,
        timeout=30,
    )


# -- 7. names that become paths ------------------------------------------------------------------


class TestNamesThatBecomePaths:
    @pytest.mark.parametrize(
        "name", ["../../escaped/evil", "a/b", "-dash-first", "", "x" * 101, "é", ".hidden"]
    )
    def test_update_kubeconfig_refuses(self, eksauth, tmp_path: Path, name: str) -> None:
        config = tmp_path / "kube" / "config"
        before = set(tmp_path.rglob("*"))
        result = eksauth(
            "update-kubeconfig", "--name", name, "--kubelet", "--kubeconfig", str(config), *OFFLINE
        )
        one_error_line(result, code=2)
        assert set(tmp_path.rglob("*")) == before

    @pytest.mark.usefixtures("static_keys")
    def test_token_cluster_ids_stay_free_form(self, eksauth) -> None:
        result = eksauth("token", "--cluster-id", "arn:aws:x/y..z", "--region", "eu-west-1")
        assert result.exit_code == 0, result.stderr


def test_unparsable_token_url_is_a_token_error() -> None:
    with pytest.raises(TokenFormatError):
        bearer.parse_presigned("https://[::1/")
    with pytest.raises(EksAuthError):
        bearer.check_token(_token_of("https://[::1/"), FROZEN)
