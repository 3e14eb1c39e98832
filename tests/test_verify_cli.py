"""`eksauth decode`, `verify` and `whoami` end to end, against the loopback STS stand-in."""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

from eksauth.token import bearer as token
from tests.conftest import ACCESS_KEY, FROZEN, SECRET_KEY, SEED_SIGNED, SEED_TOKEN, SEED_URL, Result
from tests.standins import StsServer, World, presign_url

Run = Callable[..., Result]
FROZEN_DT = datetime.fromtimestamp(FROZEN, timezone.utc)
ACCOUNT = "111122223333"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/test-user"


@pytest.fixture
def signed(eksauth: Run, static_keys: None, world: World, sts_server: StsServer) -> str:
    """A token for cluster `demo`, signed at FROZEN for the stand-in, which STS accepts."""
    world.add_user(ACCESS_KEY, SECRET_KEY)
    world.freeze(FROZEN_DT + timedelta(seconds=30))
    result = eksauth(
        "token", "--cluster-name", "demo", "--region", "eu-west-1", "--output", "token",
        "--sts-url", sts_server.url,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every outgoing connection attempt from now on, refused and recorded."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "aws-auth.yaml"
    path.write_text(text)
    return str(path)


def _identity_lines(access_key: str = ACCESS_KEY) -> list[str]:
    return [
        f"arn:           {USER_ARN}",
        f"canonical arn: {USER_ARN}",
        f"account:       {ACCOUNT}",
        f"user id:       {_user_id()}",
        "session name:  -",
        f"access key id: {access_key}",
    ]


def _user_id() -> str:
    return World().add_user(ACCESS_KEY, SECRET_KEY).user_id


def _reencode(bearer: str, edit: Callable[[str], str]) -> str:
    return token.encode(edit(token.decode(bearer)))


class TestDecode:
    def test_the_seed_token(self, eksauth: Run) -> None:
        result = eksauth("decode", SEED_TOKEN)
        assert result.exit_code == 0
        assert result.stdout.splitlines() == [
            f"url:               {SEED_URL}",
            "host:              sts.ap-northeast-2.amazonaws.com",
            "region:            ap-northeast-2",
            "access key id:     AKIAR5QOEZPU4QXX5H4F",
            "signed at:         2022-04-26T17:32:42Z",
            "X-Amz-Expires:     60",
            "EKS accepts until: 2022-04-26T17:47:42Z (expired 1671d ago)",
            "signed headers:    host, x-k8s-aws-id",
            "session token:     no",
        ]
        assert result.stderr == (
            "eksauth: warning: EKS would reject this token: the token expired at "
            "2022-04-26T17:47:42Z (it is now 2026-11-23T10:00:00Z): EKS accepts a token for 15 "
            "minutes after its X-Amz-Date (2022-04-26T17:32:42Z) (get a new token)\n"
        )

    def test_json(self, eksauth: Run) -> None:
        result = eksauth("decode", "--json", SEED_TOKEN, now=SEED_SIGNED + 800)
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {
            "url": SEED_URL,
            "host": "sts.ap-northeast-2.amazonaws.com",
            "region": "ap-northeast-2",
            "service": "sts",
            "action": "GetCallerIdentity",
            "access_key_id": "AKIAR5QOEZPU4QXX5H4F",
            "signed_at": "2022-04-26T17:32:42Z",
            "x_amz_expires": 60,
            "expires_at": "2022-04-26T17:47:42Z",
            "seconds_left": 100,
            "signed_headers": ["host", "x-k8s-aws-id"],
            "session_token": False,
        }

    def test_fresh_token_from_stdin_says_how_long_it_has(
        self, eksauth: Run, signed: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(signed + "\n"))
        result = eksauth("decode", "-", now=FROZEN + 65)
        assert result.exit_code == 0
        assert "EKS accepts until: 2026-11-23T10:15:00Z (in 13m55s)" in result.stdout
        assert "region:            eu-west-1" in result.stdout
        # A loopback URL decodes fine, but EKS would not accept it.
        assert result.stderr == (
            "eksauth: warning: EKS would reject this token: the token's URL uses 'http'; "
            "EKS only accepts https\n"
        )

    @pytest.mark.parametrize(
        ("bad", "reason"),
        [
            ("aHR0cHM6Ly9zdHM", "does not start with 'k8s-aws-v1.'"),
            (SEED_TOKEN + "=", "'=' padding"),
            ("k8s-aws-v1.aHR0c+HM6Ly9zdHM", "not valid base64url"),
            ("k8s-aws-v1.aGVsbG8gd29ybGQ", "not a URL"),
        ],
    )
    def test_bad_input_names_what_is_wrong(self, eksauth: Run, bad: str, reason: str) -> None:
        result = eksauth("decode", bad)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.startswith("eksauth: error: ")
        assert reason in result.stderr


class TestVerify:
    def _verify(self, eksauth: Run, bearer: str, sts: StsServer, *args: str, **kw: Any) -> Result:
        return eksauth("verify", bearer, "--sts-url", sts.url, *args, **kw)

    def test_good_token(
        self, eksauth: Run, signed: str, sts_server: StsServer, world: World
    ) -> None:
        result = self._verify(eksauth, signed, sts_server, "--cluster-name", "demo")
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout.splitlines() == _identity_lines()
        assert world.calls == {"GetCallerIdentity:presigned": 1}
        [call] = world.entries("GetCallerIdentity:presigned")
        assert (call["x_k8s_aws_id"], call["host"], call["result"]) == (
            "demo",
            sts_server.host,
            "ok",
        )

    def test_good_token_json_with_sts_url_from_the_environment(
        self, eksauth: Run, signed: str, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EKSAUTH_STS_URL", sts_server.url)
        result = eksauth("verify", signed, "-c", "demo", "--json")
        assert result.exit_code == 0
        assert json.loads(result.stdout) == {
            "arn": USER_ARN,
            "canonical_arn": USER_ARN,
            "account": ACCOUNT,
            "user_id": _user_id(),
            "session_name": "",
            "access_key_id": ACCESS_KEY,
        }

    def test_wrong_cluster(self, eksauth: Run, signed: str, sts_server: StsServer) -> None:
        result = self._verify(eksauth, signed, sts_server, "--cluster-name", "other")
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.startswith(
            "eksauth: error: the signature does not match: the token was altered, or signed for "
            "a different cluster than 'other' (x-k8s-aws-id is part of the signature) "
            "(SignatureDoesNotMatch: "
        )

    def test_tampered_signature(
        self, eksauth: Run, signed: str, sts_server: StsServer, world: World
    ) -> None:
        def flip(url: str) -> str:
            head, signature = url.rsplit("X-Amz-Signature=", 1)
            return f"{head}X-Amz-Signature={signature[::-1]}"

        result = self._verify(eksauth, _reencode(signed, flip), sts_server, "-c", "demo")
        assert result.exit_code == 1
        assert "(SignatureDoesNotMatch: " in result.stderr
        assert world.errors == {"SignatureDoesNotMatch": 1}

    def test_expired_is_refused_offline(
        self, eksauth: Run, signed: str, sts_server: StsServer, world: World
    ) -> None:
        result = self._verify(eksauth, signed, sts_server, "-c", "demo", now=FROZEN + 901)
        assert (result.exit_code, result.stdout) == (1, "")
        assert "the token expired at 2026-11-23T10:15:00Z" in result.stderr
        assert world.calls == {}

    def test_still_fresh_at_fifteen_minutes(
        self, eksauth: Run, signed: str, sts_server: StsServer, world: World
    ) -> None:
        world.freeze(FROZEN_DT + timedelta(seconds=900))
        result = self._verify(eksauth, signed, sts_server, "-c", "demo", now=FROZEN + 900)
        assert result.exit_code == 0, result.stderr

    def test_sts_says_expired_when_its_clock_is_later(
        self, eksauth: Run, signed: str, sts_server: StsServer, world: World
    ) -> None:
        world.freeze(FROZEN_DT + timedelta(minutes=20))
        result = self._verify(eksauth, signed, sts_server, "-c", "demo", now=FROZEN + 60)
        assert result.exit_code == 1
        assert "STS says the token has expired (or the signer's clock is off) (RequestExpired" in (
            result.stderr
        )

    def test_unknown_access_key(
        self, eksauth: Run, signed: str, sts_server: StsServer, world: World
    ) -> None:
        world.revoke(ACCESS_KEY)
        result = self._verify(eksauth, signed, sts_server, "-c", "demo")
        assert result.exit_code == 1
        assert "STS does not know the access key that signed the token (InvalidClientTokenId" in (
            result.stderr
        )

    @pytest.mark.parametrize(
        "host",
        ["evil.example", "sts.eu-west-1.amazonaws.com.evil.example", "169.254.169.254"],
    )
    def test_foreign_host_gets_no_request(
        self,
        eksauth: Run,
        sts_server: StsServer,
        world: World,
        no_connections: list[Any],
        host: str,
    ) -> None:
        url = presign_url(
            f"https://{host}/?Action=GetCallerIdentity&Version=2011-06-15",
            access_key_id=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region="eu-west-1",
            now=FROZEN_DT,
            headers={"x-k8s-aws-id": "demo"},
        )
        result = self._verify(eksauth, token.encode(url), sts_server, "-c", "demo")
        assert (result.exit_code, result.stdout) == (1, "")
        assert f"'{host}' is not an STS endpoint of any known partition" in result.stderr
        assert (world.calls, no_connections) == ({}, [])

    def test_loopback_host_needs_sts_url(
        self, eksauth: Run, signed: str, world: World, no_connections: list[Any]
    ) -> None:
        result = eksauth("verify", signed, "-c", "demo")
        assert result.exit_code == 1
        assert "EKS only accepts https" in result.stderr
        assert (world.calls, no_connections) == ({}, [])

    @pytest.mark.parametrize(
        ("edit", "reason"),
        [
            (lambda u: u.replace("/?", "/x?"), "path is '/x'"),
            (lambda u: u + "&Action=GetCallerIdentity", "'Action' appears more than once"),
            (lambda u: u + "&Extra=1", "'Extra' is not one EKS allows"),
            (lambda u: u.replace("GetCallerIdentity", "GetSessionToken"), "Action is 'GetSess"),
            (lambda u: u.replace("host%3Bx-k8s-aws-id", "host"), "x-k8s-aws-id header is not"),
            (lambda u: u.replace("X-Amz-Expires=60", "X-Amz-Expires=901"), "X-Amz-Expires is"),
            (lambda u: u.replace("X-Amz-Date=", "X-Amz-Date=x"), "is not of the form"),
            (lambda u: u.replace("X-Amz-Date=", "Nope="), "'Nope' is not one EKS allows"),
            (lambda u: u + "&a=%zz", "malformed query parameter"),
        ],
    )
    def test_each_offline_rule_refuses_without_a_request(
        self,
        eksauth: Run,
        signed: str,
        sts_server: StsServer,
        world: World,
        edit: Callable[[str], str],
        reason: str,
    ) -> None:
        result = self._verify(eksauth, _reencode(signed, edit), sts_server, "-c", "demo")
        assert (result.exit_code, result.stdout) == (1, "")
        assert reason in result.stderr
        assert world.calls == {}

    def test_too_large(self, eksauth: Run, sts_server: StsServer, world: World) -> None:
        result = self._verify(eksauth, "k8s-aws-v1." + "A" * 5000, sts_server, "-c", "demo")
        assert result.exit_code == 1
        assert "refuses tokens over 4096 bytes" in result.stderr

    def test_exactly_one_cluster_option(self, eksauth: Run, signed: str) -> None:
        assert eksauth("verify", signed).exit_code == 2
        assert eksauth("verify", signed, "-c", "a", "-i", "b").exit_code == 2

    def test_redirects_are_not_followed(self, eksauth: Run, world: World) -> None:
        with _Redirector("http://127.0.0.1:9/") as redirector:
            url = presign_url(
                f"{redirector.url}/?Action=GetCallerIdentity&Version=2011-06-15",
                access_key_id=ACCESS_KEY,
                secret_key=SECRET_KEY,
                region="eu-west-1",
                now=FROZEN_DT,
                headers={"x-k8s-aws-id": "demo"},
            )
            bearer = token.encode(url)
            result = eksauth("verify", bearer, "-c", "demo", "--sts-url", redirector.url)
        assert result.exit_code == 1
        assert "STS answered with a redirect (HTTP 302), which EKS does not follow" in (
            result.stderr
        )
        assert redirector.requests == 1

    def test_unreachable_sts(self, eksauth: Run) -> None:
        url = presign_url(
            "http://127.0.0.1:9/?Action=GetCallerIdentity&Version=2011-06-15",
            access_key_id=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region="eu-west-1",
            now=FROZEN_DT,
            headers={"x-k8s-aws-id": "demo"},
        )
        result = eksauth(
            "verify", token.encode(url), "-c", "demo", "--sts-url", "http://127.0.0.1:9"
        )
        assert result.exit_code == 1
        assert result.stderr.startswith("eksauth: error: could not reach STS at 127.0.0.1:9: ")


MAP_USER = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapUsers: |
    - userarn: {USER_ARN}
      username: "tester:{{{{AccountID}}}}:{{{{AccessKeyID}}}}"
      groups: [system:masters]
"""


class TestAwsAuth:
    def test_mapped(self, eksauth: Run, signed: str, sts_server: StsServer, tmp_path: Path) -> None:
        aws_auth = _write(tmp_path, MAP_USER)
        result = eksauth(
            "verify", signed, "-c", "demo", "--sts-url", sts_server.url, "--aws-auth", aws_auth
        )
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout.splitlines() == [
            f"arn:           {USER_ARN}",
            f"canonical arn: {USER_ARN}",
            f"account:       {ACCOUNT}",
            f"user id:       {_user_id()}",
            "session name:  -",
            f"access key id: {ACCESS_KEY}",
            f"username:      tester:{ACCOUNT}:{ACCESS_KEY}",
            "groups:        system:masters",
            "mapped by:     aws-auth:mapUsers[0]",
        ]

    def test_mapped_json_from_stdin(
        self,
        eksauth: Run,
        signed: str,
        sts_server: StsServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(MAP_USER))
        result = eksauth(
            "verify", signed, "-c", "demo", "--sts-url", sts_server.url, "--aws-auth", "-",
            "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        answer = json.loads(result.stdout)
        assert {k: answer[k] for k in ("mapped", "username", "groups", "mapped_by")} == {
            "mapped": True,
            "username": f"tester:{ACCOUNT}:{ACCESS_KEY}",
            "groups": ["system:masters"],
            "mapped_by": "aws-auth:mapUsers[0]",
        }

    def test_unmapped_prints_the_identity_and_fails(
        self, eksauth: Run, signed: str, sts_server: StsServer, tmp_path: Path
    ) -> None:
        aws_auth = _write(tmp_path, "mapAccounts: |\n  - '444455556666'\n")
        result = eksauth(
            "verify", signed, "-c", "demo", "--sts-url", sts_server.url, "--aws-auth", aws_auth
        )
        assert result.exit_code == 1
        assert result.stdout.splitlines() == _identity_lines()
        assert result.stderr == (
            f"eksauth: error: {USER_ARN} is not mapped by aws-auth: no mapRoles or mapUsers "
            f"entry matches it, and account {ACCOUNT} is not in mapAccounts (the cluster "
            "creator and EKS access entries can grant access that aws-auth does not show: see "
            "`aws eks list-access-entries --cluster-name NAME`)\n"
        )

    def test_map_accounts(
        self, eksauth: Run, signed: str, sts_server: StsServer, tmp_path: Path
    ) -> None:
        aws_auth = _write(tmp_path, f"mapAccounts: |\n  - {ACCOUNT}\n")
        result = eksauth(
            "verify", signed, "-c", "demo", "--sts-url", sts_server.url, "--aws-auth", aws_auth,
            "--json",
        )  # fmt: skip
        assert result.exit_code == 0
        assert json.loads(result.stdout)["username"] == USER_ARN

    def test_a_bad_file_fails_before_any_request(
        self, eksauth: Run, signed: str, sts_server: StsServer, world: World, tmp_path: Path
    ) -> None:
        missing = str(tmp_path / "missing.yaml")
        result = eksauth(
            "verify", signed, "-c", "demo", "--sts-url", sts_server.url, "--aws-auth", missing
        )
        assert result.exit_code == 1
        assert "cannot read the aws-auth file" in result.stderr
        not_yaml = _write(tmp_path, "data: [")
        result = eksauth(
            "verify", signed, "-c", "demo", "--sts-url", sts_server.url, "--aws-auth", not_yaml
        )
        assert result.exit_code == 1
        assert "the aws-auth file is not valid YAML" in result.stderr
        assert world.calls == {}

    def test_token_and_aws_auth_cannot_both_be_stdin(self, eksauth: Run) -> None:
        result = eksauth("verify", "-", "-c", "demo", "--aws-auth", "-")
        assert result.exit_code == 2
        assert "cannot both be read from stdin" in result.stderr


NODE_AWS_AUTH = (
    "mapRoles: |\n"
    f"  - rolearn: arn:aws:iam::{ACCOUNT}:role/NodeRole\n"
    "    username: system:node:{{EC2PrivateDNSName}}\n"
    "    groups: [system:bootstrappers, system:nodes]\n"
)


@pytest.fixture
def assume(world: World, sign_in: Callable[[str, str], Any]) -> Callable[[str, str], None]:
    """Sign as a session of role NAME (in ACCOUNT) called SESSION, at FROZEN."""

    def use(role: str, session: str) -> None:
        world.freeze(FROZEN_DT)
        sign_in(f"arn:aws:iam::{ACCOUNT}:role/{role}", session)

    return use


class TestWhoami:
    def _whoami(self, eksauth: Run, sts: StsServer, *args: str) -> Result:
        return eksauth(
            "whoami", "--cluster-name", "demo", "--region", "eu-west-1", "--sts-url", sts.url,
            "--no-eks", *args
        )  # fmt: skip

    def test_signs_then_verifies_then_reuses_the_cached_token(
        self, eksauth: Run, static_keys: None, world: World, sts_server: StsServer
    ) -> None:
        world.add_user(ACCESS_KEY, SECRET_KEY)
        world.freeze(FROZEN_DT)
        first = self._whoami(eksauth, sts_server)
        assert (first.exit_code, first.stderr) == (0, "")
        assert first.stdout.splitlines() == _identity_lines()
        # The cached token is reused; kubeconfig args such as --output are accepted.
        second = self._whoami(eksauth, sts_server, "--output", "json", "--json", "-v")
        assert second.exit_code == 0
        assert json.loads(second.stdout)["arn"] == USER_ARN
        assert "eksauth: token served from the cache\n" in second.stderr
        assert world.calls == {"GetCallerIdentity:presigned": 2}

    def test_assumed_role_session_templates(
        self,
        eksauth: Run,
        sts_server: StsServer,
        assume: Callable[[str, str], None],
        tmp_path: Path,
    ) -> None:
        assume("team/Admin", "alice@example.com")
        aws_auth = _write(
            tmp_path,
            "mapRoles: |\n"
            f"  - rolearn: arn:aws:iam::{ACCOUNT}:role/team/Admin\n"
            "    username: with-path\n"
            f"  - rolearn: arn:aws:iam::{ACCOUNT}:role/admin\n"
            "    username: 'admin:{{SessionName}}'\n"
            "    groups: ['raw:{{SessionNameRaw}}']\n",
        )
        result = self._whoami(eksauth, sts_server, "--aws-auth", aws_auth, "--json")
        assert result.exit_code == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice@example.com"
        assert answer["canonical_arn"] == f"arn:aws:iam::{ACCOUNT}:role/Admin"
        assert answer["session_name"] == "alice@example.com"
        assert answer["user_id"].startswith("AROA")
        assert (answer["username"], answer["groups"], answer["mapped_by"]) == (
            "admin:alice-example.com",
            ["raw:alice@example.com"],
            "aws-auth:mapRoles[1]",
        )
        assert result.stderr == ""

    def test_role_path_in_aws_auth_does_not_match(
        self,
        eksauth: Run,
        sts_server: StsServer,
        assume: Callable[[str, str], None],
        tmp_path: Path,
    ) -> None:
        assume("team/Admin", "alice")
        aws_auth = _write(
            tmp_path, f"mapRoles: |\n  - rolearn: arn:aws:iam::{ACCOUNT}:role/team/Admin\n"
        )
        result = self._whoami(eksauth, sts_server, "--aws-auth", aws_auth)
        assert result.exit_code == 1
        assert result.stderr.splitlines()[0] == (
            f"eksauth: warning: mapRoles[0] names arn:aws:iam::{ACCOUNT}:role/team/Admin with a "
            f"path; EKS compares role ARNs without their path, so write "
            f"arn:aws:iam::{ACCOUNT}:role/Admin"
        )
        assert "is not mapped by aws-auth" in result.stderr.splitlines()[1]

    def test_ec2_private_dns_name_from_describe_instances(
        self,
        eksauth: Run,
        sts_server: StsServer,
        assume: Callable[[str, str], None],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        ec2: tuple[str, str, str],
    ) -> None:
        endpoint, instance_id, dns_name = ec2
        assume("NodeRole", instance_id)
        monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", endpoint)
        aws_auth = _write(tmp_path, NODE_AWS_AUTH)
        result = self._whoami(eksauth, sts_server, "--aws-auth", aws_auth, "--json")
        assert (result.exit_code, result.stderr) == (0, "")
        answer = json.loads(result.stdout)
        assert answer["username"] == f"system:node:{dns_name}"
        assert answer["groups"] == ["system:bootstrappers", "system:nodes"]

    def test_ec2_private_dns_name_unresolved_says_why(
        self,
        eksauth: Run,
        sts_server: StsServer,
        assume: Callable[[str, str], None],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        assume("NodeRole", "i-0123456789abcdef0")
        bearer = eksauth(
            "token", "-c", "demo", "--region", "eu-west-1", "--sts-url", sts_server.url,
            "--output", "token",
        ).stdout.strip()  # fmt: skip
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)  # the token still verifies, but EC2 cannot be asked
        aws_auth = _write(tmp_path, NODE_AWS_AUTH)
        result = eksauth(
            "verify", bearer, "-c", "demo", "--sts-url", sts_server.url, "--aws-auth", aws_auth
        )
        assert result.exit_code == 0
        assert "username:      system:node:{{EC2PrivateDNSName}}" in result.stdout
        assert result.stderr == (
            "eksauth: warning: {{EC2PrivateDNSName}} left unresolved: no AWS credentials to "
            "call ec2:DescribeInstances (set AWS_PROFILE, or configure credentials with "
            "`aws configure`)\n"
        )

    def test_ec2_template_with_a_user_session_is_refused(
        self,
        eksauth: Run,
        sts_server: StsServer,
        assume: Callable[[str, str], None],
        tmp_path: Path,
    ) -> None:
        assume("NodeRole", "mallory")
        aws_auth = _write(tmp_path, NODE_AWS_AUTH)
        result = self._whoami(eksauth, sts_server, "--aws-auth", aws_auth)
        assert result.exit_code == 1
        assert result.stderr == (
            "eksauth: error: mapRoles[0] maps to {{EC2PrivateDNSName}}, but the session name "
            "'mallory' is not an EC2 instance id, so EKS refuses the token\n"
        )


@pytest.fixture
def ec2() -> Iterator[tuple[str, str, str]]:
    """A moto EC2 on loopback with one instance: (endpoint, instance id, private DNS name)."""
    moto_server = pytest.importorskip("moto.server")
    import boto3

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client(
            "ec2",
            region_name="eu-west-1",
            endpoint_url=endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        [instance] = client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)[
            "Instances"
        ]
        yield endpoint, instance["InstanceId"], instance["PrivateDnsName"]
    finally:
        server.stop()


class _Redirector:
    """A loopback server that answers every request with a 302 to `location`."""

    def __init__(self, location: str) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> _Redirector:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
