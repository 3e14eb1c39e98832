"""A hostile world, round 2 (issue 19): the sign-in listener, the SSO cache, aws-cli's folder.

Each test would have caught the defect it names. Two-user cases run as root with a throwaway
user (the `stranger` fixture of test_hostile.py).
"""

from __future__ import annotations

import os
import subprocess

import pytest

import eksauth as library
from tests.conftest import ACCESS_KEY, SECRET_KEY, tool

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

    def test_a_non_utf8_byte_in_exec_info_is_one_line(self) -> None:
        env = {**_keys_env(), b"KUBERNETES_EXEC_INFO": EXEC_INFO_WITH_FF}
        done = subprocess.run(
            [tool("eksauth").encode(), b"token"],
            check=False,
            env=env,
            capture_output=True,
            timeout=30,
        )
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
