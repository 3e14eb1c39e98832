"""`update-kubeconfig --all`: every cluster two profiles can list in three regions, against
moto on loopback (EKS in every region, EC2 DescribeRegions, STS for the role profile).

Profile `dev` holds static keys (moto's default account); profile `prod` assumes a role in
another account through moto's STS, so its EKS calls see that account's clusters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.standins.moto_eks import reset_moto

DEV = "123456789012"  # moto's default account
PROD = "222233334444"
PROD_ROLE = f"arn:aws:iam::{PROD}:role/admin"
MARK = "eksauth/update-kubeconfig-all"
REGIONS = ("--region", "eu-west-1", "--region", "us-east-1", "--region", "us-west-2")
ALL = ("update-kubeconfig", "--all", "--profile", "dev", "--profile", "prod", *REGIONS)


def arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:eks:{region}:{account}:cluster/{name}"


@pytest.fixture
def profiles(monkeypatch, aws_env, tmp_path) -> None:
    """Profiles dev (static keys) and prod (a role assumed from dev); KUBECONFIG in tmp_path."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kube" / "config"))
    (aws_env / ".aws" / "credentials").write_text(
        f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (aws_env / ".aws" / "config").write_text(
        "[profile dev]\nregion = eu-west-1\n"
        f"[profile prod]\nrole_arn = {PROD_ROLE}\nsource_profile = dev\nregion = eu-west-1\n"
    )


@pytest.fixture
def moto(moto_url, monkeypatch, profiles) -> Any:
    """moto for EKS, EC2 and STS. Returns `eks(region, account)`: a boto3 EKS client in that
    account, to create clusters with."""
    import boto3

    reset_moto(moto_url)
    for service in ("EKS", "EC2", "STS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", moto_url)
    keys = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=moto_url, **keys)
    role = sts.assume_role(RoleArn=PROD_ROLE, RoleSessionName="setup")["Credentials"]
    prod = {
        "aws_access_key_id": role["AccessKeyId"],
        "aws_secret_access_key": role["SecretAccessKey"],
        "aws_session_token": role["SessionToken"],
    }

    def eks(region: str, account: str = DEV) -> Any:
        creds = keys if account == DEV else prod
        return boto3.client("eks", region_name=region, endpoint_url=moto_url, **creds)

    return eks


def create(eks: Any, region: str, name: str, account: str = DEV) -> None:
    eks(region, account).create_cluster(
        name=name, roleArn=f"arn:aws:iam::{account}:role/eks", resourcesVpcConfig={}
    )


@pytest.fixture
def fleet(moto) -> Any:
    """dev: demo (eu-west-1), api (us-east-1); prod: demo (eu-west-1), web (us-west-2)."""
    create(moto, "eu-west-1", "demo")
    create(moto, "us-east-1", "api")
    create(moto, "eu-west-1", "demo", PROD)
    create(moto, "us-west-2", "web", PROD)
    return moto


def kubeconfig(tmp_path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((tmp_path / "kube" / "config").read_text()))


def extension(entry: dict[str, Any], kind: str, name: str) -> Any:
    found = [e["extension"] for e in entry[kind].get("extensions", []) if e["name"] == name]
    return found[0] if found else None


class TestUpdateAll:
    def test_three_regions_two_profiles(self, eksauth, fleet, tmp_path) -> None:
        result = eksauth(*ALL)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        written = kubeconfig(tmp_path)
        contexts = {c["name"]: c["context"] for c in written["contexts"]}
        # demo twice in eu-west-1: the region does not part them, the account does.
        assert contexts == {
            f"demo.eu-west-1.{DEV}": {
                "cluster": arn(DEV, "eu-west-1", "demo"),
                "user": "eksauth@dev",
                "extensions": [
                    {
                        "extension": {"cluster": "demo", "region": "eu-west-1", "profile": "dev"},
                        "name": MARK,
                    }
                ],
            },
            f"demo.eu-west-1.{PROD}": {
                "cluster": arn(PROD, "eu-west-1", "demo"),
                "user": "eksauth@prod",
                "extensions": [
                    {
                        "extension": {"cluster": "demo", "region": "eu-west-1", "profile": "prod"},
                        "name": MARK,
                    }
                ],
            },
            "api": {
                "cluster": arn(DEV, "us-east-1", "api"),
                "user": "eksauth@dev",
                "extensions": [
                    {
                        "extension": {"cluster": "api", "region": "us-east-1", "profile": "dev"},
                        "name": MARK,
                    }
                ],
            },
            "web": {
                "cluster": arn(PROD, "us-west-2", "web"),
                "user": "eksauth@prod",
                "extensions": [
                    {
                        "extension": {"cluster": "web", "region": "us-west-2", "profile": "prod"},
                        "name": MARK,
                    }
                ],
            },
        }
        clusters = {c["name"]: c["cluster"] for c in written["clusters"]}
        exec_ext = "client.authentication.k8s.io/exec"
        assert extension({"c": clusters[arn(PROD, "us-west-2", "web")]}, "c", exec_ext) == {
            "clusterName": "web",
            "region": "us-west-2",
            "profile": "prod",
        }
        users = {u["name"]: u["user"] for u in written["users"]}
        assert sorted(users) == ["eksauth@dev", "eksauth@prod"]
        assert users["eksauth@dev"]["exec"]["args"] == ["token"]
        assert users["eksauth@dev"]["exec"]["provideClusterInfo"] is True
        assert written["current-context"] == ""  # left as it was
        assert "4 clusters from 6 of 6 regions" in result.stderr
        assert "wrote" in result.stderr

    def test_a_second_run_is_byte_identical(self, eksauth, fleet, tmp_path) -> None:
        assert eksauth(*ALL).exit_code == 0
        path = tmp_path / "kube" / "config"
        before, stat = path.read_bytes(), path.stat()
        again = eksauth(*ALL)
        assert again.exit_code == 0, again.stderr
        assert path.read_bytes() == before
        assert path.stat().st_mtime_ns == stat.st_mtime_ns  # not even rewritten
        assert f"nothing to change in {path}" in again.stderr

    def test_prune_removes_exactly_the_deleted_clusters_entries(
        self, eksauth, fleet, tmp_path
    ) -> None:
        path = tmp_path / "kube" / "config"
        path.parent.mkdir()
        mine = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "mine", "cluster": {"server": "https://mine.example"}}],
            "users": [{"name": "me", "user": {"token": "t"}}],
            "contexts": [{"name": "mine", "context": {"cluster": "mine", "user": "me"}}],
            "current-context": "mine",
        }
        path.write_text(yaml.safe_dump(mine))
        assert eksauth(*ALL).exit_code == 0
        before = kubeconfig(tmp_path)
        fleet("us-west-2", PROD).delete_cluster(name="web")
        result = eksauth(*ALL, "--prune")
        assert result.exit_code == 0, result.stderr
        after = kubeconfig(tmp_path)
        assert after["contexts"] == [c for c in before["contexts"] if c["name"] != "web"]
        gone = arn(PROD, "us-west-2", "web")
        assert after["clusters"] == [c for c in before["clusters"] if c["name"] != gone]
        assert after["users"] == before["users"]  # eksauth@prod still serves prod's demo
        assert after["current-context"] == "mine"
        assert "contexts 3 unchanged, 1 pruned; clusters 3 unchanged, 1 pruned" in result.stderr

    def test_nothing_is_pruned_for_a_profile_that_was_not_asked(
        self, eksauth, fleet, tmp_path
    ) -> None:
        assert eksauth(*ALL).exit_code == 0
        before = kubeconfig(tmp_path)
        result = eksauth("update-kubeconfig", "--all", "--profile", "dev", *REGIONS, "--prune")
        assert result.exit_code == 0, result.stderr
        assert {c["name"] for c in kubeconfig(tmp_path)["contexts"]} >= {
            c["name"] for c in before["contexts"] if c["context"]["user"] == "eksauth@prod"
        }

    def test_dry_run_writes_nothing(self, eksauth, fleet, tmp_path) -> None:
        result = eksauth(*ALL, "--dry-run")
        assert result.exit_code == 0, result.stderr
        assert not (tmp_path / "kube").exists()
        assert "added     context web" in result.stdout.splitlines()
        assert "would write" in result.stderr

    def test_json_plan(self, eksauth, fleet, tmp_path) -> None:
        result = eksauth(*ALL, "--dry-run", "--json")
        assert result.exit_code == 0, result.stderr
        plan = json.loads(result.stdout)
        assert plan["written"] is False
        assert {"kind": "context", "name": "api"} in plan["added"]
        assert plan["failed"] == []
        assert plan["regions"] == {"answered": 6, "total": 6}

    def test_colliding_names_and_a_persons_context(self, eksauth, moto, tmp_path) -> None:
        create(moto, "eu-west-1", "demo")
        create(moto, "us-east-1", "demo")
        create(moto, "us-east-1", "api")
        path = tmp_path / "kube" / "config"
        path.parent.mkdir()
        theirs = {"name": "api", "context": {"cluster": "elsewhere", "user": "someone"}}
        path.write_text(yaml.safe_dump({"contexts": [theirs], "current-context": "api"}))
        result = eksauth("update-kubeconfig", "--all", *REGIONS, "--profile", "dev")
        assert result.exit_code == 0, result.stderr
        written = kubeconfig(tmp_path)
        names = sorted(c["name"] for c in written["contexts"])
        assert names == ["api", "api.us-east-1", "demo.eu-west-1", "demo.us-east-1"]
        assert written["contexts"][0] == theirs  # a person's context is never taken over
        assert [u["name"] for u in written["users"]] == ["eksauth"]  # one profile: one user

    def test_templates_and_set_context(self, eksauth, fleet, tmp_path) -> None:
        result = eksauth(
            *ALL,
            "--alias",
            "{profile}-{name}",
            "--user-alias",
            "{account}",
            "--set-context",
            "prod-web",
        )
        assert result.exit_code == 0, result.stderr
        written = kubeconfig(tmp_path)
        names = sorted(c["name"] for c in written["contexts"])
        assert names == ["dev-api", "dev-demo", "prod-demo", "prod-web"]
        assert sorted(u["name"] for u in written["users"]) == [DEV, PROD]
        assert written["current-context"] == "prod-web"

    def test_all_regions_asks_describe_regions(self, eksauth, fleet, tmp_path) -> None:
        result = eksauth("update-kubeconfig", "--all", "--profile", "dev", "--all-regions")
        assert result.exit_code == 0, result.stderr
        assert sorted(c["name"] for c in kubeconfig(tmp_path)["contexts"]) == ["api", "demo"]

    def test_clusters_not_active_are_listed_and_skipped(
        self, eksauth, profiles, tmp_path
    ) -> None:
        from tests.standins.eks_regions import EksRegionsServer

        clusters = {"eu-west-1": {"ok": "ACTIVE", "new": "CREATING", "bad": "FAILED"}}
        with EksRegionsServer(clusters, max_lifetime=60) as server:
            result = run_against(eksauth, server, "--region", "eu-west-1")
        assert result.exit_code == 0, result.stderr
        assert [c["name"] for c in kubeconfig(tmp_path)["contexts"]] == ["ok"]
        assert "skipped (not ACTIVE): profile dev, region eu-west-1, cluster bad: FAILED" in (
            result.stderr
        )
        assert "cluster new: CREATING" in result.stderr


def run_against(eksauth: Any, server: Any, *args: str) -> Any:
    import os

    os.environ["AWS_ENDPOINT_URL_EKS"] = os.environ["AWS_ENDPOINT_URL_EC2"] = server.url
    try:
        return eksauth("update-kubeconfig", "--all", "--profile", "dev", *args)
    finally:
        del os.environ["AWS_ENDPOINT_URL_EKS"], os.environ["AWS_ENDPOINT_URL_EC2"]
