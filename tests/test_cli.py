"""The token command line: every option, the aws-cli drop-in argv, and every error path.

Runs the real entry point in-process (fast path, then click) at a pinned instant; every token
produced is replayed to the loopback STS stand-in, which checks the signature itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eksauth import __version__
from eksauth.token import bearer
from tests.conftest import FROZEN, SECRET_KEY, run_tool

REGION = ("--region", "eu-west-1")
# Pinned: AWS's example keys, cluster "demo", eu-west-1, 2026-11-23T10:00:00Z. If this changes,
# every token we have ever issued would have been different: find out why before updating it.
GOLDEN_URL = (
    "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261123%2F"
    "eu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261123T100000Z&X-Amz-Expires=60"
    "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature="
    "eae00d57a6f735559697dbf1a39d8b12b7edb2dcc0d9bac3d754ec1160f045ce"
)
GOLDEN = (
    "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0"
    "eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlh"
    "bD1BS0lBSU9TRk9ETk43RVhBTVBMRSUyRjIwMjYxMTIzJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0Jlgt"
    "QW16LURhdGU9MjAyNjExMjNUMTAwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUz"
    "QngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9ZWFlMDBkNTdhNmY3MzU1NTk2OTdkYmYxYTM5ZDhiMTJiN2VkYjJk"
    "Y2MwZDliYWMzZDc1NGVjMTE2MGYwNDVjZQ"
)


def url_of(stdout: str) -> str:
    text = stdout.strip()
    if text.startswith("{"):
        text = json.loads(text)["status"]["token"]
    return bearer.decode(text)


@pytest.mark.usefixtures("static_keys")
class TestToken:
    def test_golden_token(self, eksauth, sts_checker) -> None:
        result = eksauth("token", "--cluster-name", "demo", *REGION, "--output", "token")
        assert result.exit_code == 0
        assert result.stderr == ""
        assert result.stdout == GOLDEN + "\n"
        assert bearer.decode(GOLDEN) == GOLDEN_URL
        assert sts_checker(result.stdout, "demo").endswith(":user/test-user")

    def test_exec_credential(self, eksauth) -> None:
        result = eksauth("token", "-c", "demo", *REGION)
        credential = json.loads(result.stdout)
        assert credential == {
            "kind": "ExecCredential",
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "spec": {},
            "status": {"expirationTimestamp": "2026-11-23T10:14:00Z", "token": GOLDEN},
        }

    @pytest.mark.parametrize(
        "argv",
        [
            ["token", "--cluster-name", "demo", *REGION],
            ["get-token", "--cluster-name", "demo", *REGION],
            ["token", "--cluster-name=demo", "--region=eu-west-1"],
            [*REGION, "eks", "get-token", "--cluster-name", "demo"],
            ["--region", "eu-west-1", "--output", "json", "eks", "get-token", "-c", "demo"],
            ["eks", "--region", "eu-west-1", "get-token", "--cluster-name", "demo"],
            ["eks", "get-token", "--cluster-name", "demo", *REGION, "--output", "json"],
        ],
        ids=["token", "get-token", "equals", "aws-globals", "aws-output", "eks-opts", "after"],
    )
    def test_every_spelling_signs_the_same_and_hits_the_fast_path(self, eksauth, argv) -> None:
        first = eksauth(*argv)
        assert first.exit_code == 0, first.stderr
        assert json.loads(first.stdout)["status"]["token"] == GOLDEN
        # Only the fast path says "expires" here: it recognised this spelling and found the
        # entry the CLI stored, so both computed the same request and key.
        again = eksauth(*argv, "-v", now=FROZEN + 60)
        assert (
            again.stderr == "eksauth: token served from the cache, expires 2026-11-23T10:14:00Z\n"
        )

    @pytest.mark.parametrize("flag", [["--output", "token"], ["--token-only"]])
    def test_bare_token(self, eksauth, flag) -> None:
        result = eksauth("token", "-c", "demo", *REGION, *flag)
        assert result.stdout == GOLDEN + "\n"

    def test_cluster_id_is_the_header_value(self, eksauth, sts_checker) -> None:
        result = eksauth("token", "--cluster-id", "a1b2-c3d4", *REGION, "--token-only")
        assert sts_checker(result.stdout, "a1b2-c3d4").endswith(":user/test-user")

    def test_api_version_override(self, eksauth, monkeypatch) -> None:
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", "{broken")
        result = eksauth(
            "token", "-c", "demo", *REGION, "--api-version", "client.authentication.k8s.io/v1"
        )
        assert json.loads(result.stdout)["apiVersion"] == "client.authentication.k8s.io/v1"
        assert result.stderr == ""

    def test_verbose_never_prints_secrets(self, eksauth, monkeypatch) -> None:
        monkeypatch.setenv("AWS_SESSION_TOKEN", "SESSIONTOKENSECRET")
        result = eksauth("token", "-c", "demo", *REGION, "-v", "--no-cache")
        assert result.exit_code == 0
        assert result.stderr
        for secret in (SECRET_KEY, "SESSIONTOKENSECRET", "k8s-aws-v1", "X-Amz-Signature"):
            assert secret not in result.stderr

    def test_sts_url_names_the_signed_host(self, eksauth, sts_server, sts_checker) -> None:
        result = eksauth("token", "-c", "demo", "--sts-url", sts_server.url, "--token-only")
        assert url_of(result.stdout).startswith(sts_server.url + "/?Action=GetCallerIdentity")
        assert sts_checker(result.stdout, "demo").endswith(":user/test-user")

    def test_sts_url_from_the_environment(self, eksauth, monkeypatch, sts_server) -> None:
        monkeypatch.setenv("EKSAUTH_STS_URL", sts_server.url)
        result = eksauth("token", "-c", "demo", "--token-only")
        assert url_of(result.stdout).startswith(sts_server.url + "/?")

    def test_endpoint_url_sts_never_reaches_the_token(self, eksauth, monkeypatch) -> None:
        monkeypatch.setenv(
            "AWS_ENDPOINT_URL_STS", "https://vpce-0abc.sts.eu-west-1.vpce.amazonaws.com"
        )
        result = eksauth("token", "-c", "demo", *REGION, "--token-only")
        assert result.stdout == GOLDEN + "\n"

    @pytest.mark.parametrize(
        ("flag", "env", "profile", "host"),
        [
            ("eu-north-1", {"AWS_REGION": "ap-south-1"}, "sa-east-1", "sts.eu-north-1"),
            (
                None,
                {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "us-west-2"},
                None,
                "sts.ap-south-1",
            ),
            (None, {"AWS_DEFAULT_REGION": "us-west-2"}, "sa-east-1", "sts.us-west-2"),
            (None, {}, "sa-east-1", "sts.sa-east-1"),
        ],
        ids=["flag", "AWS_REGION", "AWS_DEFAULT_REGION", "profile"],
    )
    def test_region_order(self, eksauth, monkeypatch, aws_env, flag, env, profile, host) -> None:
        if profile:
            (aws_env / ".aws" / "config").write_text(f"[default]\nregion = {profile}\n")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        args = ["--region", flag] if flag else []
        url = url_of(eksauth("token", "-c", "demo", *args, "--token-only").stdout)
        assert url.startswith(f"https://{host}.amazonaws.com/?")

    def test_no_region_signs_the_global_endpoint(self, eksauth) -> None:
        url = url_of(eksauth("token", "-c", "demo", "--token-only").stdout)
        assert url.startswith("https://sts.amazonaws.com/?")
        assert "%2Fus-east-1%2Fsts%2F" in url


class TestErrors:
    """One line on stderr, exit 2 for usage and 1 for the rest, never a traceback."""

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["token", *REGION], "pass --cluster-name, or set provideClusterInfo: true"),
            (["token", "-c", "a", "-i", "b"], "give exactly one of --cluster-name or --cluster-id"),
            (["token", "-c", ""], "must not be empty"),
            (["token", "-c", "my cluster"], "whitespace or control characters"),
            (["token", "-c", "demo\x07"], "whitespace or control characters"),
            (["token", "-c", "x", "--role-arn", "arn:aws:iam::1:user/u"], "not an IAM role ARN"),
            (
                ["token", "-c", "x", "--role", "arn:aws:iam::111122223333:role/r", "-s", "é1"],
                "--role-session-name 'é1' is not valid",
            ),
            (["token", "-c", "x", "--role-session-name", "ab"], "the role options need --role-arn"),
            (
                [
                    "token",
                    "-c",
                    "x",
                    "-r",
                    "arn:aws:iam::111122223333:role/r",
                    "-s",
                    "ab",
                    "--forward-session-name",
                ],
                "exclude each other",
            ),
            (
                [
                    "token",
                    "-c",
                    "x",
                    "-r",
                    "arn:aws:iam::111122223333:role/r",
                    "--role-duration",
                    "899",
                ],
                "between 900 and 43200",
            ),
            (["token", "-c", "x", "--sts-url", "ftp://x"], "is not a base URL"),
            (["token", "-c", "x", "--region", "eu_west_1"], "invalid region name"),
            (["token", "-c", "x", "--output", "text"], "'text' is not one of"),
            (["token", "-c", "x", "--bogus"], "--bogus"),
            (["--debug", "eks", "get-token", "-c", "x"], "aws global option --debug"),
            (["eks", "get-token", "-c", "x", "--endpoint-url", "u"], "aws global option"),
            (["nope"], "No such command 'nope'"),
        ],
    )
    @pytest.mark.usefixtures("static_keys")
    def test_usage_errors_exit_2(self, eksauth, argv, message) -> None:
        result = eksauth(*argv)
        assert result.exit_code == 2
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: error: ")
        assert message in line

    def test_no_credentials(self, eksauth) -> None:
        result = eksauth("token", "-c", "demo", *REGION)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            "eksauth: error: no AWS credentials were found (set AWS_PROFILE, or configure "
            "credentials with `aws configure`)\n"
        )

    def test_unknown_profile(self, eksauth) -> None:
        result = eksauth("token", "-c", "demo", "--profile", "ghost")
        assert result.exit_code == 1
        assert result.stderr.startswith("eksauth: error: the AWS profile 'ghost' was not found")
        assert len(result.stderr.splitlines()) == 1

    def test_expired_sso_session(self, eksauth, aws_env: Path) -> None:
        (aws_env / ".aws" / "config").write_text(
            "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
            "sso_role_name = Dev\nregion = eu-west-1\n\n"
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
            "sso_region = eu-west-1\n"
        )
        result = eksauth("token", "-c", "demo", "--profile", "dev")
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()
        assert "run `eksauth sso login --profile dev`" in line

    def test_verbose_error_shows_the_cause_not_a_traceback(self, eksauth) -> None:
        result = eksauth("token", "-c", "demo", "-v")
        assert result.exit_code == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-2:] == [
            "eksauth: error: no AWS credentials were found (set AWS_PROFILE, or configure "
            "credentials with `aws configure`)",
            "eksauth: caused by: NoCredentialsError: Unable to locate credentials",
        ]


class TestMeta:
    def test_version(self, eksauth) -> None:
        assert eksauth("--version").stdout == f"eksauth, version {__version__}\n"

    @pytest.mark.parametrize("argv", [["--help"], ["token", "--help"], ["cache", "--help"]])
    def test_help(self, eksauth, argv) -> None:
        result = eksauth(*argv)
        assert result.exit_code == 0
        assert result.stdout.startswith("Usage: eksauth")

    def test_installed_script(self, aws_env: Path) -> None:
        done = run_tool("eksauth", "--version")
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == f"eksauth, version {__version__}\n"

    def test_installed_script_error(self) -> None:
        done = run_tool("eksauth", "token", "-c", "demo", "--region", "eu-west-1")
        assert done.returncode == 1
        assert done.stderr.startswith("eksauth: error: no AWS credentials")
        assert "Traceback" not in done.stderr
