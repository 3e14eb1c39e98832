"""IAM Identity Center sign-in through the real botocore sso-oidc client and loopback stand-ins.

After a sign-in, botocore itself (in an `eksauth token` subprocess, so it reads this test's HOME)
turns the token file into role credentials at the portal stand-in, and the STS stand-in accepts
the token signed with them.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import stat
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

from eksauth.aws import ssooidc
from eksauth.errors import SsoError
from eksauth.sso import browser
from eksauth.sso import session as sso
from tests.conftest import WINDOWS, mkfifo, posix_nofollow, symlink, token_in_subprocess
from tests.standins.sso import (
    SSO_CONFIG,
    START_URL,
    IdentityCenter,
    callback_port,
    port_is_closed,
)

BIN = Path(sys.executable).parent
CORP_FILE = hashlib.sha1(b"corp", usedforsecurity=False).hexdigest() + ".json"


@pytest.fixture
def cache_dir(aws_env: Path) -> str:
    return sso.default_cache_dir(os.environ)


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def run_login(browser_log: Path, cache_dir: str, said: list[str]) -> Callable[..., str]:
    def run(profile: str = "dev", **options: Any) -> str:
        import botocore.session

        session = botocore.session.Session(profile=profile)
        config = sso.resolve_config(session.full_config, profile=profile)
        options.setdefault("say", said.append)
        options.setdefault("timeout", 10.0)
        return sso.login(
            ssooidc.client(session, config.region),
            config,
            now=time.time(),
            cache_dir=cache_dir,
            **options,
        )

    return run


class FakeTime:
    """A clock that moves only when slept on, and by `call_seconds` per CreateToken received."""

    def __init__(self, center: IdentityCenter, call_seconds: float = 0.0) -> None:
        self.center, self.call_seconds, self.slept = center, call_seconds, 0.0

    def sleep(self, seconds: float) -> None:
        self.slept += seconds

    def clock(self) -> float:
        return self.slept + self.call_seconds * self.center.calls["CreateToken"]


def _assert_no_secrets(token: dict[str, Any], *texts: str) -> None:
    for text in texts:
        for field in ("accessToken", "refreshToken", "clientSecret"):
            assert token[field] not in text


class TestBrowserFlow:
    def test_signs_in_once_and_botocore_uses_the_token(
        self,
        run_login: Callable[..., str],
        center: IdentityCenter,
        browser_log: Path,
        cache_dir: str,
        said: list[str],
        sts_checker: Callable[..., str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        path = run_login()

        assert path == os.path.join(cache_dir, CORP_FILE)
        if not WINDOWS:  # no POSIX modes there
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
        token = json.loads(Path(path).read_text())
        assert set(token) == {
            "startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
            "registrationExpiresAt", "refreshToken",
        }  # fmt: skip
        assert token["startUrl"] == START_URL
        assert token["expiresAt"].endswith("Z")
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]
        assert center.calls["RegisterClient"] == 1
        assert center.calls["CreateToken"] == 1
        client = next(iter(center.clients.values()))
        assert client.grant_types == ("authorization_code", "refresh_token")
        assert client.scopes == ("sso:account:access", "extra:scope")
        _assert_no_secrets(token, "\n".join(said), *capsys.readouterr())

        bearer = token_in_subprocess("dev")
        arn = sts_checker(bearer, "demo")
        assert arn.startswith("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_")
        assert arn.endswith("/alice@example.com")
        assert center.calls["GetRoleCredentials"] == 1

    def test_botocore_refreshes_our_token_with_our_registration(
        self, run_login: Callable[..., str], center: IdentityCenter
    ) -> None:
        center.token_expires_in = 600  # inside botocore's 15-minute refresh window
        path = run_login()
        before = json.loads(Path(path).read_text())
        token_in_subprocess("dev")
        after = json.loads(Path(path).read_text())
        assert center.calls["CreateToken"] == 2  # botocore's refresh_token grant
        assert after["accessToken"] != before["accessToken"]
        assert after["clientId"] == before["clientId"]

    def test_registration_is_reused(
        self, run_login: Callable[..., str], center: IdentityCenter
    ) -> None:
        run_login()
        run_login()
        assert center.calls["RegisterClient"] == 1
        assert center.calls["CreateToken"] == 2

    def test_wrong_state_is_ignored_and_times_out_closing_the_listener(
        self,
        run_login: Callable[..., str],
        browser_log: Path,
        said: list[str],
        monkeypatch: pytest.MonkeyPatch,
        center: IdentityCenter,
    ) -> None:
        monkeypatch.setenv("STANDIN_BROWSER_MODE", "wrong-state")
        with pytest.raises(SsoError, match="no sign-in completed within 2 seconds"):
            run_login(timeout=2.0)
        assert browser_log.read_text().splitlines() == ["open wrong-state", "callback 400"]
        assert center.calls["CreateToken"] == 0
        assert port_is_closed(callback_port(said))

    def test_non_ascii_state_is_refused_without_a_traceback(
        self, run_login: Callable[..., str], said: list[str], capfd: pytest.CaptureFixture[str]
    ) -> None:
        statuses: list[int] = []

        def forge(line: str) -> None:
            said.append(line)
            redirect = dict(parse_qsl(urlsplit(line.split(": ", 1)[1]).query))["redirect_uri"]
            try:
                forged = redirect + "?state=%C3%A9&code=x"  # loopback http only
                with urllib.request.urlopen(forged, timeout=5) as r:  # noqa: S310
                    statuses.append(r.status)
            except urllib.error.HTTPError as err:
                statuses.append(err.code)

        with pytest.raises(SsoError, match="no sign-in completed within 1 seconds"):
            run_login(no_browser=True, say=forge, timeout=1.0)
        assert statuses == [400]
        assert "Traceback" not in capfd.readouterr().err

    def test_ctrl_c_closes_the_listener(
        self, run_login: Callable[..., str], said: list[str], browser_log: Path
    ) -> None:
        def interrupt(line: str) -> None:
            said.append(line)
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_login(say=interrupt)
        assert port_is_closed(callback_port(said))
        assert not browser_log.exists()

    def test_refused_sign_in(self, run_login: Callable[..., str], center: IdentityCenter) -> None:
        center.authorize_decision = "deny"
        with pytest.raises(SsoError, match=r"refused \(access_denied\)"):
            run_login()

    def test_no_browser_prints_the_url_only(
        self, run_login: Callable[..., str], browser_log: Path, cache_dir: str
    ) -> None:
        from tests.standins import browser

        def user_opens_it(line: str) -> None:
            url = line.split(": ", 1)[1]
            threading.Thread(target=browser.main, args=(["browser", url],), daemon=True).start()

        path = run_login(no_browser=True, say=user_opens_it)
        assert os.path.exists(path)
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]

    def test_falls_back_to_the_device_code_without_a_browser(
        self,
        run_login: Callable[..., str],
        monkeypatch: pytest.MonkeyPatch,
        center: IdentityCenter,
        said: list[str],
    ) -> None:
        monkeypatch.setenv("STANDIN_BROWSER_MODE", "fail")
        run_login(sleep=lambda _: None)
        assert center.calls["StartDeviceAuthorization"] == 1
        assert "No browser could be opened" in said[1]
        assert center.calls["RegisterClient"] == 2  # device flow has its own registration


class TestBrowserLaunch:
    @pytest.mark.parametrize(
        ("env", "platform", "shown"),
        [
            ({}, "linux", False),  # a text browser would have no terminal: device code
            ({"DISPLAY": ":0"}, "linux", True),
            ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
            ({"BROWSER": "my-browser"}, "linux", True),
            ({}, "darwin", True),
            ({}, "win32", True),
        ],
    )
    def test_graphical(self, env: dict[str, str], platform: str, shown: bool) -> None:
        assert browser.graphical(env, platform) is shown

    def test_without_a_display_or_browser_it_uses_the_device_code(
        self,
        run_login: Callable[..., str],
        monkeypatch: pytest.MonkeyPatch,
        center: IdentityCenter,
        browser_log: Path,
    ) -> None:
        for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(sys, "platform", "linux")
        run_login(sleep=lambda _: None)
        assert center.calls["StartDeviceAuthorization"] == 1
        assert not browser_log.exists()


class TestDeviceFlow:
    def test_device_code_then_botocore(
        self,
        run_login: Callable[..., str],
        center: IdentityCenter,
        said: list[str],
        sts_checker: Callable[..., str],
        browser_log: Path,
    ) -> None:
        path = run_login(use_device_code=True)  # real sleep: the stand-in's interval is 1s
        assert center.calls["CreateToken:AuthorizationPendingException"] == 1
        assert center.calls["CreateToken"] == 2
        assert said[0].startswith("Open http://127.0.0.1:")
        assert "user_code=" in said[0]
        assert not browser_log.exists()
        token = json.loads(Path(path).read_text())
        _assert_no_secrets(token, "\n".join(said))
        assert "alice@example.com" in sts_checker(token_in_subprocess("dev"), "demo")

    def test_legacy_profile_uses_the_device_code_and_the_start_url_key(
        self,
        run_login: Callable[..., str],
        cache_dir: str,
        sts_checker: Callable[..., str],
        center: IdentityCenter,
    ) -> None:
        path = run_login("legacy", sleep=lambda _: None)
        expected = hashlib.sha1(START_URL.encode(), usedforsecurity=False).hexdigest() + ".json"
        assert path == os.path.join(cache_dir, expected)
        assert center.calls["Authorize"] == 0
        assert "alice@example.com" in sts_checker(token_in_subprocess("legacy"), "demo")

    def test_slow_down_adds_five_seconds(
        self, run_login: Callable[..., str], center: IdentityCenter
    ) -> None:
        center.slow_down_polls, center.pending_polls = 1, 2
        slept: list[float] = []
        run_login(use_device_code=True, sleep=slept.append, timeout=60.0)
        assert slept == [6.0, 6.0]

    def test_gives_up_at_the_timeout(
        self, run_login: Callable[..., str], center: IdentityCenter
    ) -> None:
        center.device_decision = "pending"  # expiresIn 600, but a waiting kubectl is bounded
        fake = FakeTime(center)
        with pytest.raises(SsoError, match="expired before it was confirmed"):
            run_login(use_device_code=True, sleep=fake.sleep, clock=fake.clock, timeout=3.0)
        assert center.calls["CreateToken"] == 3

    def test_the_time_createtoken_takes_counts(
        self, run_login: Callable[..., str], center: IdentityCenter
    ) -> None:
        center.device_decision = "pending"
        fake = FakeTime(center, call_seconds=2.0)  # interval 1 s, each poll takes 2 s
        with pytest.raises(SsoError, match="expired before it was confirmed"):
            run_login(use_device_code=True, sleep=fake.sleep, clock=fake.clock, timeout=6.0)
        assert center.calls["CreateToken"] == 2  # at 0 and 3 s; the deadline falls at 6 s
        assert fake.clock() == 6.0

    def test_denied(self, run_login: Callable[..., str], center: IdentityCenter) -> None:
        center.device_decision = "deny"
        with pytest.raises(SsoError, match="denied"):
            run_login(use_device_code=True, sleep=lambda _: None)

    def test_expired_code(self, run_login: Callable[..., str], center: IdentityCenter) -> None:
        center.device_decision = "pending"
        with pytest.raises(SsoError, match="expired"):
            run_login(use_device_code=True, sleep=lambda _: center.expire_codes())
        assert center.calls["CreateToken:ExpiredTokenException"] == 1

    def test_gives_up_at_expires_in(
        self, run_login: Callable[..., str], center: IdentityCenter
    ) -> None:
        center.device_decision, center.device_expires_in = "pending", 3
        fake = FakeTime(center)
        with pytest.raises(SsoError, match="expired before it was confirmed"):
            run_login(use_device_code=True, sleep=fake.sleep, clock=fake.clock)
        assert center.calls["CreateToken"] == 3


class TestTokenFile:
    def test_not_written_through_a_planted_symlink(
        self, run_login: Callable[..., str], cache_dir: str, tmp_path: Path
    ) -> None:
        victim = tmp_path / "victim"
        victim.write_text("precious")
        os.makedirs(cache_dir, mode=0o755)
        target = os.path.join(cache_dir, CORP_FILE)
        symlink(Path(target), victim)
        run_login()
        assert victim.read_text() == "precious"
        assert not os.path.islink(target)
        if not WINDOWS:  # no POSIX modes there
            assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o755  # not ours to chmod

    @posix_nofollow
    def test_read_json_refuses_what_is_not_a_small_regular_file(self, tmp_path: Path) -> None:
        good = tmp_path / "good.json"
        good.write_text('{"a": 1}')
        (tmp_path / "link.json").symlink_to(good)
        mkfifo(tmp_path / "fifo.json")
        (tmp_path / "big.json").write_text(json.dumps({"a": "x" * sso.MAX_FILE_BYTES}))
        (tmp_path / "list.json").write_text("[]")
        assert sso.read_json(str(good)) == {"a": 1}
        for name in ("link", "fifo", "big", "list", "missing"):
            assert sso.read_json(str(tmp_path / f"{name}.json")) is None

    def test_valid_token(self, tmp_path: Path) -> None:
        config = sso.SsoConfig(START_URL, "us-east-1", "corp")
        path = sso.token_path(config, str(tmp_path))
        sso.write_json(path, {"accessToken": "t", "expiresAt": "2026-11-23T11:00:00Z"})
        ten = float(calendar.timegm((2026, 11, 23, 10, 0, 0)))
        assert sso.valid_token(config, str(tmp_path), ten) is not None
        assert sso.valid_token(config, str(tmp_path), ten + 50 * 60) is None


class TestResolveConfig:
    @pytest.fixture
    def full_config(self, aws_env: Path) -> dict[str, Any]:
        import botocore.session

        (aws_env / ".aws" / "config").write_text(SSO_CONFIG)
        return dict(botocore.session.Session().full_config)

    def test_sso_session(self, full_config: dict[str, Any]) -> None:
        assert sso.resolve_config(full_config, profile="dev") == sso.SsoConfig(
            START_URL, "us-east-1", "corp", ("sso:account:access", "extra:scope")
        )
        assert sso.resolve_config(full_config, sso_session="corp").session_name == "corp"

    def test_follows_source_profile_to_the_sso_profile(self, full_config: dict[str, Any]) -> None:
        assert sso.resolve_config(full_config, profile="admin").session_name == "corp"

    def test_legacy(self, full_config: dict[str, Any]) -> None:
        config = sso.resolve_config(full_config, profile="legacy")
        assert config.legacy
        assert config.start_url == START_URL

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"profile": "plain"}, "the profile 'plain' does not use IAM Identity Center"),
            ({"profile": "nope"}, "the profile 'nope' does not exist"),
            ({"profile": "broken"}, "the sso-session 'nowhere' does not exist"),
            ({"sso_session": "x"}, "the sso-session 'x' does not exist"),
        ],
    )
    def test_errors(self, full_config: dict[str, Any], kwargs: Any, message: str) -> None:
        with pytest.raises(SsoError) as caught:
            sso.resolve_config(full_config, **kwargs)
        assert caught.value.message == message
