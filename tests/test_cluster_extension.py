"""`provideClusterInfo`: `eksauth token` without --cluster-name reads the cluster's exec extension.

The extension parser is pure (a table of KUBERNETES_EXEC_INFO documents); the precedence table
and every bad value run through the real entry point, and each token is replayed to the STS
stand-in, which checks the signature and the x-k8s-aws-id it covers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from eksauth.execcred import ExtensionError, read_cluster_extension
from eksauth.token import bearer
from tests.conftest import ACCESS_KEY, FROZEN, OTHER_ACCESS_KEY, OTHER_SECRET_KEY, SECRET_KEY
from tests.hitprobe import run_hit

SERVER = "https://prod.example"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


def exec_info(config: object = None, *, cluster: bool = True) -> str:
    """KUBERNETES_EXEC_INFO as kubectl sends it with provideClusterInfo: true."""
    spec: dict[str, object] = {"interactive": False}
    if cluster:
        spec["cluster"] = {"server": SERVER, "certificate-authority-data": "Q0E="}
        if config is not None:
            spec["cluster"]["config"] = config  # type: ignore[index]
    return json.dumps({"kind": "ExecCredential", "apiVersion": V1BETA1, "spec": spec})


class TestParse:
    @pytest.mark.parametrize(
        ("raw", "values", "unknown"),
        [
            pytest.param(None, None, None, id="unset"),
            pytest.param("{broken", None, None, id="not-json"),
            pytest.param(exec_info(cluster=False), None, None, id="no-cluster"),
            pytest.param(exec_info(None), None, None, id="no-extension"),
            pytest.param(exec_info({}), {}, [], id="empty-extension"),
            pytest.param(
                exec_info({"clusterName": "prod", "region": "eu-west-1"}),
                {"cluster_name": "prod", "region": "eu-west-1"},
                [],
                id="name-region",
            ),
            pytest.param(
                exec_info(
                    {
                        "clusterId": "a1b2",
                        "profile": "ops",
                        "roleArn": "arn:aws:iam::111122223333:role/R",
                        "roleSessionName": "me",
                        "zeta": 1,
                        "alpha": {"x": 1},
                    }
                ),
                {
                    "cluster_id": "a1b2",
                    "profile": "ops",
                    "role_arn": "arn:aws:iam::111122223333:role/R",
                    "session_name": "me",
                },
                ["alpha", "zeta"],
                id="every-key-and-unknown-ones",
            ),
        ],
    )
    def test_rows(self, raw, values, unknown) -> None:
        env = {} if raw is None else {"KUBERNETES_EXEC_INFO": raw}
        found = read_cluster_extension(env)
        if values is None:
            assert found is None
            return
        assert found is not None
        assert (found.values, found.unknown, found.server) == (values, unknown, SERVER)

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            (["prod"], "is not a mapping"),
            ("prod", "is not a mapping"),
            ({"clusterName": 7}, "clusterName is a number, not a string,"),
            ({"clusterName": True}, "clusterName is a boolean, not a string,"),
            ({"region": ["eu-west-1"]}, "region is a list, not a string,"),
            ({"roleArn": None}, "roleArn is a null, not a string,"),
            ({"profile": " "}, "profile is empty"),
            ({"clusterName": "a", "clusterId": "b"}, "clusterName and clusterId exclude"),
        ],
    )
    def test_bad_types(self, config, message) -> None:
        with pytest.raises(ExtensionError) as raised:
            read_cluster_extension({"KUBERNETES_EXEC_INFO": exec_info(config)})
        assert message in raised.value.one_line()
        assert "client.authentication.k8s.io/exec" in raised.value.one_line()


def signed(stdout: str) -> tuple[str, str, str]:
    """(access key, signing region, host) of the token printed."""
    url = urlsplit(bearer.decode(json.loads(stdout)["status"]["token"]))
    key, _, region, *_ = parse_qs(url.query)["X-Amz-Credential"][0].split("/")
    return key, region, str(url.hostname)


@pytest.fixture
def profiles(aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Profile `ext` and `flag` with the other keys; the default (and `env`) with the usual."""
    (aws_env / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        f"[env]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        f"[ext]\naws_access_key_id = {OTHER_ACCESS_KEY}\n"
        f"aws_secret_access_key = {OTHER_SECRET_KEY}\n"
        f"[flag]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )


@pytest.mark.usefixtures("profiles")
class TestPrecedence:
    """The command line wins over the extension, which wins over the environment."""

    @pytest.mark.parametrize(
        ("extension", "flags", "env", "expected"),
        [
            pytest.param({}, [], {"AWS_REGION": "us-west-2"}, ("us-west-2", ACCESS_KEY), id="env"),
            pytest.param(
                {"region": "eu-west-1", "profile": "ext"},
                [],
                {"AWS_REGION": "us-west-2", "AWS_PROFILE": "env"},
                ("eu-west-1", OTHER_ACCESS_KEY),
                id="extension-over-env",
            ),
            pytest.param(
                {"region": "eu-west-1", "profile": "ext"},
                ["--region", "ap-south-1", "--profile", "flag"],
                {"AWS_REGION": "us-west-2", "AWS_PROFILE": "env"},
                ("ap-south-1", ACCESS_KEY),
                id="flags-over-extension",
            ),
            pytest.param(
                {"region": "eu-west-1", "profile": "ext"},
                ["--region", "ap-south-1"],
                {},
                ("ap-south-1", OTHER_ACCESS_KEY),
                id="each-value-on-its-own",
            ),
            pytest.param(
                {"region": "eu-west-1"},
                ["--region", "ap-south-1", "eks", "get-token"],
                {},
                ("ap-south-1", ACCESS_KEY),
                id="aws-global-region",
            ),
        ],
    )
    def test_table(
        self, eksauth, monkeypatch, sts_checker, extension, flags, env, expected
    ) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", exec_info({"clusterName": "prod", **extension}))
        argv = flags if "eks" in flags else ["token", *flags]
        result = eksauth(*argv)
        assert result.exit_code == 0, result.stderr
        key, region, host = signed(result.stdout)
        assert (region, key) == expected
        assert host == f"sts.{region}.amazonaws.com"
        assert sts_checker(json.loads(result.stdout)["status"]["token"], "prod").endswith(
            ":user/test-user"
        )

    def test_cluster_flag_ignores_the_extension(self, eksauth, monkeypatch, sts_checker) -> None:
        config = {"clusterName": "prod", "region": "eu-west-1", "roleArn": "bad", "x": 1}
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", exec_info(config))
        result = eksauth("token", "--cluster-name", "other", "--region", "us-east-2", "-v")
        assert result.exit_code == 0, result.stderr
        assert signed(result.stdout)[1] == "us-east-2"
        assert sts_checker(json.loads(result.stdout)["status"]["token"], "other").endswith(
            ":user/test-user"
        )
        assert "extension" not in result.stderr

    def test_verbose_says_where_each_value_came_from(self, eksauth, monkeypatch) -> None:
        role = "arn:aws:iam::111122223333:role/Admin"
        config = {"clusterId": "a1b2", "region": "eu-west-1", "roleArn": role, "zz": 1, "aa": 2}
        config["roleSessionName"] = "from-ext"
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", exec_info(config))
        monkeypatch.setenv("EKSAUTH_STS_URL", "http://127.0.0.1:9")  # never reached
        result = eksauth("token", "--region", "us-east-2", "--session-name", "cli", "-v")
        notes = [line for line in result.stderr.splitlines() if " (from " in line]
        assert notes == [
            "eksauth: cluster id: a1b2 (from the kubeconfig extension)",
            "eksauth: region: us-east-2 (from --region on the command line)",
            f"eksauth: role arn: {role} (from the kubeconfig extension)",
            "eksauth: session name: cli (from --role-session-name on the command line)",
        ]
        assert "eksauth: profile: none given; AWS_PROFILE or the default profile decides" in (
            result.stderr.splitlines()
        )
        assert (
            "eksauth: ignoring keys of the kubeconfig extension eksauth does not read: aa, zz"
            in result.stderr.splitlines()
        )


@pytest.mark.usefixtures("static_keys")
class TestBadValues:
    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ({"clusterName": 3}, "clusterName is a number, not a string,"),
            ({"clusterName": ""}, "clusterName is empty"),
            ({"clusterName": "a b"}, "clusterName 'a b' contains whitespace"),
            ({"clusterId": "a\tb"}, "clusterId 'a\\tb' contains whitespace"),
            ({"clusterName": "p", "roleArn": "arn:aws:iam::1:user/x"}, "roleArn 'arn:aws:iam"),
            ({"clusterName": "p", "roleArn": {"a": 1}}, "roleArn is a mapping"),
            (
                {
                    "clusterName": "p",
                    "roleArn": "arn:aws:iam::111122223333:role/R",
                    "roleSessionName": "x",
                },
                "roleSessionName 'x' is not a valid session name",
            ),
            ({"clusterName": "p", "roleSessionName": "me"}, "roleSessionName is set without"),
            ({"clusterName": "p", "region": "Not A Region"}, "region 'Not A Region' is not a"),
            ({"clusterName": "p", "profile": 1.5}, "profile is a number"),
            ({"clusterName": "p", "clusterId": "q"}, "clusterName and clusterId exclude"),
            ("just-a-string", "is not a mapping"),
        ],
    )
    def test_one_line_naming_the_extension(self, eksauth, monkeypatch, config, message) -> None:
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", exec_info(config))
        result = eksauth("token")
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("eksauth: error: ")
        assert message in result.stderr
        assert "kubeconfig extension client.authentication.k8s.io/exec" in result.stderr

    @pytest.mark.parametrize(
        "raw",
        [None, exec_info(cluster=False), exec_info(None), exec_info({"region": "eu-west-1"})],
        ids=["no-exec-info", "no-provideClusterInfo", "no-extension", "no-cluster-key"],
    )
    def test_no_cluster_at_all_is_a_usage_error(self, eksauth, monkeypatch, raw) -> None:
        if raw is not None:
            monkeypatch.setenv("KUBERNETES_EXEC_INFO", raw)
        result = eksauth("token")
        assert result.exit_code == 2
        assert "pass --cluster-name, or set provideClusterInfo: true" in result.stderr
        assert result.stderr.count("\n") == 1


@pytest.mark.usefixtures("static_keys")
class TestCache:
    def test_two_clusters_two_tokens_each_hit_on_the_fast_path(self, eksauth, monkeypatch):
        tokens = {}
        for name, region in (("prod", "eu-west-1"), ("dev", "us-east-2")):
            info = exec_info({"clusterName": name, "region": region})
            monkeypatch.setenv("KUBERNETES_EXEC_INFO", info)
            first = eksauth("token")
            assert first.exit_code == 0, first.stderr
            again = eksauth("token", "-v", now=FROZEN + 60)
            assert again.stdout == first.stdout
            # Only the fast path says "expires": the hit never reached the CLI.
            assert again.stderr.endswith(
                "token served from the cache, expires 2026-11-23T10:14:00Z\n"
            )
            tokens[name] = json.loads(first.stdout)["status"]["token"]
        assert tokens["prod"] != tokens["dev"]

    def test_same_key_as_the_flags(self, eksauth, monkeypatch) -> None:
        """The extension names the same request as the flags would: the flag run is a hit."""
        monkeypatch.setenv("KUBERNETES_EXEC_INFO", exec_info({"clusterName": "prod"}))
        first = eksauth("token", "--region", "eu-west-1")
        assert first.exit_code == 0, first.stderr
        again = eksauth("token", "--cluster-name", "prod", "--region", "eu-west-1", "-v")
        assert (again.exit_code, again.stdout) == (0, first.stdout)
        served = "eksauth: token served from the cache, expires 2026-11-23T10:14:00Z\n"
        assert again.stderr == served  # the fast path's line: the flag run was a hit

    def test_a_hit_via_the_extension_loads_only_the_hit_unit(self, tmp_path: Path) -> None:
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            KUBERNETES_EXEC_INFO=exec_info({"clusterName": "prod", "region": "eu-west-1"}),
        )
        miss = subprocess.run(
            [sys.executable, "-m", "eksauth", "token"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert miss.returncode == 0, miss.stderr
        hit = run_hit(["token"], env, tmp_path)
        assert (hit.stdout, hit.stderr) == (miss.stdout, "")
