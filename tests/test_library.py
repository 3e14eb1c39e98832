"""The library API: `eksauth.get_token` and `eksauth.Token`, with the CLI's cache.

Tokens are replayed to the STS stand-in, as EKS does; nothing here mocks eksauth.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timezone
from pathlib import Path

import pytest

import eksauth
from tests.conftest import cache_dir


@pytest.mark.usefixtures("static_keys")
class TestGetToken:
    def test_a_token_sts_accepts_with_an_aware_utc_expiration(self, sts_checker) -> None:
        before = time.time()
        token = eksauth.get_token("demo", region="eu-west-1")
        assert isinstance(token, eksauth.Token)
        assert token.token.startswith("k8s-aws-v1.")
        assert sts_checker(token.token, "demo").endswith(":user/test-user")
        assert token.expiration.tzinfo is timezone.utc  # the stdlib's UTC, not a lookalike
        left = token.expiration.timestamp() - before
        assert 13 * 60 <= left <= 15 * 60

    def test_the_cache_is_shared_with_the_cli(self, eksauth, tmp_path: Path) -> None:
        from eksauth import get_token

        first = get_token("demo", region="eu-west-1")
        assert len(list(cache_dir(tmp_path).glob("token-*.json"))) == 1
        time.sleep(1.1)  # a token signed now would carry another X-Amz-Date
        assert get_token("demo", region="eu-west-1") == first
        cli = eksauth(
            "token",
            "--cluster-name",
            "demo",
            "--region",
            "eu-west-1",
            "--output",
            "token",
            now=time.time(),
        )
        assert cli.stdout == first.token + "\n"

    def test_without_the_cache_nothing_is_stored(self, tmp_path: Path) -> None:
        token = eksauth.get_token("demo", region="eu-west-1", cache=False)
        assert token.token.startswith("k8s-aws-v1.")
        assert not list(cache_dir(tmp_path).glob("token-*.json"))

    def test_eksauth_sts_url_signs_for_that_host_as_the_cli_does(self, eksauth, monkeypatch):
        monkeypatch.setenv("EKSAUTH_STS_URL", "http://127.0.0.1:9")
        from eksauth import get_token

        ours = get_token("demo", region="eu-west-1")
        assert ours.token.startswith("k8s-aws-v1.aHR0cDovLzEyNy4wLjAuMTo5L")  # http://127.0.0.1:9/
        cli = eksauth(
            "token", "-c", "demo", "--region", "eu-west-1", "--output", "token", now=time.time()
        )
        assert cli.stdout.strip() == ours.token  # one token, one cache entry

    def test_cluster_id(self, sts_checker) -> None:
        token = eksauth.get_token(cluster_id="a1b2-c3d4", region="eu-west-1")
        assert sts_checker(token.token, "a1b2-c3d4").endswith(":user/test-user")

    def test_the_token_stays_out_of_repr(self) -> None:
        token = eksauth.get_token("demo", region="eu-west-1")
        assert token.token not in repr(token)


class TestErrors:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({}, "give exactly one of --cluster-name or --cluster-id"),
            ({"cluster_name": "demo", "role_session_name": "s1"}, "need --role-arn"),
            ({"cluster_name": "demo", "role_arn": "nope"}, "--role-arn"),
        ],
    )
    def test_bad_arguments(self, kwargs, message) -> None:
        with pytest.raises(eksauth.UsageError, match=message):
            eksauth.get_token(**kwargs)

    def test_no_credentials(self) -> None:
        with pytest.raises(eksauth.CredentialsError) as caught:
            eksauth.get_token("demo", region="eu-west-1")
        assert caught.value.hint
        assert isinstance(caught.value, eksauth.EksAuthError)

    def test_an_unknown_name(self) -> None:
        with pytest.raises(AttributeError, match="no attribute 'nope'"):
            _ = eksauth.nope  # type: ignore[attr-defined]


def test_the_public_names() -> None:
    assert set(eksauth.__all__) == {
        "get_token",
        "Token",
        "EksAuthError",
        "UsageError",
        "CredentialsError",
        "AwsError",
        "StsError",
    }
    assert set(eksauth.__all__) <= set(dir(eksauth))


def test_import_eksauth_imports_nothing_else() -> None:
    probe = (
        "import sys; before = set(sys.modules); import eksauth;"
        "print(sorted(set(sys.modules) - before))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['eksauth']"


def test_py_typed_is_shipped() -> None:
    assert (Path(eksauth.__file__).parent / "py.typed").is_file()
