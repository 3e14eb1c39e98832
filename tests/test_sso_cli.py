"""`eksauth sso login` and the automatic sign-in of `eksauth token`, end to end.

The real botocore talks to the SSO OIDC and portal stand-ins (AWS_ENDPOINT_URL_SSO_OIDC and
AWS_ENDPOINT_URL_SSO), BROWSER is the browser stand-in, and the tokens eksauth prints are replayed
to the STS stand-in, which accepts them only if they were signed with the role credentials the
portal handed out for the new sign-in.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import (
    WINDOWS,
    Result,
    not_on_windows,
    posix_shell,
    run_tool,
    token_in_subprocess,
    tool,
)
from tests.standins.sso import BROWSER_SCRIPT, IdentityCenter, callback_port, port_is_closed
from tests.standins.sts import StsServer
from tests.standins.world import World

CORP_FILE = hashlib.sha1(b"corp", usedforsecurity=False).hexdigest() + ".json"
INTERACTIVE = json.dumps(
    {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {"interactive": True},
    }
)
NOT_INTERACTIVE = INTERACTIVE.replace("true", "false")


@pytest.fixture
def token_file(aws_env: Path) -> Path:
    return aws_env / ".aws" / "sso" / "cache" / CORP_FILE


@pytest.fixture
def login(eksauth: Callable[..., Result], browser_log: Path) -> Callable[..., Result]:
    """`eksauth sso login ARGS` in-process, at the real time (the stand-ins' clock)."""

    def run(*args: str) -> Result:
        return eksauth("sso", "login", *args, now=time.time())

    return run


def _secrets_absent(token_file: Path, text: str) -> None:
    token = json.loads(token_file.read_text())
    for field in ("accessToken", "refreshToken", "clientSecret"):
        assert token[field] not in text


def _expired_session(token_file: Path) -> None:
    """A token file botocore cannot use or refresh (expired; a registration nobody knows)."""
    token_file.parent.mkdir(parents=True, exist_ok=True)
    past = "2020-01-01T00:00:00Z"
    token_file.write_text(
        json.dumps(
            {
                "startUrl": "https://corp.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": "stale-access",
                "expiresAt": past,
                "refreshToken": "stale-refresh",
                "clientId": "unknown-client",
                "clientSecret": "unknown-secret",
                "registrationExpiresAt": "2099-01-01T00:00:00Z",
            }
        )
    )
    token_file.chmod(0o600)


class TestLoginCommand:
    def test_browser_flow_then_botocore_uses_the_token(
        self,
        login: Callable[..., Result],
        browser_log: Path,
        token_file: Path,
        center: IdentityCenter,
        sts_checker: Callable[..., str],
    ) -> None:
        result = login("--profile", "dev")

        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines[0].startswith("eksauth: Sign in to AWS IAM Identity Center at: http://127.")
        assert "code_challenge_method=S256" in lines[0]
        assert lines[-1].startswith("eksauth: signed in to https://corp.awsapps.com/start until ")
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]
        assert WINDOWS or token_file.stat().st_mode & 0o777 == 0o600  # no modes there
        _secrets_absent(token_file, result.stderr)
        assert port_is_closed(callback_port(lines))

        arn = sts_checker(token_in_subprocess("dev"), "demo")
        assert arn.endswith("/alice@example.com")
        assert center.calls["GetRoleCredentials"] == 1

    def test_sso_session_and_the_global_profile(
        self, login: Callable[..., Result], eksauth: Callable[..., Result], token_file: Path
    ) -> None:
        assert login("--sso-session", "corp").exit_code == 0
        assert token_file.exists()
        token_file.unlink()
        assert eksauth("--profile", "dev", "sso", "login", now=time.time()).exit_code == 0
        assert token_file.exists()

    def test_device_code_then_botocore_uses_the_token(
        self,
        login: Callable[..., Result],
        browser_log: Path,
        token_file: Path,
        center: IdentityCenter,
        sts_checker: Callable[..., str],
    ) -> None:
        result = login("--profile", "dev", "--use-device-code")

        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert result.stderr.startswith("eksauth: Open http://127.0.0.1:")
        assert "/device?user_code=" in result.stderr
        assert not browser_log.exists()
        assert center.calls["CreateToken:AuthorizationPendingException"] == 1
        _secrets_absent(token_file, result.stderr)
        assert "alice@example.com" in sts_checker(token_in_subprocess("dev"), "demo")

    def test_wrong_state_is_refused_and_the_wait_times_out_without_a_listener(
        self,
        login: Callable[..., Result],
        browser_log: Path,
        token_file: Path,
        center: IdentityCenter,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("STANDIN_BROWSER_MODE", "wrong-state")
        result = login("--profile", "dev", "--timeout", "2")

        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            "eksauth: error: no sign-in completed within 2 seconds "
            "(run the command again, or use --use-device-code)"
        )
        assert browser_log.read_text().splitlines() == ["open wrong-state", "callback 400"]
        assert center.calls["CreateToken"] == 0
        assert not token_file.exists()
        assert port_is_closed(callback_port(result.stderr.splitlines()))

    def test_wrong_verifier_is_rejected(
        self,
        login: Callable[..., Result],
        token_file: Path,
        center: IdentityCenter,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("STANDIN_BROWSER_MODE", "wrong-challenge")
        result = login("--profile", "dev")

        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            "eksauth: error: IAM Identity Center rejected the sign-in (invalid_grant)"
        )
        assert center.calls["CreateToken:InvalidGrantException"] == 1
        assert not token_file.exists()

    def test_denied_device_code(
        self, login: Callable[..., Result], center: IdentityCenter, token_file: Path
    ) -> None:
        center.device_decision = "deny"
        result = login("--profile", "dev", "--use-device-code")
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == "eksauth: error: the sign-in was denied"
        assert not token_file.exists()

    def test_expired_device_code(
        self, login: Callable[..., Result], center: IdentityCenter, token_file: Path
    ) -> None:
        center.device_decision = "pending"
        # The code runs out while the user has not confirmed it: the next poll is refused.
        threading.Timer(0.5, center.expire_codes).start()
        result = login("--profile", "dev", "--use-device-code")
        assert center.calls["CreateToken:ExpiredTokenException"] == 1
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            "eksauth: error: the sign-in expired before it completed (run it again)"
        )
        assert not token_file.exists()

    @pytest.mark.parametrize(
        ("args", "code", "line"),
        [
            (
                ["--profile", "dev", "--sso-session", "corp"],
                2,
                "eksauth: error: give --profile or --sso-session, not both",
            ),
            (
                ["--profile", "plain"],
                1,
                "eksauth: error: the profile 'plain' does not use IAM Identity Center "
                "(set sso_session (or sso_start_url and sso_region) in it)",
            ),
            (
                ["--sso-session", "nowhere"],
                1,
                "eksauth: error: the sso-session 'nowhere' does not exist",
            ),
        ],
    )
    def test_bad_input_is_one_line(
        self, login: Callable[..., Result], args: list[str], code: int, line: str
    ) -> None:
        result = login(*args)
        assert (result.exit_code, result.stdout, result.stderr) == (code, "", line + "\n")


class TestAutomaticSignIn:
    def test_non_interactive_run_fails_fast_naming_the_command(
        self,
        eksauth: Callable[..., Result],
        browser_log: Path,
        token_file: Path,
        center: IdentityCenter,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _expired_session(token_file)
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", NOT_INTERACTIVE)
        started = time.monotonic()
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=time.time())

        assert time.monotonic() - started < 10
        assert (result.exit_code, result.stdout) == (1, "")
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: error: the SSO session has expired or is missing: ")
        assert line.endswith("(run `eksauth sso login --profile dev`)")
        assert not browser_log.exists()
        assert center.calls["Authorize"] == center.calls["StartDeviceAuthorization"] == 0

    def test_interactive_run_signs_in_and_prints_the_token(
        self,
        eksauth: Callable[..., Result],
        browser_log: Path,
        token_file: Path,
        sts_checker: Callable[..., str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", INTERACTIVE)
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=time.time())

        assert result.exit_code == 0, result.stderr
        credential = json.loads(result.stdout)
        assert credential["kind"] == "ExecCredential"
        assert result.stderr.startswith(
            "eksauth: the IAM Identity Center session for https://corp.awsapps.com/start "
            "has expired; signing in\n"
        )
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]
        _secrets_absent(token_file, result.stderr)
        assert "alice@example.com" in sts_checker(credential["status"]["token"], "demo")

    def test_role_profile_signs_in_to_its_source_session(
        self,
        eksauth: Callable[..., Result],
        browser_log: Path,
        world: World,
        sts_server: StsServer,
        sts_checker: Callable[..., str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        world.add_role("arn:aws:iam::111122223333:role/Admin")
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)  # botocore's AssumeRole
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", INTERACTIVE)
        result = eksauth("token", "-c", "demo", "--profile", "admin", now=time.time())

        assert result.exit_code == 0, result.stderr
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]
        bearer = json.loads(result.stdout)["status"]["token"]
        assert ":assumed-role/Admin/" in sts_checker(bearer, "demo")

    def test_without_a_browser_it_falls_back_to_the_device_code(
        self,
        eksauth: Callable[..., Result],
        browser_log: Path,
        center: IdentityCenter,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", INTERACTIVE)
        monkeypatch.setenv("STANDIN_BROWSER_MODE", "fail")
        result = eksauth("token", "-c", "demo", "--profile", "dev", now=time.time())

        assert result.exit_code == 0, result.stderr
        assert "eksauth: No browser could be opened; signing in with a code instead." in (
            result.stderr.splitlines()
        )
        assert "/device?user_code=" in result.stderr
        assert center.calls["StartDeviceAuthorization"] == 1

    def test_six_parallel_runs_sign_in_once(
        self,
        browser_log: Path,
        token_file: Path,
        center: IdentityCenter,
        sts_checker: Callable[..., str],
    ) -> None:
        _expired_session(token_file)
        env = {**os.environ, "KUBERNETES_EXEC_INFO": INTERACTIVE}
        # Six clusters: six token-cache keys, so only the SSO session's lock brings them together.
        runs = [
            subprocess.Popen(
                [tool("eksauth"), "token", "-c", f"demo-{i}", "--profile", "dev"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i in range(6)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]

        assert [run.returncode for run in runs] == [0] * 6, [err for _, err in outputs]
        assert browser_log.read_text().splitlines() == ["open approve", "callback 200"]
        assert center.calls["Authorize"] == 1
        assert sum("signing in" in err for _, err in outputs) == 1
        tokens = [json.loads(out)["status"]["token"] for out, _ in outputs]
        assert len(set(tokens)) == 6
        for i, bearer in enumerate(tokens):
            assert sts_checker(bearer, f"demo-{i}").endswith("/alice@example.com")
        refreshed = json.loads(token_file.read_text())
        assert refreshed["accessToken"] != "stale-access"
        assert calendar.timegm(time.strptime(refreshed["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")) > (
            time.time()
        )


def _browser(tmp_path: Path, body: str) -> str:
    """A BROWSER wrapper running `body`, where @STANDIN@ runs the browser stand-in."""
    standin = f'"{sys.executable}" "{BROWSER_SCRIPT}" "$@"'
    wrapper = tmp_path / "wrapped-browser"
    wrapper.write_text("#!/bin/sh\n" + body.replace("@STANDIN@", standin))
    wrapper.chmod(0o755)
    return str(wrapper)


def _runs(count: int, env: dict[str, str]) -> list[tuple[int, str, str]]:
    runs = [
        subprocess.Popen(
            [tool("eksauth"), "token", "-c", f"demo-{i}", "--profile", "dev"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(count)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    return [(run.returncode, out, err) for run, (out, err) in zip(runs, outputs)]


@posix_shell
class TestBrowserProcess:
    def test_what_the_browser_prints_stays_off_the_exec_credential(
        self, browser_log: Path, tmp_path: Path
    ) -> None:
        say = 'echo "Opening in existing browser session."\nexec @STANDIN@\n'
        env = {
            **os.environ,
            "KUBERNETES_EXEC_INFO": INTERACTIVE,
            "BROWSER": _browser(tmp_path, say),
        }
        ((code, out, err),) = _runs(1, env)
        assert code == 0, err
        assert json.loads(out)["kind"] == "ExecCredential"
        assert "eksauth: browser: Opening in existing browser session." in err.splitlines()

    def test_a_browser_left_running_holds_neither_stdout_nor_stderr(
        self, browser_log: Path, tmp_path: Path
    ) -> None:
        # Run as kubectl runs us (reading to the end of our output): a browser that stays
        # running with the launcher's stdout and stderr must not keep us waiting.
        env = {
            **os.environ,
            "KUBERNETES_EXEC_INFO": INTERACTIVE,
            "BROWSER": _browser(tmp_path, "(sleep 40 &)\nexec @STANDIN@\n"),
        }
        started = time.monotonic()
        ((code, _, err),) = _runs(1, env)
        assert code == 0, err
        assert time.monotonic() - started < 20

    def test_timeout_bounds_a_browser_command_that_never_returns(
        self, browser_log: Path, tmp_path: Path
    ) -> None:
        env = {**os.environ, "BROWSER": _browser(tmp_path, "sleep 60\n")}
        started = time.monotonic()
        done = run_tool("eksauth", "sso", "login", "--profile", "dev", "--timeout", "3", env=env)
        assert time.monotonic() - started < 15
        assert done.stderr.splitlines()[-1] == (
            "eksauth: error: no sign-in completed within 3 seconds "
            "(run the command again, or use --use-device-code)"
        )


class TestOnceForMany:
    def test_a_refused_sign_in_is_not_retried_by_every_waiter(
        self, browser_log: Path, center: IdentityCenter
    ) -> None:
        center.authorize_decision = "deny"
        env = {**os.environ, "KUBERNETES_EXEC_INFO": INTERACTIVE}
        results = _runs(4, env)

        assert [code for code, _, _ in results] == [1] * 4
        assert center.calls["Authorize"] == 1
        assert [line for line in browser_log.read_text().splitlines() if "open" in line] == [
            "open approve"
        ]
        lines = [err.splitlines()[-1] for _, _, err in results]
        assert lines.count("eksauth: error: the sign-in was refused (access_denied)") == 1
        assert (
            lines.count(
                "eksauth: error: the IAM Identity Center sign-in another eksauth run started has "
                "just failed (run `eksauth sso login --profile dev`)"
            )
            == 3
        )

    @not_on_windows("a shared folder is told by its mode, and the /tmp used here is C:\\tmp")
    def test_no_sign_in_without_the_lock(self, browser_log: Path, center: IdentityCenter) -> None:
        # The token cache folder is refused (a shared /tmp): the SSO lock would live there.
        env = {**os.environ, "KUBERNETES_EXEC_INFO": INTERACTIVE, "EKSAUTH_CACHE_DIR": "/tmp"}  # noqa: S108
        results = _runs(4, env)

        assert [(code, out) for code, out, _ in results] == [(1, "")] * 4
        assert center.calls["Authorize"] == center.calls["StartDeviceAuthorization"] == 0
        for _, _, err in results:
            line = err.splitlines()[-1]
            assert line.startswith("eksauth: error: the IAM Identity Center session has expired")
            assert "the cache folder cannot be used" in line
            assert line.endswith("(run `eksauth sso login --profile dev`)")
