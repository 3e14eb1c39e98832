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

    def test_clusters_not_active_are_listed_and_skipped(self, eksauth, profiles, tmp_path) -> None:
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


class TestRegionsThatFail:
    """The multi-region stand-in: one URL, regions told apart by the SigV4 scope."""

    @pytest.fixture
    def server(self, profiles, monkeypatch) -> Any:
        from tests.standins.eks_regions import EksRegionsServer

        clusters = {"eu-west-1": {"ok": "ACTIVE"}, "us-east-1": {"slow": "ACTIVE"}}
        with EksRegionsServer(clusters, max_lifetime=60) as server:
            monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", server.url)
            monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", server.url)
            yield server

    def run(self, eksauth: Any, *args: str) -> Any:
        regions = ("--region", "eu-west-1", "--region", "us-east-1")
        return eksauth("update-kubeconfig", "--all", "--profile", "dev", *regions, *args)

    def test_a_region_that_hangs_fails_at_the_deadline_and_the_others_are_written(
        self, eksauth, server, tmp_path
    ) -> None:
        server.hang.add("us-east-1")
        result = self.run(eksauth, "--timeout", "2")
        assert result.exit_code == 1, result.stderr
        assert "failed: profile dev, region us-east-1: no answer within 2 s" in result.stderr
        assert "1 cluster from 1 of 2 regions; 1 failed" in result.stderr
        assert [c["name"] for c in kubeconfig(tmp_path)["contexts"]] == ["ok"]
        assert "us-east-1" in server.seen  # it was asked, and never answered

    def test_nothing_is_pruned_for_a_region_that_failed(self, eksauth, server, tmp_path) -> None:
        assert self.run(eksauth).exit_code == 0
        del server.clusters["us-east-1"]["slow"]
        server.clusters["eu-west-1"].clear()
        server.hang.add("us-east-1")
        result = self.run(eksauth, "--prune", "--timeout", "2")
        assert result.exit_code == 1
        # eu-west-1 answered without `ok`: pruned; us-east-1 did not answer: `slow` stays.
        assert [c["name"] for c in kubeconfig(tmp_path)["contexts"]] == ["slow"]
        assert [u["name"] for u in kubeconfig(tmp_path)["users"]] == ["eksauth"]

    def test_access_denied_is_one_line_and_the_rest_is_written(
        self, eksauth, server, tmp_path
    ) -> None:
        server.deny_regions.add("eu-west-1")
        result = self.run(eksauth)
        assert result.exit_code == 1
        failed = [line for line in result.stderr.splitlines() if "failed:" in line]
        assert len(failed) == 1
        assert "profile dev, region eu-west-1: eks:ListClusters failed: AccessDenied" in failed[0]
        assert [c["name"] for c in kubeconfig(tmp_path)["contexts"]] == ["slow"]

    def test_all_regions_falls_back_to_botocores_list_when_describe_regions_is_denied(
        self, eksauth, server, tmp_path
    ) -> None:
        from eksauth.aws.boundary import known_regions

        server.deny_describe_regions = True
        result = eksauth("update-kubeconfig", "--all", "--profile", "dev", "--all-regions")
        assert result.exit_code == 0, result.stderr
        partition = sorted(r for r, p in known_regions("eks").items() if p == "aws")
        assert "ec2:DescribeRegions was denied; asked every region" in result.stderr
        assert sorted(set(server.seen)) == partition  # DescribeRegions went to eu-west-1
        assert sorted(c["name"] for c in kubeconfig(tmp_path)["contexts"]) == ["ok", "slow"]

    def test_a_profile_whose_credentials_fail_is_one_line(
        self, eksauth, server, aws_env, tmp_path
    ) -> None:
        config = aws_env / ".aws" / "config"
        config.write_text(config.read_text() + "[profile broken]\ncredential_process = false\n")
        result = self.run(eksauth, "--profile", "broken")
        assert result.exit_code == 1
        failed = [line for line in result.stderr.splitlines() if "failed:" in line]
        assert len(failed) == 1
        assert failed[0].startswith("  failed: profile broken: could not load AWS credentials")
        assert sorted(c["name"] for c in kubeconfig(tmp_path)["contexts"]) == ["ok", "slow"]

    def test_a_region_given_before_the_command(self, eksauth, server, tmp_path) -> None:
        result = eksauth("--region", "us-east-1", "update-kubeconfig", "--all", "--profile", "dev")
        assert result.exit_code == 0, result.stderr
        assert [c["name"] for c in kubeconfig(tmp_path)["contexts"]] == ["slow"]
        assert server.seen == ["us-east-1", "us-east-1"]  # ListClusters, DescribeCluster

    def test_set_context_naming_no_context_writes_nothing(self, eksauth, server, tmp_path) -> None:
        result = self.run(eksauth, "--set-context", "nope")
        assert result.exit_code == 2
        assert result.stderr == (
            "eksauth: error: --set-context nope: no such context (name one this run writes or"
            " the file has (`kubectl config get-contexts`))\n"
        )
        assert list((tmp_path / "kube").iterdir()) == []  # the lock's folder; no file, no lock

    def test_progress_is_one_live_line_on_a_terminal_only(self, server, tmp_path) -> None:
        import os
        import pty
        import subprocess

        from tests.conftest import tool

        argv = [tool("eksauth"), "update-kubeconfig", "--all", "--profile", "dev"]
        argv += ["--region", "eu-west-1", "--region", "us-east-1"]
        leader, follower = pty.openpty()
        try:
            done = subprocess.run(
                argv, stderr=follower, stdout=subprocess.PIPE, timeout=60, check=False
            )
            os.close(follower)
            follower = -1
            seen = b""
            while True:
                try:
                    chunk = os.read(leader, 1 << 16)
                except OSError:  # EIO: the terminal's other end is closed
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            os.close(leader)
            if follower != -1:
                os.close(follower)
        assert done.returncode == 0
        text = seen.decode()
        assert "\r\x1b[Kregions 2/2 · clusters 2 · failed 0" in text
        assert text.count("\n") == 2  # the summary block: two lines, after the live one
        piped = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert "regions 2/2" not in piped.stderr
        assert piped.stderr.startswith("eksauth: 2 clusters from 2 of 2 regions\n")

    def test_all_regions_asks_the_enabled_regions(self, eksauth, server, tmp_path) -> None:
        server.regions = ["eu-west-1"]  # us-east-1 not enabled for this account
        result = eksauth("update-kubeconfig", "--all", "--profile", "dev", "--all-regions")
        assert result.exit_code == 0, result.stderr
        assert [c["name"] for c in kubeconfig(tmp_path)["contexts"]] == ["ok"]
        assert "1 cluster from 1 of 1 region" in result.stderr


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ("--all --profile dev --profile nope", "the AWS profile 'nope' was not found"),
            ("--all --region eu-nowhere-1", "no such region: eu-nowhere-1"),
            ("--all --region EU", "invalid region name 'EU'"),
            ("--all --region eu-west-1 --alias {cluster}", "has an unknown field {cluster}"),
            ("--all --region eu-west-1 --user-alias {name", "is not a valid template"),
            ("--all --region eu-west-1 --alias {name!r}", "{name} takes no format"),
            ("--name demo --region eu-west-1 --prune", "--prune needs --all"),
            ("--name demo --region eu-west-1 --all-regions", "--all-regions needs --all"),
            ("--all --name demo", "--all excludes --name"),
            ("--all --all-regions --region eu-west-1", "--all-regions excludes --region"),
            ("--all --role-arn admin --region eu-west-1", "not an IAM role ARN"),
            ("--region eu-west-1", "Missing option '--name' (or --all for every cluster)"),
        ],
    )
    def test_one_line_and_nothing_written(self, eksauth, profiles, tmp_path, args, message):
        result = eksauth("update-kubeconfig", *args.split())
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("eksauth: error: ")
        assert result.stderr.count("\n") == 1
        assert message in result.stderr
        assert result.stdout == ""
        assert not (tmp_path / "kube").exists()

    def test_no_region_at_all(self, eksauth, aws_env, tmp_path) -> None:
        result = eksauth("update-kubeconfig", "--all")
        assert result.exit_code == 2
        assert result.stderr == (
            "eksauth: error: no region for profile default (give --region (it may repeat)"
            " or --all-regions)\n"
        )


class TestAPersonsEntries:
    def test_an_entry_of_the_same_cluster_is_updated_in_place_and_never_pruned(
        self, eksauth, moto, tmp_path
    ) -> None:
        create(moto, "eu-west-1", "demo")
        dev = ("--profile", "dev", "--region", "eu-west-1")
        single = eksauth("update-kubeconfig", "--name", "demo", *dev)
        assert single.exit_code == 0, single.stderr
        theirs = kubeconfig(tmp_path)
        demo = arn(DEV, "eu-west-1", "demo")
        assert eksauth("update-kubeconfig", "--all", *dev).exit_code == 0
        both = kubeconfig(tmp_path)
        (cluster,) = both["clusters"]
        assert extension(cluster, "cluster", MARK) is None  # not ours: never marked
        assert extension(cluster, "cluster", "client.authentication.k8s.io/exec") == {
            "clusterName": "demo",
            "region": "eu-west-1",
            "profile": "dev",
        }
        assert both["users"][0] == theirs["users"][0]  # the per-cluster user, as it was
        assert [c["name"] for c in both["contexts"]] == [demo, "demo"]
        assert both["current-context"] == demo

        moto("eu-west-1").delete_cluster(name="demo")
        result = eksauth("update-kubeconfig", "--all", *dev, "--prune")
        assert result.exit_code == 0, result.stderr
        after = kubeconfig(tmp_path)
        assert [c["name"] for c in after["clusters"]] == [demo]  # a person's: kept
        assert after["contexts"] == theirs["contexts"]  # ours pruned, theirs kept
        assert after["users"] == theirs["users"]  # the shared user nothing uses: pruned
        assert "pruned" in result.stderr


NAME_FIELDS = (
    {"name": "demo", "region": "eu-west-1", "account": "1", "profile": "dev", "arn": "a1"},
    {"name": "demo", "region": "us-east-1", "account": "1", "profile": "dev", "arn": "a2"},
    {"name": "demo", "region": "us-east-1", "account": "2", "profile": "prod", "arn": "a3"},
    {"name": "api", "region": "us-east-1", "account": "1", "profile": "dev", "arn": "a4"},
)


class TestNames:
    @pytest.mark.parametrize(
        ("template", "taken", "expected"),
        [
            ("{name}", set(), ["demo.eu-west-1", "demo.us-east-1.1", "demo.us-east-1.2", "api"]),
            (
                "{name}",
                {"api"},
                ["demo.eu-west-1", "demo.us-east-1.1", "demo.us-east-1.2", "api.us-east-1"],
            ),
            (
                "{name}-{region}",
                set(),
                ["demo-eu-west-1", "demo-us-east-1.1", "demo-us-east-1.2", "api-us-east-1"],
            ),
            (
                "{profile}/{name}",
                set(),
                ["dev/demo.eu-west-1", "dev/demo.us-east-1", "prod/demo", "dev/api"],
            ),
            ("{account}", set(), ["1.eu-west-1", "a2", "2", "a4"]),
        ],
    )
    def test_unique_names(self, template, taken, expected) -> None:
        from eksauth.kubeconfig.naming import unique_names

        got = unique_names(template, NAME_FIELDS, lambda _, name: name in taken)
        assert got == expected
