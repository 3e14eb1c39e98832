"""`whoami` asks EKS: authentication modes, access entries (role paths, templates, policies),
the creator's entry, AccessDenied, the live aws-auth, and a silent endpoint.

The real eksauth runs in-process against the STS stand-in (token replay), the EKS control-plane
stand-in (AWS_ENDPOINT_URL_EKS, SigV4-checked) and the API-server stand-in (aws-auth). The
runner's clock is the real one: botocore signs EKS calls with it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import ACCOUNT, ADMINS, SESSION_ARN
from tests.standins import EksApiServer
from tests.standins.eks_control import EksControlServer, Policy
from tests.standins.sts import StsServer

VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
AWS_AUTH_PLAIN = {
    "mapRoles": f"- rolearn: arn:aws:iam::{ACCOUNT}:role/eks-admins\n"
    "  username: cm-{{SessionName}}\n  groups: [ops]\n"
}


@pytest.fixture
def whoami(eksauth: Any, sts_server: StsServer, alice: Any) -> Callable[..., Any]:
    def run(*args: str) -> Any:
        common = ("-c", "demo", "--region", "eu-west-1", "--sts-url", sts_server.url)
        return eksauth("whoami", *common, *args, now=time.time())

    return run


def aws_auth_file(tmp_path: Path, data: dict[str, str]) -> str:
    path = tmp_path / "aws-auth.json"
    path.write_text(json.dumps({"data": data}))
    return str(path)


class TestModes:
    def test_the_creator_entry_is_found_through_its_role_path(
        self, whoami: Any, eks: EksControlServer
    ) -> None:
        eks.add_cluster("demo", mode="API_AND_CONFIG_MAP", creator_arn=ADMINS)
        result = whoami("--json")
        assert result.exit_code == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["arn"] == SESSION_ARN
        assert answer["authentication_mode"] == "API_AND_CONFIG_MAP"
        assert answer["access_entry"]["principal_arn"] == ADMINS
        assert answer["access_entry"]["type"] == "STANDARD"
        assert (answer["mapped"], answer["mapped_by"]) == (True, "access-entry")
        assert answer["username"] == SESSION_ARN
        assert answer["cluster_creator"] is True
        assert answer["access_policies"] == [
            {
                "policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "access_scope": {"type": "cluster", "namespaces": []},
            }
        ]
        assert "entry EKS created for the cluster's creator" in result.stderr

    def test_api_mode_ignores_aws_auth(
        self, whoami: Any, eks: EksControlServer, tmp_path: Path
    ) -> None:
        eks.add_cluster("demo", mode="API")
        result = whoami("--aws-auth", aws_auth_file(tmp_path, AWS_AUTH_PLAIN), "--json")
        assert result.exit_code == 0, result.stderr  # determined: not mapped
        answer = json.loads(result.stdout)
        assert (answer["mapped"], answer["mapped_by"], answer["access_entry"]) == (
            False,
            None,
            None,
        )
        assert "EKS ignores aws-auth; add an access entry instead" in result.stderr

    def test_config_map_mode_maps_through_aws_auth_only(
        self, whoami: Any, eks: EksControlServer, tmp_path: Path
    ) -> None:
        eks.add_cluster("demo", mode="CONFIG_MAP")
        result = whoami("--aws-auth", aws_auth_file(tmp_path, AWS_AUTH_PLAIN), "--json")
        assert result.exit_code == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["authentication_mode"] == "CONFIG_MAP"
        assert (answer["mapped_by"], answer["username"], answer["groups"]) == (
            "aws-auth:mapRoles[0]",
            "cm-alice",
            ["ops"],
        )
        assert eks.calls["ListAccessEntries"] == 0

    def test_an_entry_wins_over_aws_auth_with_its_template_and_namespaces(
        self, whoami: Any, eks: EksControlServer, tmp_path: Path
    ) -> None:
        eks.add_cluster("demo", mode="API_AND_CONFIG_MAP")
        eks.add_entry(
            "demo",
            ADMINS,
            username="team:{{SessionName}}@{{AccountID}}",
            groups=("viewers",),
            policies=[Policy(VIEW_POLICY, "namespace", ("dev", "qa"))],
        )
        result = whoami("--aws-auth", aws_auth_file(tmp_path, AWS_AUTH_PLAIN))
        assert result.exit_code == 0, result.stderr
        rows = dict(line.split(":", 1) for line in result.stdout.splitlines())
        assert rows["username"].strip() == f"team:alice@{ACCOUNT}"
        assert rows["groups"].strip() == "viewers"
        assert rows["mapped by"].strip() == "access-entry"
        assert rows["access policies"].strip() == "AmazonEKSViewPolicy (namespaces dev, qa)"
        assert rows["cluster creator"].strip() == "no"
        assert "the access entry takes precedence" in result.stderr


class TestAccessDenied:
    def test_list_access_entries_denied_names_the_permission(
        self, whoami: Any, eks: EksControlServer
    ) -> None:
        eks.add_cluster("demo", mode="API_AND_CONFIG_MAP", creator_arn=ADMINS)
        eks.deny("ListAccessEntries")
        result = whoami("--json")
        assert result.exit_code == 1
        assert json.loads(result.stdout)["missing_permissions"] == ["eks:ListAccessEntries"]
        assert result.stderr.splitlines()[-1] == (
            "eksauth: error: could not determine which Kubernetes user you are: missing "
            "eks:ListAccessEntries (grant eks:ListAccessEntries, or give --aws-auth)"
        )

    def test_describe_cluster_denied_still_maps_through_aws_auth(
        self, whoami: Any, eks: EksControlServer, tmp_path: Path
    ) -> None:
        eks.add_cluster("demo", mode="CONFIG_MAP")
        eks.deny("DescribeCluster")
        result = whoami("--aws-auth", aws_auth_file(tmp_path, AWS_AUTH_PLAIN), "--json")
        assert result.exit_code == 0, result.stderr  # EKS's refusal of ListAccessEntries tells
        answer = json.loads(result.stdout)
        assert answer["missing_permissions"] == ["eks:DescribeCluster"]
        assert (answer["authentication_mode"], answer["username"]) == ("CONFIG_MAP", "cm-alice")
        assert "EKS refused eks:DescribeCluster (AccessDenied)" in result.stderr


class TestLiveAwsAuthAndLimits:
    def test_aws_auth_read_from_the_cluster(
        self, whoami: Any, eks: EksControlServer, eks_api: EksApiServer, tmp_path: Path
    ) -> None:
        # The context runs no exec for "demo": its server is the cluster's because EKS says so.
        eks.add_cluster("demo", mode="CONFIG_MAP", endpoint=eks_api.url)
        eks_api.aws_auth = AWS_AUTH_PLAIN
        kubeconfig = eks_api.write_kubeconfig(tmp_path / "kubeconfig", token="unused")
        result = whoami("--aws-auth", "cluster", "--kubeconfig", str(kubeconfig), "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["username"] == "cm-alice"
        assert [s.arn for s in eks_api.seen] == [SESSION_ARN]  # read with the caller's token

    def test_a_kubeconfig_ca_that_is_no_pem_is_one_line(
        self, whoami: Any, eks: EksControlServer, eks_api: EksApiServer, tmp_path: Path
    ) -> None:
        eks.add_cluster("demo", mode="CONFIG_MAP", endpoint=eks_api.url)
        kubeconfig = eks_api.write_kubeconfig(tmp_path / "kubeconfig", token="unused")
        text = kubeconfig.read_text().replace(eks_api.ca_data_b64, "aGVsbG8K")  # "hello"
        kubeconfig.write_text(text)
        result = whoami("--aws-auth", "cluster", "--kubeconfig", str(kubeconfig))
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()[-1:]
        assert "is not a PEM certificate" in line
        assert "Traceback" not in result.stderr

    def test_a_silent_eks_endpoint_fails_in_seconds(
        self, whoami: Any, eks: EksControlServer
    ) -> None:
        eks.add_cluster("demo")
        eks.hang = True
        started = time.monotonic()
        result = whoami("--json", "--timeout", "1")  # the default, 10 s, is the same code path
        assert result.exit_code == 1
        answer = json.loads(result.stdout)  # what is known is printed
        assert (answer["arn"], answer["determined"]) == (SESSION_ARN, False)
        assert result.stderr.splitlines()[-1] == (
            "eksauth: error: could not determine which Kubernetes user you are: could not ask "
            "EKS: EKS in eu-west-1 did not answer within 1 s (check the network and "
            "AWS_ENDPOINT_URL_EKS; --no-eks with --aws-auth FILE answers from aws-auth alone)"
        )
        assert 1 <= time.monotonic() - started < 10

    def test_no_eks_keeps_aws_auth_alone(self, whoami: Any, tmp_path: Path) -> None:
        result = whoami("--no-eks", "--aws-auth", aws_auth_file(tmp_path, AWS_AUTH_PLAIN), "--json")
        assert result.exit_code == 0, result.stderr
        answer = json.loads(result.stdout)
        assert "authentication_mode" not in answer
        assert answer["mapped_by"] == "aws-auth:mapRoles[0]"


def test_without_a_region_only_aws_auth_is_consulted(eksauth, sts_server, alice, tmp_path) -> None:
    """No --region, AWS_REGION, AWS_DEFAULT_REGION or profile region: EKS cannot be asked."""
    result = eksauth(
        "whoami", "-c", "demo", "--sts-url", sts_server.url,
        "--aws-auth", aws_auth_file(tmp_path, AWS_AUTH_PLAIN), "--json", now=time.time(),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "no region to ask EKS in" in result.stderr
    assert json.loads(result.stdout)["mapped"] is True
