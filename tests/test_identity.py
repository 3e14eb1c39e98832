"""The library behind `decode`, `verify` and `whoami`: offline rules, ARNs, aws-auth mapping."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import pytest

from eksauth.aws import calls
from eksauth.errors import EksAuthError, StsError, TokenFormatError, UsageError, VerificationError
from eksauth.identity import aws_auth, replay
from eksauth.identity.aws_auth import AwsAuth, Entry
from eksauth.identity.replay import CallerIdentity
from eksauth.token import bearer
from tests.conftest import SEED_SIGNED, SEED_TOKEN, SEED_URL

FRESH = SEED_SIGNED + 60


class TestDecode:
    def test_seed_token_decodes_to_the_seed_url(self) -> None:
        assert bearer.decode(SEED_TOKEN) == SEED_URL

    def test_seed_url_parts(self) -> None:
        presigned = bearer.parse_presigned(SEED_URL)
        assert presigned.url == SEED_URL
        assert presigned.scheme == "https"
        assert presigned.host == "sts.ap-northeast-2.amazonaws.com"
        assert presigned.path == "/"
        assert presigned.access_key_id == "AKIAR5QOEZPU4QXX5H4F"
        assert presigned.region == "ap-northeast-2"
        assert presigned.service == "sts"
        assert presigned.signed_at == SEED_SIGNED
        assert presigned.expires == 60
        assert presigned.signed_headers == ("host", "x-k8s-aws-id")
        assert presigned.has_session_token is False
        assert presigned.param("action") == "GetCallerIdentity"

    def test_missing_parts_are_none(self) -> None:
        presigned = bearer.parse_presigned("https://sts.amazonaws.com/?Action=GetCallerIdentity")
        assert presigned.access_key_id is None
        assert presigned.region is None
        assert presigned.signed_at is None
        assert presigned.expires is None
        assert presigned.signed_headers == ()

    def test_rfc3339(self) -> None:
        assert bearer.rfc3339(SEED_SIGNED) == "2022-04-26T17:32:42Z"


def _url(**changes: str | None) -> str:
    """The seed URL with parameters replaced (None removes one)."""
    params = dict(bearer.parse_presigned(SEED_URL).params)
    for key, value in changes.items():
        name = key.replace("_", "-")
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return "https://sts.ap-northeast-2.amazonaws.com/?" + urlencode(params)


class TestOfflineRules:
    def test_the_seed_url_passes_while_fresh(self) -> None:
        assert bearer.check_offline(SEED_URL, FRESH).host == "sts.ap-northeast-2.amazonaws.com"

    @pytest.mark.parametrize(
        "host",
        [
            "sts.amazonaws.com",
            "sts.eu-west-1.amazonaws.com",
            "sts-fips.us-east-1.amazonaws.com",
            "sts.eu-west-1.api.aws",
            "sts-fips.us-east-2.api.aws",
            "sts.cn-north-1.amazonaws.com.cn",
            "sts.us-gov-west-1.amazonaws.com",
            "sts.us-iso-east-1.c2s.ic.gov",
            "sts.us-isob-east-1.sc2s.sgov.gov",
        ],
    )
    def test_every_partition_and_variant_host_is_accepted(self, host: str) -> None:
        url = SEED_URL.replace("sts.ap-northeast-2.amazonaws.com", host)
        assert bearer.check_offline(url, FRESH).host == host

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            (SEED_URL.replace("https://", "http://"), "only accepts https"),
            (SEED_URL.replace("sts.ap-northeast-2.amazonaws.com", "evil.example"), "not an STS"),
            (
                SEED_URL.replace(".amazonaws.com/", ".amazonaws.com.evil.example/"),
                "not an STS",
            ),
            (SEED_URL.replace(".com/", ".com:443/"), "not an STS"),
            (SEED_URL.replace("https://", "https://user@"), "not an STS"),
            (SEED_URL.replace(".com/", ".com.cn/"), "not an STS"),  # region of another partition
            (SEED_URL.replace(".com/?", ".com/x?"), "path is '/x'"),
            (SEED_URL.replace(".com/?", ".com?"), "path is ''"),
            (SEED_URL + "&Action=GetCallerIdentity", "appears more than once"),
            (SEED_URL + "&action=GetCallerIdentity", "appears more than once"),
            (SEED_URL + "&Foo=bar", "'Foo' is not one EKS allows"),
            (_url(Action="AssumeRole"), "Action is 'AssumeRole'"),
            (_url(Action=None), "Action is None"),
            (_url(X_Amz_SignedHeaders="host"), "x-k8s-aws-id header is not signed"),
            (_url(X_Amz_Expires="901"), "X-Amz-Expires is '901'"),
            (_url(X_Amz_Expires="-1"), "X-Amz-Expires is '-1'"),
            (_url(X_Amz_Expires="sixty"), "X-Amz-Expires is 'sixty'"),
            (_url(X_Amz_Expires=None), "X-Amz-Expires is None"),
            (_url(X_Amz_Date=None), "no X-Amz-Date"),
            (_url(X_Amz_Date="2022-04-26T17:32:42Z"), "not of the form"),
            (_url(X_Amz_Date="20221326T173242Z"), "not of the form"),
        ],
    )
    def test_each_rule_fails_with_its_own_reason(self, url: str, reason: str) -> None:
        with pytest.raises(VerificationError, match=reason):
            bearer.check_offline(url, FRESH)

    @pytest.mark.parametrize("bad", ["&x=1;y=2", "&X-Amz-Date=%zz"])
    def test_a_malformed_query_is_refused(self, bad: str) -> None:
        with pytest.raises(TokenFormatError, match="malformed query parameter"):
            bearer.check_offline(SEED_URL + bad, FRESH)

    def test_control_characters_are_refused(self) -> None:
        with pytest.raises(TokenFormatError, match="control characters"):
            bearer.check_offline(SEED_URL.replace("?", "\n?"), FRESH)

    def test_fifteen_minutes_after_x_amz_date_exactly_is_still_accepted(self) -> None:
        bearer.check_offline(SEED_URL, SEED_SIGNED + 900)
        with pytest.raises(VerificationError, match="expired at 2022-04-26T17:47:42Z"):
            bearer.check_offline(SEED_URL, SEED_SIGNED + 901)

    def test_x_amz_expires_bounds(self) -> None:
        bearer.check_offline(_url(X_Amz_Expires="0"), FRESH)
        bearer.check_offline(_url(X_Amz_Expires="900"), FRESH)
        bearer.check_offline(_url(X_Amz_Expires="+60"), FRESH)  # Go's Atoi takes a sign

    def test_parameter_names_are_case_insensitive(self) -> None:
        url = SEED_URL.replace("Action=", "ACTION=").replace("X-Amz-Date", "x-amz-date")
        assert bearer.check_offline(url, FRESH).signed_at == SEED_SIGNED

    def test_sts_url_allows_exactly_its_host_and_scheme(self) -> None:
        loopback = SEED_URL.replace(
            "https://sts.ap-northeast-2.amazonaws.com", "http://127.0.0.1:8080"
        )
        assert (
            bearer.check_offline(loopback, FRESH, "http://127.0.0.1:8080").host == "127.0.0.1:8080"
        )
        assert bearer.check_offline(loopback, FRESH, "http://127.0.0.1:8080/").scheme == "http"
        with pytest.raises(VerificationError, match="only accepts https"):
            bearer.check_offline(loopback, FRESH)
        with pytest.raises(VerificationError, match="only accepts https"):
            bearer.check_offline(loopback, FRESH, "https://127.0.0.1:8080")
        with pytest.raises(VerificationError, match="not an STS"):
            bearer.check_offline(loopback.replace("http:", "https:"), FRESH, "http://127.0.0.1:9")
        # Standard hosts stay accepted when --sts-url names another one.
        bearer.check_offline(SEED_URL, FRESH, "http://127.0.0.1:8080")

    @pytest.mark.parametrize("bad", ["ftp://x", "127.0.0.1:8080", "https://x/path"])
    def test_a_bad_sts_url_is_a_usage_error(self, bad: str) -> None:
        with pytest.raises(UsageError, match="not a base URL"):
            bearer.check_offline(SEED_URL, FRESH, bad)

    def test_check_token_checks_size_first(self) -> None:
        huge = "k8s-aws-v1." + "A" * 4086
        with pytest.raises(VerificationError, match="4097 bytes"):
            bearer.check_token(huge, FRESH)
        assert bearer.check_token(SEED_TOKEN, FRESH).url == SEED_URL

    @pytest.mark.parametrize(
        ("bad", "reason"),
        [
            ("k8s-aws-v2.aHR0cHM6Ly9zdHM", "does not start with"),
            (SEED_TOKEN + "=", "padding"),
            (SEED_TOKEN.replace("_", "/"), "not valid base64url"),
            ("k8s-aws-v1.aGVsbG8gd29ybGQ", "not a URL"),
        ],
    )
    def test_check_token_names_format_errors(self, bad: str, reason: str) -> None:
        with pytest.raises(TokenFormatError, match=reason):
            bearer.check_token(bad, FRESH)


class TestCanonicalize:
    @pytest.mark.parametrize(
        ("arn", "canonical"),
        [
            (
                "arn:aws:sts::111122223333:assumed-role/Admin/alice",
                "arn:aws:iam::111122223333:role/Admin",
            ),
            (
                "arn:aws-cn:sts::111122223333:assumed-role/Node/i-0123456789abcdef0",
                "arn:aws-cn:iam::111122223333:role/Node",
            ),
            ("arn:aws:iam::111122223333:user/ops/bob", "arn:aws:iam::111122223333:user/ops/bob"),
            ("arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:root"),
            ("arn:aws:iam::111122223333:role/R", "arn:aws:iam::111122223333:role/R"),
            (
                "arn:aws-us-gov:sts::111122223333:federated-user/carol",
                "arn:aws-us-gov:sts::111122223333:federated-user/carol",
            ),
        ],
    )
    def test_canonical_arns(self, arn: str, canonical: str) -> None:
        assert replay.canonicalize(arn) == canonical

    @pytest.mark.parametrize(
        ("arn", "reason"),
        [
            ("not-an-arn", "not an ARN"),
            ("arn:aws-mars:iam::111122223333:user/x", "partition 'aws-mars'"),
            ("arn:aws:sts::111122223333:assumed-role/OnlyRole", "names no role"),
            ("arn:aws:s3:::bucket", "not an IAM user, role or root"),
            ("arn:aws:iam::111122223333:group/devs", "not an IAM user, role or root"),
        ],
    )
    def test_arns_eks_refuses(self, arn: str, reason: str) -> None:
        with pytest.raises(StsError, match=reason):
            replay.canonicalize(arn)


class TestStsReply:
    def test_a_user_keeps_its_whole_user_id(self) -> None:
        fields = {"Arn": "arn:aws:iam::111122223333:user/bob", "Account": "111122223333"}
        caller = replay.identity_from_reply({**fields, "UserId": "AIDAEXAMPLE"}, "AKIA1")
        assert caller == CallerIdentity(
            fields["Arn"], fields["Arn"], "111122223333", "AIDAEXAMPLE", "", "AKIA1", None
        )

    def test_a_federated_user_id_is_not_split(self) -> None:
        arn = "arn:aws:sts::111122223333:federated-user/carol"
        reply = {"Arn": arn, "Account": "111122223333", "UserId": "111122223333:carol"}
        caller = replay.identity_from_reply(reply, "ASIA1")
        assert (caller.user_id, caller.session_name) == ("111122223333:carol", "")

    def test_an_assumed_role_splits_role_id_and_session(self) -> None:
        arn = "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com"
        reply = {"Arn": arn, "Account": "111122223333", "UserId": "AROAEXAMPLE:alice@example.com"}
        caller = replay.identity_from_reply(reply, "ASIA1", "eu-west-1")
        assert caller.canonical_arn == "arn:aws:iam::111122223333:role/Admin"
        assert (caller.user_id, caller.session_name) == ("AROAEXAMPLE", "alice@example.com")
        assert caller.region == "eu-west-1"

    @pytest.mark.parametrize("user_id", ["AROAEXAMPLE", "AROA:a:b"])
    def test_a_malformed_role_user_id_is_an_error(self, user_id: str) -> None:
        arn = "arn:aws:sts::111122223333:assumed-role/Admin/s"
        with pytest.raises(StsError, match="malformed UserId"):
            replay.identity_from_reply(
                {"Arn": arn, "Account": "111122223333", "UserId": user_id}, "ASIA1"
            )

    def test_xml_answers_are_read_as_sts_sends_them_by_default(self) -> None:
        body = (
            b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            b"<GetCallerIdentityResult><Arn>arn:aws:iam::1:user/a&amp;b</Arn>"
            b"<UserId>AIDA1</UserId><Account>1</Account></GetCallerIdentityResult>"
            b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
            b"</GetCallerIdentityResponse>"
        )
        fields = replay._reply_fields(body)
        assert (fields["Arn"], fields["UserId"], fields["Account"]) == (
            "arn:aws:iam::1:user/a&b",
            "AIDA1",
            "1",
        )

    def test_error_answers_in_json_and_xml(self) -> None:
        xml = b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error>"
        json_body = b'{"Error": {"Code": "AccessDenied", "Message": "no"}, "RequestId": "r"}'
        for body in (xml + b"</ErrorResponse>", json_body):
            fields = replay._reply_fields(body)
            assert (fields["Code"], fields["Message"]) == ("AccessDenied", "no")

    def test_xml_with_a_doctype_is_not_parsed(self) -> None:
        body = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x><Arn>&a;</Arn></x>'
        assert replay._reply_fields(body) == {}

    def test_missing_fields_are_an_error(self) -> None:
        with pytest.raises(StsError, match="without Arn"):
            replay.identity_from_reply({"Arn": "arn:aws:iam::1:root"}, "AKIA1")


ACCOUNT = "111122223333"
NODE = CallerIdentity(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/NodeRole/i-0123456789abcdef0",
    canonical_arn=f"arn:aws:iam::{ACCOUNT}:role/NodeRole",
    account=ACCOUNT,
    user_id="AROANODE",
    session_name="i-0123456789abcdef0",
    access_key_id="ASIANODE",
    region="eu-west-1",
)
ALICE = CallerIdentity(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice@example.com",
    canonical_arn=f"arn:aws:iam::{ACCOUNT}:role/Admin",
    account=ACCOUNT,
    user_id="AROAADMIN",
    session_name="alice@example.com",
    access_key_id="ASIAALICE",
    region="eu-west-1",
)
BOB = CallerIdentity(
    arn=f"arn:aws:iam::{ACCOUNT}:user/ops/bob",
    canonical_arn=f"arn:aws:iam::{ACCOUNT}:user/ops/bob",
    account=ACCOUNT,
    user_id="AIDABOB",
    session_name="",
    access_key_id="AKIABOB",
    region="eu-west-1",
)


def _tables(
    roles: Sequence[tuple[str, str, list[str]]] = (),
    users: Sequence[tuple[str, str, list[str]]] = (),
    accounts: tuple[str, ...] = (),
) -> AwsAuth:
    return AwsAuth(
        tuple(Entry(a, u, tuple(g), f"mapRoles[{i}]") for i, (a, u, g) in enumerate(roles)),
        tuple(Entry(a, u, tuple(g), f"mapUsers[{i}]") for i, (a, u, g) in enumerate(users)),
        frozenset(accounts),
        (),
    )


class TestTemplates:
    @pytest.mark.parametrize(
        ("template", "rendered"),
        [
            ("{{AccountID}}", ACCOUNT),
            ("admin:{{SessionName}}", "admin:alice-example.com"),
            ("admin:{{SessionNameRaw}}", "admin:alice@example.com"),
            ("key:{{AccessKeyID}}", "key:ASIAALICE"),
            (
                "{{AccountID}}:{{SessionName}}:{{AccountID}}",
                f"{ACCOUNT}:alice-example.com:{ACCOUNT}",
            ),
            ("system:node:{{EC2PrivateDNSName}}", "system:node:{{EC2PrivateDNSName}}"),
            ("{{Unknown}}", "{{Unknown}}"),
        ],
    )
    def test_render(self, template: str, rendered: str) -> None:
        assert aws_auth.render(template, ALICE) == rendered

    def test_render_with_a_dns_name(self) -> None:
        assert (
            aws_auth.render("system:node:{{EC2PrivateDNSName}}", NODE, "ip-10-0-0-1.ec2.internal")
            == "system:node:ip-10-0-0-1.ec2.internal"
        )

    def test_every_template_in_username_and_groups(self) -> None:
        tables = _tables(
            roles=[
                (
                    NODE.canonical_arn,
                    "system:node:{{EC2PrivateDNSName}}",
                    ["g:{{AccountID}}", "s:{{SessionName}}", "k:{{AccessKeyID}}"],
                )
            ]
        )
        mapping = aws_auth.map_identity(NODE, tables, resolve_dns=lambda iid: f"dns-of-{iid}")
        assert mapping.username == "system:node:dns-of-i-0123456789abcdef0"
        assert mapping.groups == (f"g:{ACCOUNT}", "s:i-0123456789abcdef0", "k:ASIANODE")
        assert (mapping.source, mapping.reason, mapping.notes) == ("mapRoles[0]", None, ())

    def test_ec2_dns_unresolved_without_a_lookup(self) -> None:
        tables = _tables(roles=[(NODE.canonical_arn, "system:node:{{EC2PrivateDNSName}}", [])])
        mapping = aws_auth.map_identity(NODE, tables)
        assert mapping.username == "system:node:{{EC2PrivateDNSName}}"
        assert mapping.notes == (
            "{{EC2PrivateDNSName}} left unresolved: no EC2 lookup was requested",
        )

    def test_ec2_dns_unresolved_says_why_the_lookup_failed(self) -> None:
        def fail(_: str) -> str:
            raise EksAuthError("no AWS credentials to call ec2:DescribeInstances")

        tables = _tables(roles=[(NODE.canonical_arn, "system:node:{{EC2PrivateDNSName}}", [])])
        mapping = aws_auth.map_identity(NODE, tables, resolve_dns=fail)
        assert mapping.username == "system:node:{{EC2PrivateDNSName}}"
        assert mapping.notes == (
            "{{EC2PrivateDNSName}} left unresolved: no AWS credentials to call "
            "ec2:DescribeInstances",
        )

    @pytest.mark.parametrize("session", ["alice", "i-123", "i-0123456789abcdef", "i-ünicode1"])
    def test_ec2_dns_needs_an_instance_id_session(self, session: str) -> None:
        caller = NODE._replace(session_name=session)
        tables = _tables(roles=[(NODE.canonical_arn, "u", ["{{EC2PrivateDNSName}}"])])
        mapping = aws_auth.map_identity(caller, tables, resolve_dns=lambda _: "never")
        assert mapping.username is None
        assert mapping.source == "mapRoles[0]"
        assert mapping.reason is not None
        assert "is not an EC2 instance id, so EKS refuses the token" in mapping.reason

    @pytest.mark.parametrize("session", ["i-01234567", "i-0123456789abcdef0"])
    def test_eight_and_seventeen_character_instance_ids(self, session: str) -> None:
        caller = NODE._replace(session_name=session)
        tables = _tables(roles=[(NODE.canonical_arn, "{{EC2PrivateDNSName}}", [])])
        assert (
            aws_auth.map_identity(caller, tables, resolve_dns=str.upper).username == session.upper()
        )


class TestMapping:
    def test_an_assumed_role_matches_its_role_case_insensitively(self) -> None:
        tables = _tables(
            roles=[(f"arn:aws:iam::{ACCOUNT}:role/ADMIN", "admin", ["system:masters"])]
        )
        mapping = aws_auth.map_identity(ALICE, tables)
        assert (mapping.username, mapping.groups, mapping.source) == (
            "admin",
            ("system:masters",),
            "mapRoles[0]",
        )

    def test_a_role_written_with_its_path_does_not_match(self) -> None:
        with_path = f"arn:aws:iam::{ACCOUNT}:role/teams/ops/Admin"
        mapping = aws_auth.map_identity(ALICE, _tables(roles=[(with_path, "admin", [])]))
        assert mapping.username is None
        assert mapping.notes == (
            f"mapRoles[0] names {with_path} with a path; EKS compares role ARNs without their "
            f"path, so write arn:aws:iam::{ACCOUNT}:role/Admin",
        )

    def test_a_role_whose_iam_arn_has_a_path_matches_without_it(self) -> None:
        # STS drops the path in assumed-role ARNs, so the mapping must drop it too.
        tables = _tables(roles=[(f"arn:aws:iam::{ACCOUNT}:role/Admin", "admin", [])])
        assert aws_auth.map_identity(ALICE, tables).username == "admin"

    def test_strip_role_path(self) -> None:
        assert aws_auth.strip_role_path("arn:aws:iam::1:role/a/b/R") == "arn:aws:iam::1:role/R"
        assert aws_auth.strip_role_path("arn:aws:iam::1:role/R") == "arn:aws:iam::1:role/R"
        assert aws_auth.strip_role_path("arn:aws:iam::1:user/a/u") == "arn:aws:iam::1:user/a/u"

    def test_a_user_matches_with_its_path(self) -> None:
        tables = _tables(users=[(BOB.arn.upper().replace("ARN:AWS:IAM", "arn:aws:iam"), "bob", [])])
        assert aws_auth.map_identity(BOB, tables).source == "mapUsers[0]"

    def test_roles_are_searched_before_users(self) -> None:
        tables = _tables(roles=[(BOB.arn, "as-role", [])], users=[(BOB.arn, "as-user", [])])
        assert aws_auth.map_identity(BOB, tables).username == "as-role"

    def test_the_last_entry_for_an_arn_wins(self) -> None:
        arn = ALICE.canonical_arn
        tables = _tables(roles=[(arn, "first", []), (arn.lower(), "second", [])])
        assert aws_auth.map_identity(ALICE, tables).source == "mapRoles[1]"

    def test_map_accounts_maps_to_the_canonical_arn_without_groups(self) -> None:
        mapping = aws_auth.map_identity(ALICE, _tables(accounts=(ACCOUNT,)))
        assert (mapping.username, mapping.groups, mapping.source) == (
            ALICE.canonical_arn,
            (),
            "mapAccounts",
        )

    def test_an_entry_beats_map_accounts(self) -> None:
        tables = _tables(roles=[(ALICE.canonical_arn, "admin", [])], accounts=(ACCOUNT,))
        assert aws_auth.map_identity(ALICE, tables).username == "admin"

    def test_no_match(self) -> None:
        tables = _tables(
            roles=[(f"arn:aws:iam::{ACCOUNT}:role/Other", "x", [])], accounts=("444455556666",)
        )
        mapping = aws_auth.map_identity(ALICE, tables)
        assert mapping == aws_auth.IdentityMapping(
            None,
            (),
            None,
            f"arn:aws:iam::{ACCOUNT}:role/Admin is not mapped by aws-auth: no mapRoles or "
            f"mapUsers entry matches it, and account {ACCOUNT} is not in mapAccounts",
            (),
        )


KUBECTL_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6
      username: system:node:{{EC2PrivateDNSName}}
      groups:
        - system:bootstrappers
        - system:nodes
  mapUsers: |
    - userarn: arn:aws:iam::555555555555:user/admin
      username: admin
      groups:
        - system:masters
  mapAccounts: |
    - 555555555555
    - "012345670123"
    - 012345670124
"""


class TestLoadAwsAuth:
    def test_kubectl_yaml(self) -> None:
        tables = aws_auth.load_aws_auth(KUBECTL_YAML)
        assert tables == AwsAuth(
            roles=(
                Entry(
                    "arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6",
                    "system:node:{{EC2PrivateDNSName}}",
                    ("system:bootstrappers", "system:nodes"),
                    "mapRoles[0]",
                ),
            ),
            users=(
                Entry(
                    "arn:aws:iam::555555555555:user/admin",
                    "admin",
                    ("system:masters",),
                    "mapUsers[0]",
                ),
            ),
            # Unquoted 012345670124 stays text, as the authenticator reads it (not octal).
            accounts=frozenset({"555555555555", "012345670123", "012345670124"}),
            problems=(),
        )

    def test_just_the_data(self) -> None:
        data = KUBECTL_YAML.split("\ndata:\n", 1)[1]
        assert aws_auth.load_aws_auth(data) == aws_auth.load_aws_auth(KUBECTL_YAML)

    def test_kubectl_json(self) -> None:
        import json

        document = {
            "kind": "ConfigMap",
            "data": {"mapUsers": "- userarn: arn:aws:iam::1:user/a\n  username: a\n"},
        }
        tables = aws_auth.load_aws_auth(json.dumps(document))
        assert tables.users == (Entry("arn:aws:iam::1:user/a", "a", (), "mapUsers[0]"),)

    def test_entry_keys_are_case_insensitive(self) -> None:
        crazy = (
            KUBECTL_YAML.replace("rolearn", "rOlEaRn")
            .replace("userarn", "uSeRaRn")
            .replace("username", "UsErNaMe")
            .replace("groups", "gRoUpS")
        )
        assert aws_auth.load_aws_auth(crazy) == aws_auth.load_aws_auth(KUBECTL_YAML)

    def test_data_keys_are_case_sensitive(self) -> None:
        tables = aws_auth.load_aws_auth("data:\n  maproles: |\n    - rolearn: x\n")
        assert tables == AwsAuth(
            (),
            (),
            frozenset(),
            (
                "data key 'maproles' is ignored: EKS reads 'mapRoles' "
                "(data keys are case-sensitive)",
            ),
        )
        with pytest.raises(VerificationError, match="no mapRoles, mapUsers or mapAccounts"):
            aws_auth.load_aws_auth("maproles: |\n    - rolearn: x\n")

    def test_broken_entries_are_skipped_with_a_problem(self) -> None:
        text = (
            "mapRoles: |\n"
            "  - username: no-arn\n"
            "  - sso: {permissionSetName: Admin, accountID: '111122223333'}\n"
            "    username: sso\n"
            "  - rolearn: arn:aws:iam::1:role/ok\n"
            "    username: ok\n"
            "  - rolearn: arn:aws:iam::1:role/bad\n"
            "    groups: not-a-list\n"
            "mapUsers: |\n"
            "  - userarn: [unclosed\n"
        )
        tables = aws_auth.load_aws_auth(text)
        assert tables.roles == (Entry("arn:aws:iam::1:role/ok", "ok", (), "mapRoles[2]"),)
        assert tables.users == ()
        assert tables.problems[:3] == (
            "mapRoles[0] has no rolearn and is ignored",
            "mapRoles[1] has no rolearn and is ignored (sso entries are not evaluated)",
            "mapRoles[3] has a malformed username or groups and is ignored",
        )
        assert tables.problems[3].startswith("mapUsers is not valid YAML")

    def test_not_yaml(self) -> None:
        with pytest.raises(VerificationError, match="not valid YAML"):
            aws_auth.load_aws_auth("data: [")

    def test_empty_sections(self) -> None:
        tables = aws_auth.load_aws_auth("data:\n  mapRoles: ''\n  mapUsers: |\n")
        assert tables == AwsAuth((), (), frozenset(), ())


class TestEc2Lookup:
    def test_no_credentials_is_a_reason(self) -> None:
        with pytest.raises(EksAuthError, match="no AWS credentials"):
            calls.ec2_private_dns_name("i-0123456789abcdef0", region_name="eu-west-1")
