"""Errors keep their cause: `-v` prints it after the error line, one `caused by:` line each;
without -v the error is still exactly one line; a cause whose text could hold a secret is cut.

Real protocols on loopback: a port nobody listens on, the STS stand-in, a credential_process.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from eksauth.errors import MAX_CAUSE_CHARS, MAX_CAUSES, EksAuthError, cause_lines
from tests.conftest import ACCESS_KEY, SECRET_KEY, tool
from tests.standins.sts import StsServer
from tests.standins.world import World

REGION = ("--region", "eu-west-1")
SECRET = "wJalrXUtnFEMI-the-secret-in-the-text"


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def refusing_eks(static_keys: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """EKS's endpoint on a loopback port that refuses connections; returns its URL."""
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", url)
    return url


class TestTheCauseUnderVerbose:
    def test_the_connection_error_behind_could_not_reach_eks(self, eksauth, refusing_eks) -> None:
        result = eksauth("update-kubeconfig", "--name", "demo", *REGION, "-v")
        assert (result.exit_code, result.stdout) == (1, "")
        connect = f'Could not connect to the endpoint URL: "{refusing_eks}/clusters/demo"'
        assert result.stderr.splitlines() == [
            f"eksauth: error: could not reach EKS for eks:DescribeCluster: {connect} "
            "(check the network, proxy settings and AWS_ENDPOINT_URL_EKS)",
            f"eksauth: caused by: EndpointConnectionError: {connect}",
        ]

    def test_without_verbose_it_is_one_line(self, eksauth, refusing_eks) -> None:
        result = eksauth("update-kubeconfig", "--name", "demo", *REGION)
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: error: could not reach EKS for eks:DescribeCluster: ")


class TestSecretsStayOut:
    def test_a_token_that_is_not_utf8_shows_no_cause(self, eksauth) -> None:
        # UnicodeDecodeError would quote the token's own bytes ("can't decode byte 0xff").
        body = base64.urlsafe_b64encode(b"\xff\xfehttps://sts.amazonaws.com/").decode()
        result = eksauth("verify", "-v", "-c", "demo", "k8s-aws-v1." + body.rstrip("="))
        assert result.exit_code == 1
        assert result.stderr == "eksauth: error: the token's body does not decode to UTF-8 text\n"

    def test_a_kubeconfig_yaml_error_does_not_quote_the_file(
        self, eksauth, static_keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # PyYAML's own message quotes the offending line, here a user's bearer token.
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(f"users:\n- name: u\n  user:\n    token: {SECRET}: x\n")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        result = eksauth("whoami", "-v", *REGION)
        assert result.exit_code == 1
        assert result.stderr == (
            f"eksauth: error: {kubeconfig} is not valid YAML: mapping values are not allowed "
            "here (line 4, column 48)\n"
        )

    def test_a_credential_process_parse_error_does_not_quote_its_output(
        self, aws_env: Path
    ) -> None:
        # dateutil's ValueError quotes the Expiration it cannot read; here it holds a secret.
        script = aws_env / "creds.py"
        output = (
            f'{{"Version": 1, "AccessKeyId": "{ACCESS_KEY}", "SecretAccessKey": "{SECRET_KEY}", '
            f'"SessionToken": "t", "Expiration": "{SECRET}"}}'
        )
        script.write_text(f"print({output!r})\n")
        (aws_env / ".aws" / "config").write_text(
            f"[profile odd]\ncredential_process = {sys.executable} {script}\n"
        )
        result = subprocess.run(
            [tool("eksauth"), "token", "-c", "demo", *REGION, "--profile", "odd", "-v"],
            check=False, env=dict(os.environ), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 1
        assert SECRET not in result.stderr
        assert "caused by" not in result.stderr
        assert result.stderr.splitlines()[-1] == (
            "eksauth: error: could not load AWS credentials: the credential source "
            "(credential_process, SSO or container endpoint) answered with something that cannot "
            "be read (ParserError: not JSON with valid fields)"
        )


@pytest.fixture
def dev_profile(world: World, aws_env: Path) -> None:
    world.add_user(ACCESS_KEY, SECRET_KEY)
    (aws_env / ".aws" / "credentials").write_text(
        f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )


def whoami(eksauth: Any, sts_server: StsServer, *args: str) -> Any:
    argv = ("whoami", "-c", "demo", "--profile", "dev", "--sts-url", sts_server.url, "--no-eks")
    return eksauth(*argv, *args, now=time.time())


@pytest.mark.usefixtures("dev_profile")
class TestExpiredIsTheErrorCode:
    """STS's ExpiredToken is known by its code, whatever its message says."""

    REFRESH = "(refresh the credentials; for an SSO profile, `eksauth sso login --profile dev`)"

    def test_expired_token_with_a_message_that_never_says_expired(
        self, eksauth, sts_server: StsServer
    ) -> None:
        sts_server.fail_with("ExpiredToken", message="The security token is no longer valid")
        result = whoami(eksauth, sts_server)
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()
        expected = f"(ExpiredToken: The security token is no longer valid) {self.REFRESH}"
        assert line.endswith(expected)

    def test_expired_on_assume_role_shows_the_service_error_as_the_cause(
        self, eksauth, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)
        sts_server.fail_with("ExpiredToken", message="The security token is no longer valid")
        role = ("--profile", "dev", "--role-arn", "arn:aws:iam::111122223333:role/R")
        result = eksauth("token", "-c", "demo", *REGION, *role, "--no-cache", "-v")
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-2:] == [
            "eksauth: error: AssumeRole on arn:aws:iam::111122223333:role/R failed: ExpiredToken: "
            f"The security token is no longer valid {self.REFRESH}",
            "eksauth: caused by: ClientError: An error occurred (ExpiredToken) when calling the "
            "AssumeRole operation: The security token is no longer valid",
        ]

    def test_another_code_whose_message_says_expired_is_not_expired(
        self, eksauth, sts_server: StsServer
    ) -> None:
        sts_server.fail_with("InvalidClientTokenId", message="this key has expired")
        result = whoami(eksauth, sts_server)
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: error: ")
        assert "InvalidClientTokenId: this key has expired" in line
        assert self.REFRESH not in line


class TestCauseLines:
    """`errors.cause_lines`: bounded, one line each, explicit causes only."""

    @staticmethod
    def chained(*errors: BaseException) -> BaseException:
        for outer, inner in zip(errors, errors[1:]):
            outer.__cause__ = inner
        return errors[0]

    def test_each_cause_in_order_on_one_line(self) -> None:
        top = self.chained(EksAuthError("top"), OSError(111, "refused\n  twice"), KeyError("k"))
        assert cause_lines(top) == [
            "caused by: ConnectionRefusedError: [Errno 111] refused twice",
            "caused by: KeyError: 'k'",
        ]

    def test_bounded_in_length_and_number(self) -> None:
        top = self.chained(EksAuthError("top"), *(ValueError("x" * 1000) for _ in range(9)))
        lines = cause_lines(top)
        assert len(lines) == MAX_CAUSES
        assert {len(line) for line in lines} == {MAX_CAUSE_CHARS}
        assert all(line.endswith("x…") for line in lines)

    def test_the_implicit_context_is_not_a_cause(self) -> None:
        def cut() -> None:
            try:
                raise ValueError(SECRET)
            except ValueError:
                raise EksAuthError("top") from None

        with pytest.raises(EksAuthError) as caught:
            cut()
        assert caught.value.__context__ is not None
        assert cause_lines(caught.value) == []

    def test_a_chain_that_loops_stops_where_it_repeats(self) -> None:
        top, inner = EksAuthError("top"), RuntimeError()
        self.chained(top, inner, top)
        assert cause_lines(top) == ["caused by: RuntimeError"]
