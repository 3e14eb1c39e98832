"""migrate-kubeconfig where a peer's behaviour decides: region-less aws-iam-authenticator users
and v1 execs without interactiveMode.

aws-iam-authenticator's `token` (pkg/token/token.go GetWithOptions) signs for --region, else
the SDK's configured region (AWS_REGION...), else the EC2 instance's, else us-east-1's regional
STS; eksauth with no region signs the global host, which EKS outside the aws partition refuses.
Such users are left, with the --region to add. kubectl refuses a client.authentication.k8s.io/v1
exec without interactiveMode (tests/test_kubeconfig_e2e.py runs the real one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eksauth.kubeconfig import migrate as kc_migrate

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
SERVER = "https://0123456789ABCDEF.gr7.us-gov-west-1.eks.amazonaws.com"


def kubeconfig(exec_: dict[str, Any], server: str = SERVER) -> dict[str, Any]:
    """aws-cli's testdata layout (valid_existing), with `exec_` as the user's exec."""
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"server": server}, "name": "gov"}],
        "contexts": [{"context": {"cluster": "gov", "user": "ops"}, "name": "gov"}],
        "current-context": "gov",
        "kind": "Config",
        "preferences": {},
        "users": [{"name": "ops", "user": {"exec": exec_}}],
    }


def authenticator(*args: str, env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    exec_: dict[str, Any] = {
        "apiVersion": V1BETA1,
        "command": "aws-iam-authenticator",
        "args": ["token", "-i", "gov", *args],
    }
    if env is not None:
        exec_["env"] = env
    return exec_


NO_REGION = (
    "user ops: it names no region (aws-iam-authenticator then uses the instance's, else "
    "us-east-1's regional STS; eksauth would use the global one): add `--region {}` to its "
    "args and run this again"
)


class TestRegionlessAuthenticator:
    def test_left_with_the_region_of_its_cluster_endpoint(self) -> None:
        content = kubeconfig(authenticator())
        migration = kc_migrate.migrate(content)
        assert migration.skipped == [NO_REGION.format("us-gov-west-1")]
        assert (migration.changed, migration.content) == ([], content)

    @pytest.mark.parametrize(
        "server",
        ["https://127.0.0.1:6443", "https://[::1", "", "https://x.eks.amazonaws.com"],
        ids=["not-eks", "not-a-url", "empty", "no-region"],
    )
    def test_left_with_a_placeholder_when_no_endpoint_names_one(self, server: str) -> None:
        migration = kc_migrate.migrate(kubeconfig(authenticator(), server))
        assert migration.skipped == [NO_REGION.format("REGION")]

    def test_china_endpoints_name_their_region(self) -> None:
        server = "https://ABC.yl4.cn-north-1.eks.amazonaws.com.cn"
        migration = kc_migrate.migrate(kubeconfig(authenticator(), server))
        assert migration.skipped == [NO_REGION.format("cn-north-1")]

    @pytest.mark.parametrize(
        ("args", "env"),
        [
            (["--region", "us-gov-west-1"], None),
            ([], [{"name": "AWS_REGION", "value": "us-gov-west-1"}]),
            ([], [{"name": "AWS_DEFAULT_REGION", "value": "us-gov-west-1"}]),
        ],
        ids=["flag", "AWS_REGION", "AWS_DEFAULT_REGION"],
    )
    def test_a_region_in_the_entry_migrates(self, args: list[str], env: Any) -> None:
        migration = kc_migrate.migrate(kubeconfig(authenticator(*args, env=env)))
        assert migration.skipped == []
        exec_ = migration.content["users"][0]["user"]["exec"]
        expected = ["token", "--cluster-name", "gov"]
        assert exec_["args"] == expected + (["--region", "us-gov-west-1"] if args else [])

    def test_the_cli_warns_in_one_line_and_writes_nothing(self, eksauth, tmp_path: Path) -> None:
        config = tmp_path / "config"
        config.write_text(yaml.safe_dump(kubeconfig(authenticator())))
        before = config.read_text()
        result = eksauth("migrate-kubeconfig", "--kubeconfig", str(config))
        assert result.exit_code == 0, result.stderr
        assert result.stderr == (
            f"eksauth: warning: left {NO_REGION.format('us-gov-west-1')}\n"
            f"nothing to migrate in {config}\n"
        )
        assert config.read_text() == before


class TestV1InteractiveMode:
    @pytest.mark.parametrize(
        ("command", "args"),
        [
            ("aws", "--region eu-west-1 eks get-token --cluster-name demo"),
            ("aws-iam-authenticator", "token -i demo --region eu-west-1"),
            ("eksauth", "token --cluster-name demo --region eu-west-1"),
        ],
    )
    def test_added_and_said(self, command: str, args: str) -> None:
        exec_ = {"apiVersion": V1, "command": command, "args": args.split()}
        note = str(kc_migrate.migrate_exec(exec_))
        assert note.endswith("interactiveMode: IfAvailable added (kubectl requires one with v1)")
        assert exec_["interactiveMode"] == "IfAvailable"
        assert kc_migrate.migrate_exec(exec_) is None  # idempotent

    @pytest.mark.parametrize(("api_version", "mode"), [(V1, "Never"), (V1BETA1, None)])
    def test_kept_when_set_or_not_needed(self, api_version: str, mode: str | None) -> None:
        exec_: dict[str, Any] = {"apiVersion": api_version, "command": "eksauth"}
        exec_["args"] = ["token", "--cluster-name", "demo"]
        if mode:
            exec_["interactiveMode"] = mode
        assert kc_migrate.migrate_exec(exec_) is None
        assert exec_.get("interactiveMode") == mode

    def test_other_plugins_are_not_touched(self) -> None:
        exec_ = {"apiVersion": V1, "command": "kubelogin", "args": ["get-token"]}
        assert kc_migrate.migrate_exec(exec_) is None
        assert "interactiveMode" not in exec_
