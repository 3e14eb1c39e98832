"""One rule per concept, as users see it: bounded AWS calls, the profile and region rules, the
cache options on every cache command, and `-v` naming the host actually signed."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config

from eksauth.aws import boundary
from eksauth.errors import AwsError
from tests.conftest import ACCESS_KEY, SECRET_KEY, run_tool


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback endpoint that accepts connections and never answers (stops itself)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for connection in accepted:
            connection.close()
        listener.close()


@pytest.mark.e2e
def test_update_kubeconfig_against_a_silent_eks_fails_in_seconds_with_one_line(
    silent_endpoint: str, keys_env: dict[str, str], aws_env: Path
) -> None:
    """The real bounds, end to end: API_CONFIG's 3 attempts of a 5 s read, about 20 s. The one
    test that waits them out; the other silent-endpoint tests cut them to run in a second."""
    started = time.monotonic()
    result = run_tool(
        "eksauth",
        *("update-kubeconfig", "--name", "demo", "--region", "eu-west-1"),
        env={**keys_env, "AWS_ENDPOINT_URL_EKS": silent_endpoint},
    )
    elapsed = time.monotonic() - started
    assert boundary.READ_TIMEOUT_SECONDS * 3 <= elapsed < 30  # every attempt waited, none for ever
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "eksauth: error: could not reach EKS for eks:DescribeCluster: Read timeout on endpoint "
        f'URL: "{silent_endpoint}/clusters/demo" (check the network, proxy settings and '
        "AWS_ENDPOINT_URL_EKS)\n"
    )
    assert not (aws_env / ".kube" / "config").exists()


def test_a_role_profile_against_a_silent_sts_fails_within_the_sessions_bounds(
    silent_endpoint: str, aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's own assume-role provider makes this AssumeRole, with the bounds eksauth gives
    the session: API_CONFIG, its timeouts cut here to a fifth of a second (the test above waits
    out the real ones; botocore's own defaults would take minutes)."""
    (aws_env / ".aws" / "credentials").write_text(
        f"[src]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (aws_env / ".aws" / "config").write_text(
        "[profile role]\nrole_arn = arn:aws:iam::111122223333:role/R\nsource_profile = src\n"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", silent_endpoint)
    made = boundary.session("role", interactive=False, region_name="eu-west-1")
    assert (
        made.get_default_client_config() is boundary.API_CONFIG
    )  # what every provider's client gets
    # The same retries, with timeouts of a fifth of a second.
    made.set_default_client_config(
        boundary.API_CONFIG.merge(Config(connect_timeout=0.2, read_timeout=0.2))
    )
    started = time.monotonic()
    with pytest.raises(AwsError) as raised, boundary.errors("role"):
        boundary.source_credentials(made)
    assert time.monotonic() - started < 8  # 3 attempts of 0.2 s and botocore's backoff
    assert (
        str(raised.value)
        == f'could not reach STS: Read timeout on endpoint URL: "{silent_endpoint}/"'
    )
    assert raised.value.hint == "check the network, proxy settings and AWS_ENDPOINT_URL_STS"


class TestProfileRule:
    """--profile, else AWS_DEFAULT_PROFILE, then AWS_PROFILE: botocore's own order."""

    @pytest.fixture(autouse=True)
    def profiles(self, aws_env: Path) -> None:
        (aws_env / ".aws" / "credentials").write_text(
            f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
            f"[other]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )

    def test_cache_list_names_the_profile_from_aws_default_profile(
        self, eksauth, monkeypatch
    ) -> None:
        monkeypatch.setenv("AWS_DEFAULT_PROFILE", "dev")
        assert eksauth("token", "-c", "demo", "--region", "eu-west-1").exit_code == 0
        rows = json.loads(eksauth("cache", "list", "--json").stdout)
        assert [row["profile"] for row in rows] == ["dev"]

    def test_aws_default_profile_wins_over_aws_profile_as_in_botocore(
        self, eksauth, monkeypatch
    ) -> None:
        monkeypatch.setenv("AWS_DEFAULT_PROFILE", "dev")
        monkeypatch.setenv("AWS_PROFILE", "other")
        assert eksauth("token", "-c", "demo", "--region", "eu-west-1").exit_code == 0
        rows = json.loads(eksauth("cache", "list", "--json").stdout)
        assert [row["profile"] for row in rows] == ["dev"]

    def test_update_kubeconfig_writes_the_profile_from_aws_default_profile(
        self, eksauth, monkeypatch, tmp_path
    ) -> None:
        monkeypatch.setenv("AWS_DEFAULT_PROFILE", "dev")
        config = tmp_path / "config"
        result = eksauth(
            "update-kubeconfig", "--name", "demo", "--region", "eu-west-1",
            "--endpoint", "https://example.invalid", "--ca-data", _CA, "--kubeconfig", str(config),
            "--dry-run",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert "- name: AWS_PROFILE\n        value: dev\n" in result.stdout


# A self-signed PEM's shape is all the offline update checks.
_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="


class TestCacheOptionsOnEveryCacheCommand:
    @pytest.fixture(autouse=True)
    def keys(self, static_keys: None) -> None:
        pass

    def test_after_the_subcommand(self, eksauth, tmp_path) -> None:
        folder = tmp_path / "elsewhere"
        assert eksauth("token", "-c", "demo", "--cache-dir", str(folder)).exit_code == 0
        assert eksauth("cache", "path", "--cache-dir", str(folder)).stdout == f"{folder}\n"
        rows = json.loads(eksauth("cache", "list", "--cache-dir", str(folder), "--json").stdout)
        assert [row["cluster"] for row in rows] == ["demo"]
        cleared = eksauth("cache", "clear", "--cache-dir", str(folder))
        assert cleared.stderr == "removed 1 cache entry\n"

    def test_before_the_subcommand_still_works(self, eksauth, tmp_path) -> None:
        folder = tmp_path / "elsewhere"
        assert eksauth("token", "-c", "demo", "--cache-dir", str(folder)).exit_code == 0
        rows = json.loads(eksauth("cache", "--cache-dir", str(folder), "list", "--json").stdout)
        assert [row["cluster"] for row in rows] == ["demo"]

    def test_the_subcommand_wins_over_the_group_and_the_environment(
        self, eksauth, tmp_path, monkeypatch
    ) -> None:
        monkeypatch.setenv("EKSAUTH_CACHE_DIR", str(tmp_path / "env"))
        shown = eksauth("cache", "--cache-dir", str(tmp_path / "g"), "path", "--cache-dir", "/x")
        assert shown.stdout == f"{os.path.abspath('/x')}\n"  # C:\\x on Windows
        assert eksauth("cache", "--cache-dir", str(tmp_path / "g"), "path").stdout == (
            f"{tmp_path / 'g'}\n"
        )
        assert eksauth("cache", "path").stdout == f"{tmp_path / 'env'}\n"


def test_verbose_names_the_host_actually_signed(eksauth, static_keys) -> None:
    result = eksauth(
        "token", "-c", "demo", "--region", "eu-west-1", "--sts-url", "http://127.0.0.1:8080",
        "--no-cache", "-v",
    )  # fmt: skip
    assert result.exit_code == 0
    assert "eksauth: signed for 127.0.0.1:8080 (eu-west-1) at " in result.stderr
    assert "sts.eu-west-1.amazonaws.com" not in result.stderr
