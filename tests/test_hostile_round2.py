"""A hostile world, round 2 (issue 19): the sign-in listener, the SSO cache, aws-cli's folder.

Each test would have caught the defect it names. Two-user cases run as root with a throwaway
user (the `stranger` fixture of test_hostile.py).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

import eksauth as library
from eksauth.aws import rolesessions, ssooidc
from eksauth.errors import SsoError
from eksauth.sso import flows
from eksauth.sso import session as sso
from tests import test_hostile, test_role_sessions
from tests.conftest import (
    ACCESS_KEY,
    FROZEN,
    SECRET_KEY,
    Result,
    linux_only,
    not_on_windows,
    posix_modes,
    posix_shell,
    run_tool,
    tool,
)
from tests.standins.sso import BROWSER_SCRIPT, IdentityCenter, callback_port, port_is_closed
from tests.test_hostile import NEEDS_ROOT
from tests.test_role_sessions import ACCOUNT, ROLE_ARN, TOKEN, aws_cli_cache, run_frozen

# Fixtures shared with the first round: a throwaway user, and static keys with STS on loopback.
stranger = test_hostile.stranger
sts_env = test_role_sessions.sts_env
READ_ONLY = f"arn:aws:iam::{ACCOUNT}:role/ReadOnly"
INTERACTIVE = (
    '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", '
    '"spec": {"interactive": true}}'
)
EXEC_INFO_WITH_FF = (
    b'{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":'
    b'{"cluster":{"server":"https://x","config":{"clusterName":"a\xffb","region":"eu-west-1"}}}}'
)


def _keys_env() -> dict[bytes, bytes]:
    env = dict(os.environb)
    env[b"AWS_ACCESS_KEY_ID"] = ACCESS_KEY.encode()
    env[b"AWS_SECRET_ACCESS_KEY"] = SECRET_KEY.encode()
    return env


class TestNamesThatAreNotText:
    """Item 7: a cluster name that is not UTF-8 text is one line, not botocore's traceback."""

    @not_on_windows("the environment is Unicode: a variable of undecodable bytes cannot exist")
    def test_a_non_utf8_byte_in_exec_info_is_one_line(self) -> None:
        env = {**_keys_env(), b"KUBERNETES_EXEC_INFO": EXEC_INFO_WITH_FF}
        done = run_tool("eksauth", b"token", env=env, text=False)
        assert (done.returncode, done.stdout) == (1, b""), done.stderr
        assert done.stderr.decode().splitlines() == [
            "eksauth: error: clusterName 'a\\udcffb' is not valid UTF-8 text in the kubeconfig "
            "extension client.authentication.k8s.io/exec of the cluster at https://x (fix the "
            "cluster's extensions entry in the kubeconfig)"
        ]

    def test_the_library_raises_its_own_error(self, static_keys: None) -> None:
        with pytest.raises(library.UsageError, match="is not valid UTF-8 text"):
            library.get_token("a\udcffb", region="eu-west-1", cache=False)


class TestTheProfileNamed:
    """Item 9: the profile in the error is the one resolved (AWS_PROFILE), not None."""

    def test_cli(self, eksauth, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_PROFILE", "nope")
        result = eksauth("token", "-c", "demo", "--region", "eu-west-1")
        assert result.exit_code == 1
        assert result.stderr == (
            "eksauth: error: the AWS profile 'nope' was not found "
            "(list profiles with `aws configure list-profiles`)\n"
        )

    def test_library(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_PROFILE", "nope")
        with pytest.raises(library.EksAuthError, match="the AWS profile 'nope' was not found"):
            library.get_token("demo", region="eu-west-1", cache=False)

    def test_default_profile_variable_too(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_DEFAULT_PROFILE", "gone")
        with pytest.raises(library.EksAuthError, match="the AWS profile 'gone' was not found"):
            library.get_token("demo", region="eu-west-1", cache=False)


def _login(**options: Any) -> str:
    """`sso.login` for the stand-in's profile `dev`, through the real botocore sso-oidc client."""
    import botocore.session

    session = botocore.session.Session(profile="dev")
    config = sso.resolve_config(session.full_config, profile="dev")
    options.setdefault("say", lambda _: None)
    options.setdefault("timeout", 10.0)
    return sso.login(
        ssooidc.client(session, config.region),
        config,
        now=time.time(),
        cache_dir=sso.default_cache_dir(os.environ),
        **options,
    )


class TestDeviceCodeAnswers:
    """Item 8: device-code answers that used to break the flow."""

    def test_a_negative_interval_waits_one_second(
        self, browser_log: Path, center: IdentityCenter
    ) -> None:
        center.device_interval, center.pending_polls = -5, 2
        slept: list[float] = []
        _login(use_device_code=True, sleep=slept.append)
        assert slept == [1.0, 1.0]

    def test_expires_in_zero_is_already_expired(
        self, browser_log: Path, center: IdentityCenter
    ) -> None:
        center.device_expires_in = 0
        with pytest.raises(SsoError, match="expired before it was confirmed"):
            _login(use_device_code=True, sleep=lambda _: None)
        assert center.calls["CreateToken"] == 0

    @pytest.mark.parametrize(
        ("operation", "answer", "field"),
        [
            ("StartDeviceAuthorization", {"userCode": "A-B", "deviceCode": "d"},
             "verificationUriComplete"),
            ("CreateToken", {"expiresIn": 3600, "tokenType": "Bearer"}, "accessToken"),
            ("RegisterClient", {"clientId": "c", "clientSecret": "s"}, "clientSecretExpiresAt"),
        ],
    )  # fmt: skip
    def test_a_missing_field_is_one_line(
        self,
        eksauth: Callable[..., Result],
        browser_log: Path,
        center: IdentityCenter,
        operation: str,
        answer: dict[str, Any],
        field: str,
    ) -> None:
        center.answers[operation] = answer
        result = eksauth("sso", "login", "--profile", "dev", "--use-device-code", now=time.time())
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.splitlines()[-1] == (
            f"eksauth: error: IAM Identity Center answered {operation} without a usable {field} "
            "(try again; check AWS_ENDPOINT_URL_SSO_OIDC if it is set)"
        )


class TestClockStepsBack:
    """Item 5: a failed sign-in recorded before the clock stepped back blocks no new one."""

    def _failure_recorded_at(self, failed_at: float) -> None:
        import botocore.session

        from eksauth.cache import Cache, resolve_cache_dir
        from eksauth.sso.signin import SSO_FAILED_SUFFIX, SSO_LOCK_PREFIX

        config = sso.resolve_config(
            botocore.session.Session(profile="dev").full_config, profile="dev"
        )
        name = SSO_LOCK_PREFIX + sso.lock_name(config, sso.default_cache_dir(os.environ))
        cache = Cache(resolve_cache_dir(None, os.environ), lambda _: None)
        assert cache.store(name + SSO_FAILED_SUFFIX, {"failed_at": failed_at})

    def test_a_failure_from_before_the_step_is_ignored(
        self, eksauth: Callable[..., Result], browser_log: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        now = time.time()
        self._failure_recorded_at(now + 3600)  # an hour "ahead": the clock went back an hour
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", INTERACTIVE)
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=now)
        assert result.exit_code == 0, result.stderr
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]

    def test_a_failure_while_we_started_still_stops_us(
        self, eksauth: Callable[..., Result], browser_log: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        now = time.time()
        self._failure_recorded_at(now + 1)
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", INTERACTIVE)
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=now)
        assert result.exit_code == 1
        assert "another eksauth run started has just failed" in result.stderr
        assert not browser_log.exists()


# Bad clients give up on their own after this long, so that a listener they do freeze (the
# defect) fails its test in bounded time instead of hanging it.
BAD_CLIENT_SECONDS = 25.0


def _dripping_client(port: int, stop: threading.Event, every: float = 1.0) -> None:
    """Connect and send a request one byte at a time, never finishing it (until `stop`)."""
    ends = time.monotonic() + BAD_CLIENT_SECONDS
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as s:
        for byte in itertools.cycle(b"GET /oauth/callback?state=x HTTP/1.1\r\nX: "):
            if stop.wait(every) or time.monotonic() > ends:
                return
            s.sendall(bytes([byte]))


def _squatting_client(port: int, stop: threading.Event) -> None:
    """Connect (as a watcher of /proc/net/tcp can, the moment the port appears) and say nothing."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
        stop.wait(BAD_CLIENT_SECONDS)


def _start(target: Callable[..., None], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class TestTheSignInListener:
    """Item 1: local clients cannot freeze the listener or stretch --timeout."""

    def test_timeout_bounds_the_command_whatever_local_clients_do(self, browser_log: Path) -> None:
        # The one end-to-end check of the real per-connection bound: `sso login --timeout 5`
        # ends within 5 + 2 seconds while one client drips bytes and others squat the port.
        stop = threading.Event()
        started = time.monotonic()
        child = subprocess.Popen(
            [tool("eksauth"), "sso", "login", "--profile", "dev", "--no-browser", "--timeout", "5"],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        try:
            assert child.stderr is not None
            first = child.stderr.readline()
            port = callback_port([first])
            _start(_dripping_client, port, stop)
            for _ in range(3):
                _start(_squatting_client, port, stop)
            rest = child.communicate(timeout=BAD_CLIENT_SECONDS + 10)[1]
        finally:
            stop.set()
            child.kill()
            child.wait()
        elapsed = time.monotonic() - started
        assert elapsed < 5 + 2, elapsed
        assert rest.splitlines()[-1] == (
            "eksauth: error: no sign-in completed within 5 seconds "
            "(run the command again, or use --use-device-code)"
        )
        assert port_is_closed(port)

    def test_a_good_callback_after_bad_clients_still_signs_in(
        self,
        browser_log: Path,
        center: IdentityCenter,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(flows, "CONNECTION_SECONDS", 1.0)  # a short bound, injected
        stop = threading.Event()
        said: list[str] = []

        def squat_first(line: str) -> None:
            # Runs before the browser opens: the bad clients are there first.
            said.append(line)
            if "/authorize?" in line:
                port = callback_port([line])
                _start(_dripping_client, port, stop, 0.2)
                squatters = [_start(_squatting_client, port, stop) for _ in range(6)]
                time.sleep(0.3)
                assert all(s.is_alive() for s in squatters)

        started = time.monotonic()
        try:
            path = _login(say=squat_first, timeout=20.0)
        finally:
            stop.set()
        assert time.monotonic() - started < 10
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]
        assert sso.read_json(path) is not None
        assert center.calls["CreateToken"] == 1

    @posix_shell
    def test_automatic_sign_in_is_not_held_by_a_dripping_client(
        self, browser_log: Path, tmp_path: Path
    ) -> None:
        # Under kubectl the sign-in holds the SSO lock: a frozen listener would hold every
        # waiting run. The "browser" starts a dripping client on the port before calling back.
        dripper = tmp_path / "dripper.py"
        dripper.write_text(
            "import socket, sys, time\n"
            "from urllib.parse import parse_qsl, urlsplit\n"
            "redirect = dict(parse_qsl(urlsplit(sys.argv[1]).query))['redirect_uri']\n"
            "s = socket.create_connection(('127.0.0.1', urlsplit(redirect).port))\n"
            f"ends = time.monotonic() + {BAD_CLIENT_SECONDS}\n"
            "try:\n"
            "    while time.monotonic() < ends:\n"
            "        s.sendall(b'G')\n"
            "        time.sleep(1)\n"
            "except OSError:\n"
            "    pass\n"
        )
        wrapper = tmp_path / "dripping-browser"
        wrapper.write_text(
            "#!/bin/sh\n"
            f'"{sys.executable}" "{dripper}" "$1" >/dev/null 2>&1 &\n'
            "sleep 0.5\n"
            f'exec "{sys.executable}" "{BROWSER_SCRIPT}" "$@"\n'
        )
        wrapper.chmod(0o755)
        env = {**os.environ, "KUBERNETES_EXEC_INFO": INTERACTIVE, "BROWSER": str(wrapper)}
        started = time.monotonic()
        done = run_tool("eksauth", "token", "-c", "demo", "--profile", "dev", env=env)
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - started < 15
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]


class TestTheSignInUrlStaysPrivate:
    """Item 2: the URL (with its state) is not on the launcher child's command line."""

    @linux_only("the browser reads its launcher's command line from /proc")
    def test_only_the_browser_command_gets_the_url(
        self, browser_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen = tmp_path / "seen"
        wrapper = tmp_path / "recording-browser"
        # The browser records its own argv and its parent's (eksauth's launcher child)
        # command line, as any local user can read it from /proc.
        wrapper.write_text(
            "#!/bin/sh\n"
            f'tr "\\0" " " < /proc/$PPID/cmdline > "{seen}.launcher"\n'
            f'echo "$@" > "{seen}.browser"\n'
            f'exec "{sys.executable}" "{BROWSER_SCRIPT}" "$@"\n'
        )
        wrapper.chmod(0o755)
        monkeypatch.setenv("BROWSER", str(wrapper))
        said: list[str] = []
        _login(say=said.append)
        url = next(line.split("at: ", 1)[1] for line in said if "/authorize?" in line)
        state = dict(parse_qsl(urlsplit(url).query))["state"]
        launcher = Path(f"{seen}.launcher").read_text()
        assert "webbrowser" in launcher  # it is eksauth's launcher we read
        assert state not in launcher
        assert Path(f"{seen}.browser").read_text().strip() == url
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]


class TestTheSsoCache:
    """Item 3: the SSO cache folder and token files follow the cache's folder rules."""

    def _folder(self) -> Path:
        return Path(sso.default_cache_dir(os.environ))

    @NEEDS_ROOT
    def test_sign_in_writes_nothing_into_another_users_folder(
        self,
        eksauth: Callable[..., Result],
        browser_log: Path,
        center: IdentityCenter,
        stranger,
    ) -> None:
        folder = self._folder()
        folder.mkdir(parents=True)
        folder.chmod(0o777)
        os.chown(folder, stranger.pw_uid, stranger.pw_gid)
        result = eksauth("sso", "login", "--profile", "dev", now=time.time())
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.splitlines() == [
            f"eksauth: error: refusing the SSO cache {folder}: it belongs to another user (it "
            "must be your own folder and files, writable by you alone (remove it, or `chmod "
            "go-w` it, then sign in again))"
        ]
        assert list(folder.iterdir()) == []
        assert center.calls["RegisterClient"] == 0  # nothing started, nothing to leak
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777  # never chmod'ed

    @posix_modes
    def test_a_folder_others_may_write_to_is_refused_too(
        self, eksauth: Callable[..., Result], browser_log: Path
    ) -> None:
        folder = self._folder()
        folder.mkdir(parents=True)
        folder.chmod(0o777)
        result = eksauth("sso", "login", "--profile", "dev", now=time.time())
        assert result.exit_code == 1
        assert "others can write to it (mode 0777)" in result.stderr
        assert list(folder.iterdir()) == []

    @NEEDS_ROOT
    def test_a_planted_token_file_is_never_signed_with(
        self,
        eksauth: Callable[..., Result],
        browser_log: Path,
        center: IdentityCenter,
        stranger,
    ) -> None:
        path = Path(_login())
        os.chown(path, stranger.pw_uid, stranger.pw_gid)  # their file, where ours was
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=time.time())
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.splitlines() == [
            f"eksauth: error: refusing the SSO cache {path.parent}: the token file {path.name}: "
            "it belongs to another user (it must be your own folder and files, writable by you "
            "alone (remove it, or `chmod go-w` it, then sign in again))"
        ]
        assert center.calls["GetRoleCredentials"] == 0

    @posix_modes
    def test_a_token_file_others_may_write_to_is_refused(
        self, eksauth: Callable[..., Result], browser_log: Path, center: IdentityCenter
    ) -> None:
        path = Path(_login())
        path.chmod(0o666)
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=time.time())
        assert result.exit_code == 1
        assert f"the token file {path.name}: others can write to it (mode 0666)" in result.stderr
        assert center.calls["GetRoleCredentials"] == 0

    def test_a_private_folder_of_aws_clis_umask_is_used(
        self, eksauth: Callable[..., Result], browser_log: Path
    ) -> None:
        folder = self._folder()
        folder.mkdir(parents=True)
        folder.chmod(0o755)  # as botocore makes it under umask 022
        assert _login()
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=time.time())
        assert result.exit_code == 0, result.stderr


def _role_profiles(home: Path) -> None:
    config = home / ".aws" / "config"
    config.write_text(
        f"[profile admin]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n\n"
        f"[profile readonly]\nrole_arn = {READ_ONLY}\nsource_profile = base\n"
    )
    later = time.time() + 2
    os.utime(config, (later, later))


def _session_key(profile: str) -> str:
    (key,) = [k for k, (p, _) in rolesessions.role_session_profiles().items() if p == profile]
    return key


class TestAwsCliRoleSessions:
    """Item 4: aws-cli's role-session entries are checked against the role, and its folder
    follows the cache's folder rules."""

    def test_another_roles_session_copied_over_is_a_miss(
        self,
        eksauth,
        world,
        sts_env: Path,
        sts_checker,
    ) -> None:
        _role_profiles(sts_env)
        first = run_frozen(eksauth, world, FROZEN, *TOKEN, "--profile", "readonly")
        assert first.exit_code == 0, first.stderr
        folder = aws_cli_cache(sts_env)
        readonly = (folder / f"{_session_key('readonly')}.json").read_bytes()
        admin = folder / f"{_session_key('admin')}.json"
        admin.write_bytes(readonly)  # ReadOnly's session under Admin's key
        admin.chmod(0o600)
        listed = json.loads(eksauth("cache", "list", "--json").stdout)
        sessions = [row for row in listed if row["kind"] == "role-session"]
        assert {(row["profile"], row["role_arn"]) for row in sessions} == {
            ("readonly", READ_ONLY),
            (None, READ_ONLY),  # the copy is not shown as Admin's
        }
        result = run_frozen(
            eksauth, world, FROZEN + 60, *TOKEN, "--profile", "admin", "--output", "token"
        )
        assert result.exit_code == 0, result.stderr
        assert world.calls["AssumeRole"] == 2  # Admin assumed anew
        assert "assumed-role/EksAdmin/" in sts_checker(result.stdout, "demo")

    def test_the_right_session_is_still_reused(self, eksauth, world, sts_env: Path) -> None:
        _role_profiles(sts_env)
        for minutes in (0, 14):
            result = run_frozen(eksauth, world, FROZEN + 60 * minutes, *TOKEN, "--profile", "admin")
            assert result.exit_code == 0, result.stderr
        assert world.calls["AssumeRole"] == 1

    @NEEDS_ROOT
    def test_another_users_folder_is_not_read(self, eksauth, world, sts_env, stranger) -> None:
        _role_profiles(sts_env)
        assert run_frozen(eksauth, world, FROZEN, *TOKEN, "--profile", "admin").exit_code == 0
        folder = aws_cli_cache(sts_env)
        os.chown(folder, stranger.pw_uid, stranger.pw_gid)
        result = run_frozen(eksauth, world, FROZEN + 60, *TOKEN, "--profile", "admin", "--no-cache")
        assert result.exit_code == 0, result.stderr
        assert world.calls["AssumeRole"] == 2
        assert result.stderr.splitlines() == [
            f"eksauth: warning: not using {folder} for role sessions: it belongs to another user"
        ]

    @posix_modes
    def test_a_folder_others_may_write_to_is_not_used(self, eksauth, world, sts_env) -> None:
        _role_profiles(sts_env)
        assert run_frozen(eksauth, world, FROZEN, *TOKEN, "--profile", "admin").exit_code == 0
        folder = aws_cli_cache(sts_env)
        folder.chmod(0o777)
        before = sorted(p.stat().st_mtime_ns for p in folder.iterdir())
        result = run_frozen(eksauth, world, FROZEN + 60, *TOKEN, "--profile", "admin", "--no-cache")
        assert result.exit_code == 0, result.stderr
        assert world.calls["AssumeRole"] == 2
        assert "others can write to it (mode 0777)" in result.stderr
        assert sorted(p.stat().st_mtime_ns for p in folder.iterdir()) == before  # not written
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777  # aws-cli's: never chmod'ed

    def test_clear_removes_our_temp_files_there(self, eksauth, world, sts_env) -> None:
        _role_profiles(sts_env)
        assert run_frozen(eksauth, world, FROZEN, *TOKEN, "--profile", "admin").exit_code == 0
        folder = aws_cli_cache(sts_env)
        killed = folder / f".{_session_key('admin')}.json.4242.123456789.tmp"
        killed.write_text('{"Credentials": {"SecretAccessKey": "x"}}')
        other = folder / "not-a-session.txt"
        other.write_text("aws-cli's")
        result = eksauth("cache", "clear", "--include-aws-cli")
        assert result.exit_code == 0, result.stderr
        assert not killed.exists()
        assert other.exists()
        assert [p.name for p in folder.iterdir()] == ["not-a-session.txt"]


# Where the default cache folder sits in a home folder (XDG_CACHE_HOME unset).
CACHES = "Library/Caches" if sys.platform == "darwin" else ".cache"


@not_on_windows("no umask or POSIX modes (eksauth runs here under `sh -c 'umask 000'`)")
class TestFoldersWeCreate:
    """Item 6: every folder eksauth creates is 0700, and a missing HOME is never created."""

    def _run(self, home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
        env.update(HOME=str(home), AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        env.update(extra)
        return subprocess.run(
            ["sh", "-c", 'umask 000; exec "$@"', "sh", tool("eksauth"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def test_a_missing_home_is_not_created(self, tmp_path: Path) -> None:
        home = tmp_path / "x" / "y" / "h"
        done = self._run(home, *TOKEN, "--output", "token")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("k8s-aws-v1.")
        assert not (tmp_path / "x").exists()
        assert done.stderr == (
            f"eksauth: warning: cannot use the token cache {home}/{CACHES}/eksauth: "
            f"the home folder {home} does not exist\n"
        )

    def test_folders_made_under_umask_000_are_0700(self, tmp_path: Path) -> None:
        home = tmp_path / "home"
        deep = tmp_path / "a" / "b"
        done = self._run(home, *TOKEN, "--output", "token", XDG_CACHE_HOME=str(deep))
        assert done.returncode == 0, done.stderr
        for folder in (tmp_path / "a", deep, deep / "eksauth"):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder

    def test_kubeconfig_folders_too(self, tmp_path: Path) -> None:
        home = tmp_path / "home"  # made by the aws_env fixture
        config = tmp_path / "k" / "l" / "config"
        ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
        offline = ("--region", "eu-west-1", "--endpoint", "https://127.0.0.1:1", "--ca-data", ca)
        done = self._run(
            home, "update-kubeconfig", "--name", "demo", "--kubeconfig", str(config), *offline
        )
        assert done.returncode == 0, done.stderr
        for folder in (tmp_path / "k", config.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        missing = tmp_path / "gone" / "h"
        refused = self._run(missing, "update-kubeconfig", "--name", "demo", *offline)
        assert refused.returncode == 1
        assert refused.stderr.splitlines()[-1] == (
            f"eksauth: error: cannot lock {missing}/.kube/config: the home folder {missing} "
            "does not exist"
        )
        assert not (tmp_path / "gone").exists()

    def test_aws_clis_folder_too(self, eksauth, world, sts_env: Path) -> None:
        _role_profiles(sts_env)
        old = os.umask(0)
        try:
            result = run_frozen(eksauth, world, FROZEN, *TOKEN, "--profile", "admin")
        finally:
            os.umask(old)
        assert result.exit_code == 0, result.stderr
        for folder in (sts_env / ".aws" / "cli", aws_cli_cache(sts_env)):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder

    def test_the_sso_folder_too_and_never_a_home(self, tmp_path: Path) -> None:
        from eksauth.files.private import make_private_dirs

        old = os.umask(0)
        try:
            home = tmp_path / "home"
            folder = home / ".aws" / "sso" / "cache"
            assert make_private_dirs(str(folder), str(home))
            with pytest.raises(FileNotFoundError, match=r"the home folder .* does not exist"):
                make_private_dirs(str(tmp_path / "gone" / ".aws"), str(tmp_path / "gone"))
        finally:
            os.umask(old)
        for made in (home / ".aws" / "sso", folder):
            assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
        assert not (tmp_path / "gone").exists()
