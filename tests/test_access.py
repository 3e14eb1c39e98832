"""Access entries, aws-auth and the authentication mode between them.

The pure rules (`eksauth.identity.access`) are table-driven; `gather` runs the real boto3 `eks`
client against the EKS control-plane stand-in (AWS_ENDPOINT_URL_EKS), which checks every signature.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eksauth.errors import EksAuthError
from eksauth.identity.access import (
    CLUSTER_ADMIN_POLICY,
    AccessEntry,
    AccessPolicy,
    ClusterAccess,
    decide,
    entry_username,
    is_creator_entry,
    match_entry,
)
from eksauth.identity.aws_auth import load_aws_auth, map_identity
from eksauth.identity.eksapi import gather
from eksauth.identity.replay import CallerIdentity, canonicalize
from tests.conftest import ACCESS_KEY, ACCOUNT, ADMINS, SECRET_KEY
from tests.standins.eks_control import EksControlServer, Policy
from tests.standins.world import World

BOB = f"arn:aws:iam::{ACCOUNT}:user/ops/bob"
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
ROLE_CALLER = CallerIdentity(
    f"arn:aws:sts::{ACCOUNT}:assumed-role/eks-admins/alice@example.com",
    f"arn:aws:iam::{ACCOUNT}:role/eks-admins",
    ACCOUNT,
    "AROAEXAMPLEROLEID",
    "alice@example.com",
    "ASIAEXAMPLEKEY",
    "us-west-2",
)
USER_CALLER = CallerIdentity(BOB, BOB, ACCOUNT, "AIDAEXAMPLEUSER", "", ACCESS_KEY, "us-west-2")
AWS_AUTH = f"""
mapRoles: |
  - rolearn: arn:aws:iam::{ACCOUNT}:role/nodes
    username: system:node:{{{{EC2PrivateDNSName}}}}
    groups: [system:nodes]
  - rolearn: arn:aws:iam::{ACCOUNT}:role/eks-admins
    username: admin:{{{{SessionName}}}}
    groups: [system:masters]
mapUsers: |
  - userarn: {BOB}
    username: bob
"""
NO_MATCH = f"""
mapRoles: |
  - rolearn: arn:aws:iam::{ACCOUNT}:role/teams/eks-admins
    username: admin
"""


def admin_entry(**changes: Any) -> AccessEntry:
    entry = AccessEntry(ADMINS, "admin:{{SessionName}}", ("ops",), "STANDARD", 1000.0)
    return entry._replace(**changes)


def cluster(mode: str | None, entry: AccessEntry | None = None, **changes: Any) -> ClusterAccess:
    arns = (f"arn:aws:iam::{ACCOUNT}:role/other", *((entry.principal_arn,) if entry else ()))
    access = ClusterAccess(
        "demo",
        mode,
        bootstrap_creator_admin=False,
        cluster_created_at=1000.0,
        principal_arns=arns,
        entry=entry,
        policies=(AccessPolicy(VIEW_POLICY, "cluster", ()),) if entry else None,
    )
    return access._replace(**changes)


class TestPrecedence:
    @pytest.mark.parametrize(
        ("mode", "has_entry", "aws_auth", "mapped_by", "username"),
        [
            ("CONFIG_MAP", True, AWS_AUTH, "aws-auth:mapRoles[1]", "admin:alice-example.com"),
            ("CONFIG_MAP", True, NO_MATCH, None, None),
            ("CONFIG_MAP", False, AWS_AUTH, "aws-auth:mapRoles[1]", "admin:alice-example.com"),
            ("CONFIG_MAP", False, NO_MATCH, None, None),
            ("API_AND_CONFIG_MAP", True, AWS_AUTH, "access-entry", "admin:alice-example.com"),
            ("API_AND_CONFIG_MAP", True, NO_MATCH, "access-entry", "admin:alice-example.com"),
            (
                "API_AND_CONFIG_MAP",
                False,
                AWS_AUTH,
                "aws-auth:mapRoles[1]",
                "admin:alice-example.com",
            ),
            ("API_AND_CONFIG_MAP", False, NO_MATCH, None, None),
            ("API", True, AWS_AUTH, "access-entry", "admin:alice-example.com"),
            ("API", True, NO_MATCH, "access-entry", "admin:alice-example.com"),
            ("API", False, AWS_AUTH, None, None),
            ("API", False, NO_MATCH, None, None),
        ],
    )
    def test_mode_entry_and_aws_auth(
        self, mode: str, has_entry: bool, aws_auth: str, mapped_by: str | None, username: str
    ) -> None:
        mapping = map_identity(ROLE_CALLER, load_aws_auth(aws_auth))
        entry = admin_entry() if has_entry else None
        verdict = decide(ROLE_CALLER, cluster(mode, entry), mapping)
        assert (verdict.mapped, verdict.mapped_by, verdict.username) == (
            mapped_by is not None,
            mapped_by,
            username,
        )
        assert verdict.determined
        assert (verdict.access_entry is not None) == (has_entry and mode != "CONFIG_MAP")

    def test_aws_auth_groups_come_through(self) -> None:
        mapping = map_identity(ROLE_CALLER, load_aws_auth(AWS_AUTH))
        verdict = decide(ROLE_CALLER, cluster("CONFIG_MAP"), mapping)
        assert verdict.groups == ("system:masters",)
        assert any("system:masters" in note for note in verdict.notes)

    def test_api_mode_says_aws_auth_is_ignored(self) -> None:
        mapping = map_identity(ROLE_CALLER, load_aws_auth(AWS_AUTH))
        verdict = decide(ROLE_CALLER, cluster("API"), mapping)
        assert any("EKS ignores aws-auth" in note for note in verdict.notes)

    def test_entry_wins_and_says_so(self) -> None:
        mapping = map_identity(ROLE_CALLER, load_aws_auth(AWS_AUTH))
        verdict = decide(ROLE_CALLER, cluster("API_AND_CONFIG_MAP", admin_entry()), mapping)
        assert verdict.groups == ("ops",)
        assert any("access entry takes precedence" in note for note in verdict.notes)

    def test_an_aws_auth_role_path_is_a_near_miss(self) -> None:
        mapping = map_identity(ROLE_CALLER, load_aws_auth(NO_MATCH))
        verdict = decide(ROLE_CALLER, cluster("CONFIG_MAP"), mapping)
        assert any("with a path" in note for note in verdict.notes)

    def test_without_aws_auth_config_map_mode_is_undetermined(self) -> None:
        verdict = decide(ROLE_CALLER, cluster("CONFIG_MAP"))
        assert not verdict.determined
        assert not verdict.mapped

    def test_without_aws_auth_an_entry_still_decides(self) -> None:
        verdict = decide(ROLE_CALLER, cluster("API_AND_CONFIG_MAP", admin_entry()))
        assert verdict.determined
        assert verdict.mapped_by == "access-entry"


class TestUnknownMode:
    def test_a_listed_entry_decides_either_way(self) -> None:
        verdict = decide(ROLE_CALLER, cluster(None, admin_entry()))
        assert (verdict.determined, verdict.mapped_by) == (True, "access-entry")

    def test_aws_auth_alone_depends_on_the_mode(self) -> None:
        mapping = map_identity(ROLE_CALLER, load_aws_auth(AWS_AUTH))
        verdict = decide(ROLE_CALLER, cluster(None, principal_arns=None), mapping)
        assert not verdict.determined
        assert any("authentication mode is unknown" in note for note in verdict.notes)

    def test_nothing_maps_in_any_mode(self) -> None:
        mapping = map_identity(ROLE_CALLER, load_aws_auth(NO_MATCH))
        verdict = decide(ROLE_CALLER, cluster(None), mapping)
        assert (verdict.determined, verdict.mapped) == (True, False)


class TestMatching:
    @pytest.mark.parametrize(
        ("caller", "arns", "expected"),
        [
            (ROLE_CALLER, (ADMINS,), ADMINS),
            (ROLE_CALLER, (f"arn:aws:iam::{ACCOUNT}:role/EKS-Admins",), "case"),
            (ROLE_CALLER, ("arn:aws:iam::444455556666:role/teams/eks-admins",), None),
            (ROLE_CALLER, (f"arn:aws:iam::{ACCOUNT}:user/eks-admins",), None),
            (ROLE_CALLER, (f"arn:aws-cn:iam::{ACCOUNT}:role/eks-admins",), None),
            (USER_CALLER, (f"arn:aws:iam::{ACCOUNT}:role/bob", BOB), BOB),
            (USER_CALLER, (f"arn:aws:iam::{ACCOUNT}:user/bobby",), None),
        ],
    )
    def test_match(self, caller: CallerIdentity, arns: tuple[str, ...], expected: str) -> None:
        assert match_entry(caller, arns) == (arns[0] if expected == "case" else expected)

    def test_root_and_federated_callers_match_nothing(self) -> None:
        root = ROLE_CALLER._replace(canonical_arn=f"arn:aws:iam::{ACCOUNT}:root")
        assert match_entry(root, (ADMINS, f"arn:aws:iam::{ACCOUNT}:root")) is None
        verdict = decide(root, cluster("API"))
        assert any("neither an IAM role nor an IAM user" in note for note in verdict.notes)


class TestUsernames:
    @pytest.mark.parametrize(
        ("entry", "caller", "template", "rendered"),
        [
            (
                admin_entry(username=None),
                ROLE_CALLER,
                f"arn:aws:sts::{ACCOUNT}:assumed-role/eks-admins/{{{{SessionName}}}}",
                f"arn:aws:sts::{ACCOUNT}:assumed-role/eks-admins/alice-example.com",
            ),
            (
                admin_entry(principal_arn=BOB, username=""),
                USER_CALLER,
                BOB,
                BOB,
            ),
            (
                admin_entry(username="u:{{AccountID}}:{{SessionNameRaw}}:{{AccessKeyID}}"),
                ROLE_CALLER,
                "u:{{AccountID}}:{{SessionNameRaw}}:{{AccessKeyID}}",
                f"u:{ACCOUNT}:alice@example.com:ASIAEXAMPLEKEY",
            ),
            (
                admin_entry(username=None, type="EC2_LINUX"),
                ROLE_CALLER,
                "system:node:{{EC2PrivateDNSName}}",
                "system:node:{{EC2PrivateDNSName}}",
            ),
        ],
    )
    def test_templates(
        self, entry: AccessEntry, caller: CallerIdentity, template: str, rendered: str
    ) -> None:
        assert entry_username(entry) == template
        verdict = decide(caller, cluster("API", entry))
        assert verdict.username == rendered
        assert verdict.access_entry is not None
        assert verdict.access_entry.username == template

    def test_an_unresolved_node_name_is_noted(self) -> None:
        entry = admin_entry(username=None, type="EC2_LINUX")
        verdict = decide(ROLE_CALLER, cluster("API", entry))
        assert any("EC2PrivateDNSName}} left unresolved" in note for note in verdict.notes)


class TestCreatorAndPolicies:
    ADMIN = (AccessPolicy(CLUSTER_ADMIN_POLICY, "cluster", ()),)

    @pytest.mark.parametrize(
        ("changes", "creator"),
        [
            ({}, True),
            ({"bootstrap_creator_admin": False}, False),
            ({"entry": admin_entry(created_at=1000.0 + 3600)}, False),
            ({"policies": (AccessPolicy(CLUSTER_ADMIN_POLICY, "namespace", ("a",)),)}, False),
            ({"entry": admin_entry(type="EC2_LINUX")}, False),
            ({"cluster_created_at": None}, False),
        ],
    )
    def test_creator_rule(self, changes: dict[str, Any], creator: bool) -> None:
        access = cluster("API", admin_entry(), bootstrap_creator_admin=True, policies=self.ADMIN)
        access = access._replace(**changes)
        assert is_creator_entry(access) is creator
        assert decide(ROLE_CALLER, access).cluster_creator is creator

    def test_the_creator_in_config_map_mode_is_hidden(self) -> None:
        access = cluster("CONFIG_MAP", bootstrap_creator_admin=True, principal_arns=None)
        mapping = map_identity(ROLE_CALLER, load_aws_auth(NO_MATCH))
        verdict = decide(ROLE_CALLER, access, mapping)
        assert any("creator has admin access" in note for note in verdict.notes)

    def test_json_shape_with_namespace_scoped_policies(self) -> None:
        policies = (
            AccessPolicy(VIEW_POLICY, "namespace", ("team-a", "team-b")),
            AccessPolicy(CLUSTER_ADMIN_POLICY, "cluster", ()),
        )
        verdict = decide(
            USER_CALLER, cluster("API", admin_entry(principal_arn=BOB), policies=policies)
        )
        assert verdict.to_json() == {
            "authentication_mode": "API",
            "access_entry": {
                "principal_arn": BOB,
                "username": "admin:{{SessionName}}",
                "kubernetes_groups": ["ops"],
                "type": "STANDARD",
            },
            "access_policies": [
                {
                    "policy_arn": VIEW_POLICY,
                    "access_scope": {"type": "namespace", "namespaces": ["team-a", "team-b"]},
                },
                {
                    "policy_arn": CLUSTER_ADMIN_POLICY,
                    "access_scope": {"type": "cluster", "namespaces": []},
                },
            ],
            "mapped": True,
            "mapped_by": "access-entry",
            "username": "admin:",
            "groups": ["ops"],
            "cluster_creator": False,
            "determined": True,
            "missing_permissions": [],
            "notes": [],
        }

    def test_an_entry_granting_nothing_is_noted(self) -> None:
        access = cluster("API", admin_entry(kubernetes_groups=()), policies=())
        verdict = decide(ROLE_CALLER, access)
        assert any("authorised for nothing" in note for note in verdict.notes)


# -- gather, against the stand-in with the real eks client ---------------------------------------


@pytest.fixture
def eks(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[EksControlServer]:
    with EksControlServer(world, region="us-west-2") as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", server.url)
        yield server


def client(timeout: float = 5.0) -> Any:
    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1})
    # A fresh session each time: boto3's default session would keep the first test's keys.
    return boto3.session.Session().client("eks", region_name="us-west-2", config=config)


@pytest.fixture
def role_caller(alice: Any) -> CallerIdentity:
    """Signed-in as a session of role teams/eks-admins, as STS would report it."""
    creds = alice
    role_id, _, session = creds.assumed_role_id.partition(":")
    arn = creds.arn
    return CallerIdentity(
        arn, canonicalize(arn), ACCOUNT, role_id, session, creds.access_key_id, None
    )


class TestGather:
    def test_the_creator_entry_found_through_its_path(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        eks.add_cluster("demo", creator_arn=ADMINS)
        access = gather(client(), "demo", role_caller)
        verdict = decide(role_caller, access)
        assert (verdict.mapped_by, verdict.cluster_creator, verdict.determined) == (
            "access-entry",
            True,
            True,
        )
        assert verdict.username == f"arn:aws:sts::{ACCOUNT}:assumed-role/eks-admins/alice"
        assert verdict.access_policies == (AccessPolicy(CLUSTER_ADMIN_POLICY, "cluster", ()),)
        assert dict(eks.calls) == {
            "DescribeCluster": 1,
            "ListAccessEntries": 1,
            "DescribeAccessEntry": 1,
            "ListAssociatedAccessPolicies": 1,
        }

    def test_entries_are_listed_over_several_pages(
        self, eks: EksControlServer, role_caller: CallerIdentity, world: World
    ) -> None:
        eks.add_cluster("demo", mode="API")
        for n in range(230):
            eks.add_entry("demo", f"arn:aws:iam::{ACCOUNT}:role/r{n}")
        eks.add_entry(
            "demo",
            ADMINS,
            groups=("devs",),
            policies=[Policy(VIEW_POLICY, "namespace", ("team-a",))],
        )
        access = gather(client(), "demo", role_caller)
        assert eks.calls["ListAccessEntries"] == 3
        assert access.principal_arns is not None
        assert len(access.principal_arns) == 231
        verdict = decide(role_caller, access)
        assert verdict.groups == ("devs",)
        assert verdict.access_policies == (AccessPolicy(VIEW_POLICY, "namespace", ("team-a",)),)

    def test_config_map_mode_does_not_list_entries(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        eks.add_cluster("demo", mode="CONFIG_MAP", creator_arn=ADMINS)
        access = gather(client(), "demo", role_caller)
        assert (access.authentication_mode, access.principal_arns) == ("CONFIG_MAP", None)
        assert eks.calls["ListAccessEntries"] == 0

    def test_describe_cluster_denied_still_finds_the_entry(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        eks.add_cluster("demo", creator_arn=ADMINS)
        eks.deny("DescribeCluster")
        access = gather(client(), "demo", role_caller)
        assert access.missing_permissions == ("eks:DescribeCluster",)
        verdict = decide(role_caller, access)
        assert (verdict.authentication_mode, verdict.mapped_by) == (None, "access-entry")
        assert verdict.determined

    def test_describe_cluster_denied_on_config_map_infers_the_mode(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        eks.add_cluster("demo", mode="CONFIG_MAP")
        eks.deny("DescribeCluster", role_caller.arn)
        access = gather(client(), "demo", role_caller)
        assert access.authentication_mode == "CONFIG_MAP"
        assert access.missing_permissions == ("eks:DescribeCluster",)

    def test_list_access_entries_denied_leaves_the_answer_open(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        eks.add_cluster("demo", creator_arn=ADMINS)
        eks.deny("ListAccessEntries")
        access = gather(client(), "demo", role_caller)
        assert access.missing_permissions == ("eks:ListAccessEntries",)
        mapping = map_identity(role_caller, load_aws_auth(AWS_AUTH))
        verdict = decide(role_caller, access, mapping)
        assert verdict.authentication_mode == "API_AND_CONFIG_MAP"
        assert not verdict.determined
        assert verdict.to_json()["missing_permissions"] == ["eks:ListAccessEntries"]

    def test_an_unknown_cluster_is_an_error(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        with pytest.raises(EksAuthError, match="no cluster 'nope' in region us-west-2"):
            gather(client(), "nope", role_caller)

    def test_a_forged_signature_is_refused(
        self, eks: EksControlServer, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        eks.add_cluster("demo")
        world.add_user(ACCESS_KEY, SECRET_KEY, arn=BOB)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-" + SECRET_KEY)
        with pytest.raises(EksAuthError, match="InvalidSignatureException"):
            gather(client(), "demo", USER_CALLER)

    def test_a_silent_endpoint_times_out_in_seconds(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        eks.add_cluster("demo")
        eks.hang = True
        started = time.monotonic()
        with pytest.raises(EksAuthError, match="DescribeCluster"):
            gather(client(timeout=0.5), "demo", role_caller)
        assert time.monotonic() - started < 5


class TestStandIn:
    def test_an_unsigned_call_is_refused_as_eks_refuses_it(self, eks: EksControlServer) -> None:
        eks.add_cluster("demo")
        conn = http.client.HTTPConnection("127.0.0.1", eks.port, timeout=5)
        try:
            conn.request("GET", "/clusters/demo")
            reply = conn.getresponse()
            body = json.loads(reply.read())
        finally:
            conn.close()
        assert reply.status == 403
        assert reply.getheader("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
        assert "message" in body

    def test_max_results_is_bounded(
        self, eks: EksControlServer, role_caller: CallerIdentity
    ) -> None:
        eks.add_cluster("demo")
        with pytest.raises(ClientError) as raised:
            client().list_access_entries(clusterName="demo", maxResults=101)
        assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
