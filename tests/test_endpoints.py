"""STS endpoint resolution (eksauth.token.endpoints), checked against botocore itself.

botocore is imported here only: the module under test must not import it, so these tests are
what keeps its hand-written table honest when botocore's data changes.
"""

from __future__ import annotations

import re
from itertools import product
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import parse_qs, urlsplit

import botocore
import botocore.args
import botocore.configprovider
import botocore.exceptions
import botocore.loaders
import botocore.session
import botocore.utils
import pytest
from botocore.config import Config
from botocore.endpoint_provider import EndpointProvider, RuleSetStandardLibrary

from eksauth.errors import EksAuthError, InvalidRegionError
from eksauth.token import bearer, endpoints
from eksauth.token.endpoints import StsEndpoint, parse_sts_host, sts_endpoint

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

_LOADER = botocore.loaders.create_loader()
PARTITIONS: list[dict[str, Any]] = _LOADER.load_data("partitions")["partitions"]
RULESET: dict[str, Any] = _LOADER.load_service_model("sts", "endpoint-rule-set-1")

LISTED_REGIONS = [region for p in PARTITIONS for region in p["regions"]]
UNLISTED_REGIONS = [
    # Not yet in partitions.json, but inside a partition's regionRegex.
    "ap-southeast-9",
    "cn-south-7",
    "eusc-de-west-4",
    "us-iso-south-2",
    "us-isob-north-2",
    "eu-isoe-east-3",
    "us-isof-west-9",
    "us-gov-north-3",
    # Well-formed but in no partition: botocore falls back to aws.
    "xx-foo-1",
    "eu-west-1a",
    "fips",
    # FIPS pseudo regions: botocore cuts every "fips-"/"-fips" out and turns FIPS on.
    "us-east-1-fips",
    "fips-us-east-1",
    "us-gov-west-1-fips",
    "fips-ca-central-1",
    "xx-fips-1",
]
# The table mirrors the data files of botocore 1.42.1 and later (1.42.0 still lacked ISO dual-stack
# suffixes and more); older botocore data, such as the floor run's, predates it. eksauth never
# reads that data, so against older data only these comparisons skip: the table is unchanged.
BOTOCORE = tuple(int(part) for part in botocore.__version__.split(".")[:3])
current_botocore_data = pytest.mark.skipif(
    BOTOCORE < (1, 42, 1),
    reason=f"botocore {botocore.__version__}'s data files predate the table (1.42.1)",
)
# Where botocore's client refuses dual-stack (see test_dualstack_hosts_follow_the_rule_set).
VARIANT_ERROR_PARTITIONS = {"aws-iso-e", "aws-iso-f"}
# endpoints.json: the partitions whose defaults carry a dual-stack variant (STS has no
# dual-stack hosts elsewhere; aws-iam-authenticator refuses them there too).
DUAL_STACK_PARTITIONS = {
    p["partition"]
    for p in _LOADER.load_data("endpoints")["partitions"]
    if any("dualstack" in v["tags"] for v in p.get("defaults", {}).get("variants", []))
}

_STDLIB = RuleSetStandardLibrary(_LOADER.load_data("partitions"))
_RULES = EndpointProvider(RULESET, _LOADER.load_data("partitions"))


class Case(NamedTuple):
    region: str | None
    fips: bool = False
    dualstack: bool = False
    legacy: bool = False

    def ours(self) -> StsEndpoint:
        return sts_endpoint(
            self.region, fips=self.fips, dualstack=self.dualstack, legacy_global=self.legacy
        )


def _with_flags(region: str | None) -> list[Case]:
    return [Case(region, *flags) for flags in product([False, True], repeat=3)]


def _cases(regions: list[str | None]) -> list[Any]:
    """One test per region and flag combination: for the (slower) differential tests."""
    cases = [case for region in regions for case in _with_flags(region)]
    return [pytest.param(case, id=_case_id(case)) for case in cases]


def _case_id(case: Case) -> str:
    flags = zip(("+fips", "+dualstack", "+legacy"), case[1:])
    return f"{case.region}" + "".join(name for name, on in flags if on)


def _bare(region: str) -> str:
    """The region botocore's client uses (client.py _normalize_fips_region)."""
    return region.replace("fips-", "").replace("-fips", "")


def _in_a_partition(region: str) -> bool:
    """Whether botocore's aws.partition matches the region rather than falling back to aws."""
    region = _bare(region)
    return any(region in p["regions"] or re.match(p["regionRegex"], region) for p in PARTITIONS)


def _botocore_refuses(case: Case, partition: str) -> bool:
    """Dual-stack in aws-iso-e/aws-iso-f, for real regions (not their *-global pseudo ones)."""
    regex = next((p["regionRegex"] for p in PARTITIONS if p["id"] == partition), "")
    region = _bare(case.region or "")
    return (
        case.dualstack and partition in VARIANT_ERROR_PARTITIONS and bool(re.match(regex, region))
    )


def _partition(case: Case) -> str:
    """The partition of the case's region, as the rule set's aws.partition picks it."""
    return str(_STDLIB.aws_partition(_bare(case.region or "us-east-1"))["name"])


def _no_dual_stack_sts(case: Case) -> bool:
    """A deliberate difference: dual-stack where STS has no dual-stack host (the ISO partitions)."""
    return case.dualstack and _partition(case) not in DUAL_STACK_PARTITIONS


@pytest.fixture(scope="module")
def session() -> botocore.session.Session:
    # One session for the module: its config is read lazily, and conftest's autouse
    # aws_env fixture gives every test a clean environment before the first read.
    return botocore.session.Session()


def botocore_sts(
    session: botocore.session.Session, monkeypatch: pytest.MonkeyPatch, case: Case
) -> tuple[str, str, str]:
    """(host, signing region, partition) of the URL botocore presigns for GetCallerIdentity."""
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy" if case.legacy else "regional")
    client = cast(
        "STSClient",
        session.create_client(
            "sts",
            region_name=case.region,
            config=Config(use_fips_endpoint=case.fips, use_dualstack_endpoint=case.dualstack),
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="x",
        ),
    )
    url = urlsplit(client.generate_presigned_url("get_caller_identity"))
    scope = parse_qs(url.query)["X-Amz-Credential"][0].split("/")
    # client.meta.partition comes from the older endpoints.json resolver, which puts
    # pseudo regions and some dual-stack cases in aws; the rule set's partition is the one
    # that picked the host.
    partition = _STDLIB.aws_partition(client.meta.region_name)["name"]
    return url.netloc, scope[2], partition


# --- 1. differential: every region botocore knows, and some it does not ---------------------


@current_botocore_data
@pytest.mark.parametrize("case", _cases([*LISTED_REGIONS, *UNLISTED_REGIONS]))
def test_matches_botocore(
    session: botocore.session.Session, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    if _no_dual_stack_sts(case):
        with pytest.raises(EksAuthError, match="STS has no dual-stack endpoint"):
            case.ours()
        if _botocore_refuses(case, _partition(case)):
            with pytest.raises(botocore.exceptions.EndpointVariantError):
                botocore_sts(session, monkeypatch, case)
        return
    ours = case.ours()
    assert (ours.host, ours.signing_region, ours.partition) == botocore_sts(
        session, monkeypatch, case
    )


@current_botocore_data
@pytest.mark.parametrize("region", [*LISTED_REGIONS, *UNLISTED_REGIONS])
def test_dualstack_hosts_follow_the_rule_set(region: str) -> None:
    """Every dual-stack host we sign for is the rule set's; none where endpoints.json has none.

    In the ISO partitions, partitions.json says dual-stack is supported and the STS rule set
    builds a host (botocore presigns it for aws-iso and aws-iso-b, and fails with
    EndpointVariantError for aws-iso-e and aws-iso-f), but endpoints.json has no dual-stack
    variant there and aws-iam-authenticator refuses such hosts: we refuse to sign them.
    """
    for case in _with_flags(region):
        if _no_dual_stack_sts(case):
            with pytest.raises(EksAuthError):
                case.ours()
        elif case.dualstack:
            rule = _RULES.resolve_endpoint(
                Region=_bare(region),
                UseFIPS=case.fips or _bare(region) != region,
                UseDualStack=True,
                UseGlobalEndpoint=case.legacy,
            )
            assert urlsplit(rule.url).netloc == case.ours().host, case


@pytest.mark.parametrize("legacy", [False, True], ids=["regional", "legacy"])
def test_no_region_is_the_global_endpoint_like_botocore(
    session: botocore.session.Session, monkeypatch: pytest.MonkeyPatch, legacy: bool
) -> None:
    theirs = botocore_sts(session, monkeypatch, Case(None, legacy=legacy))
    assert theirs == ("sts.amazonaws.com", "us-east-1", "aws")
    assert Case(None, legacy=legacy).ours() == StsEndpoint(*theirs)
    assert Case("", legacy=legacy).ours() == StsEndpoint(*theirs)


@pytest.mark.parametrize(
    "case", [c for c in _cases([None]) if c.values[0].fips or c.values[0].dualstack]
)
def test_no_region_with_variants_resolves_as_us_east_1(
    session: botocore.session.Session, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    """A deliberate difference: botocore resolves no region as the aws-global pseudo region.

    With a variant that gives hosts like sts-fips.aws-global.amazonaws.com, which do not
    exist; we use us-east-1's variant host instead (the region aws-global signs for).
    """
    ours = case.ours()
    assert ours == case._replace(region="us-east-1", legacy=False).ours()
    assert case._replace(region="").ours() == ours
    host, signing_region, _ = botocore_sts(session, monkeypatch, case)
    assert host.split(".")[1] == "aws-global"
    assert signing_region == ours.signing_region


def test_empty_region_is_an_error_in_botocore(
    session: botocore.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why "" is documented as "no region" rather than matched: botocore cannot resolve it."""
    with pytest.raises(ValueError, match=r"sts\.\.amazonaws\.com"):
        botocore_sts(session, monkeypatch, Case(""))


EXAMPLES = [
    (Case("eu-west-1"), ("sts.eu-west-1.amazonaws.com", "eu-west-1", "aws")),
    (Case("eu-west-1", legacy=True), ("sts.amazonaws.com", "us-east-1", "aws")),
    (
        Case("eu-west-1", fips=True, legacy=True),
        ("sts-fips.eu-west-1.amazonaws.com", "eu-west-1", "aws"),
    ),
    (Case("af-south-1", legacy=True), ("sts.af-south-1.amazonaws.com", "af-south-1", "aws")),
    (Case("ap-east-1", legacy=True), ("sts.ap-east-1.amazonaws.com", "ap-east-1", "aws")),
    (Case("us-east-1", dualstack=True), ("sts.us-east-1.api.aws", "us-east-1", "aws")),
    (
        Case("us-gov-west-1", fips=True),
        ("sts.us-gov-west-1.amazonaws.com", "us-gov-west-1", "aws-us-gov"),
    ),
    (
        Case("us-gov-west-1", fips=True, dualstack=True),
        ("sts-fips.us-gov-west-1.api.aws", "us-gov-west-1", "aws-us-gov"),
    ),
    (
        Case("us-gov-east-1-fips"),
        ("sts.us-gov-east-1.amazonaws.com", "us-gov-east-1", "aws-us-gov"),
    ),
    (
        Case("cn-north-1", dualstack=True),
        ("sts.cn-north-1.api.amazonwebservices.com.cn", "cn-north-1", "aws-cn"),
    ),
    (
        Case("eusc-de-east-1", fips=True),
        ("sts-fips.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1", "aws-eusc"),
    ),
    (Case("aws-global"), ("sts.amazonaws.com", "us-east-1", "aws")),
    (Case("aws-global", fips=True), ("sts-fips.aws-global.amazonaws.com", "us-east-1", "aws")),
    (Case("aws-cn-global"), ("sts.aws-cn-global.amazonaws.com.cn", "aws-cn-global", "aws-cn")),
    (
        Case("ap-southeast-9", legacy=True),
        ("sts.ap-southeast-9.amazonaws.com", "ap-southeast-9", "aws"),
    ),
    (Case("xx-foo-1"), ("sts.xx-foo-1.amazonaws.com", "xx-foo-1", "aws")),
    (Case(None, fips=True), ("sts-fips.us-east-1.amazonaws.com", "us-east-1", "aws")),
]


@pytest.mark.parametrize(
    ("case", "expected"), [pytest.param(c, e, id=_case_id(c)) for c, e in EXAMPLES]
)
def test_examples(case: Case, expected: tuple[str, str, str]) -> None:
    """The rules in readable form; the differential tests above are the real check."""
    assert case.ours() == StsEndpoint(*expected)


# --- the hand-written table against botocore's data -------------------------------------------


@current_botocore_data
def test_partition_table_matches_partitions_json() -> None:
    ours = [
        (p.name, p.dns_suffix, p.dual_stack_dns_suffix, p.regex.pattern, p.listed_outside_regex)
        for p in endpoints._PARTITIONS
    ]
    assert {p.name for p in endpoints._PARTITIONS if p.sts_dual_stack} == DUAL_STACK_PARTITIONS
    theirs = [
        (
            p["id"],
            p["outputs"]["dnsSuffix"],
            p["outputs"]["dualStackDnsSuffix"],
            p["regionRegex"],
            frozenset(r for r in p["regions"] if not re.match(p["regionRegex"], r)),
        )
        for p in PARTITIONS
    ]
    assert ours == theirs
    # The rule set's "partition does not support FIPS/DualStack" errors are not modelled.
    assert all(
        p["outputs"]["supportsFIPS"] and p["outputs"]["supportsDualStack"] for p in PARTITIONS
    )


def test_legacy_global_regions_match_the_rule_set_and_args() -> None:
    global_branch = RULESET["rules"][0]
    assert {"fn": "booleanEquals", "argv": [{"ref": "UseGlobalEndpoint"}, True]} in global_branch[
        "conditions"
    ]
    in_rules = {
        rule["conditions"][0]["argv"][1]
        for rule in global_branch["rules"]
        if rule["conditions"] and rule["endpoint"]["url"] == "https://sts.amazonaws.com"
    }
    assert in_rules == endpoints._LEGACY_GLOBAL_REGIONS
    assert set(botocore.args.LEGACY_GLOBAL_STS_REGIONS) == endpoints._LEGACY_GLOBAL_REGIONS
    assert "af-south-1" not in endpoints._LEGACY_GLOBAL_REGIONS


@pytest.mark.usefixtures("static_keys")
@pytest.mark.parametrize(
    ("env_value", "config_value", "host"),
    [
        (None, None, "sts.eu-west-1.amazonaws.com"),
        ("legacy", None, "sts.amazonaws.com"),
        (None, "legacy", "sts.amazonaws.com"),
        ("regional", "legacy", "sts.eu-west-1.amazonaws.com"),
    ],
    ids=["unset", "env-legacy", "profile-legacy", "env-over-profile"],
)
def test_regional_unless_legacy_is_chosen(
    eksauth: Any,
    aws_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    env_value: str | None,
    config_value: str | None,
    host: str,
) -> None:
    """Unset means "regional" whatever botocore's own default ("legacy" before 1.40.0)."""
    if env_value:
        monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", env_value)
    if config_value:
        (aws_env / ".aws" / "config").write_text(
            f"[default]\nsts_regional_endpoints = {config_value}\n"
        )
    result = eksauth(
        "token", "--cluster-name", "demo", "--region", "eu-west-1", "--output", "token"
    )
    assert result.exit_code == 0, result.stderr
    assert urlsplit(bearer.decode(result.stdout.strip())).hostname == host


# --- 2. parse_sts_host --------------------------------------------------------------------------


ROUND_TRIP_REGIONS = [None, *LISTED_REGIONS, *filter(_in_a_partition, UNLISTED_REGIONS)]
OUTSIDE_PARTITIONS: list[str | None] = [r for r in UNLISTED_REGIONS if not _in_a_partition(r)]


# One test per region, looping over the flags: each test pays for conftest's environment.
@pytest.mark.parametrize("region", ROUND_TRIP_REGIONS)
def test_parse_round_trips(region: str | None) -> None:
    for case in _with_flags(region):
        if _no_dual_stack_sts(case):
            continue
        endpoint = case.ours()
        assert parse_sts_host(endpoint.host) == endpoint, case


@current_botocore_data
@pytest.mark.parametrize("region", OUTSIDE_PARTITIONS)
def test_parse_rejects_regions_outside_every_partition(region: str) -> None:
    """botocore signs for these (falling back to aws), but no such STS endpoint exists."""
    for case in _with_flags(region):
        endpoint = case.ours()
        assert endpoint.partition == "aws", case
        if endpoint.host != "sts.amazonaws.com":
            assert parse_sts_host(endpoint.host) is None, case


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("sts.amazonaws.com", ("us-east-1", "aws")),
        ("sts.ap-southeast-9.amazonaws.com", ("ap-southeast-9", "aws")),
        ("sts.us-gov-east-1.amazonaws.com", ("us-gov-east-1", "aws-us-gov")),
        ("sts-fips.us-gov-east-1.api.aws", ("us-gov-east-1", "aws-us-gov")),
        ("sts.us-gov-west-1.api.aws", ("us-gov-west-1", "aws-us-gov")),
        ("sts-fips.cn-northwest-1.api.amazonwebservices.com.cn", ("cn-northwest-1", "aws-cn")),
        ("sts.us-isob-east-1.sc2s.sgov.gov", ("us-isob-east-1", "aws-iso-b")),
        ("sts.eu-isoe-west-1.cloud.adc-e.uk", ("eu-isoe-west-1", "aws-iso-e")),
        ("sts.aws-global.api.aws", ("us-east-1", "aws")),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_parse_accepts(host: str, expected: tuple[str, str]) -> None:
    assert parse_sts_host(host) == StsEndpoint(host, *expected)


HOSTILE_HOSTS = [
    "",
    "evil.com",
    "sts",
    "sts.",
    "amazonaws.com",
    "sts.amazonaws.com.",
    "sts.amazonaws.com:443",
    "STS.amazonaws.com",
    "sts.AMAZONAWS.com",
    "sts.EU-WEST-1.amazonaws.com",
    "sts.eu-west-1.amazonaws.com.",
    "sts.eu-west-1.amazonaws.com:443",
    "sts.eu-west-1.amazonaws.com:",
    "user@sts.eu-west-1.amazonaws.com",
    "sts.eu-west-1.amazonaws.com@evil.com",
    "sts.eu-west-1.amazonaws.com.evil.com",
    "sts.eu-west-1.amazonaws.com/",
    "evil.com/sts.eu-west-1.amazonaws.com",
    "evil.com#sts.eu-west-1.amazonaws.com",
    "sts.eu-west-1.evil.com",
    "sts.eu-west-1..amazonaws.com",
    "sts..amazonaws.com",
    ".sts.eu-west-1.amazonaws.com",
    " sts.eu-west-1.amazonaws.com",
    "sts.eu-west-1.amazonaws.com\n",
    "sts.eu-west-1\n.amazonaws.com",
    "sts.eu-west-1\x00.amazonaws.com",
    "sts.eu-west-1.amazonaws.com%2eevil.com",
    "sts.eu_west_1.amazonaws.com",
    "sts.eu-w\u0435st-1.amazonaws.com",  # Cyrillic e: botocore's \w would match it
    "sts.eu-west-\uff11.amazonaws.com",  # fullwidth 1: botocore's \d would match it
    "sts.evil.amazonaws.com",
    "sts.xx-foo-1.amazonaws.com",
    "sts.us-east-1-fips.amazonaws.com",
    "sts.fips-us-east-1.amazonaws.com",
    "sts-fips.amazonaws.com",
    "sts.cn-north-1.amazonaws.com",
    "sts.eu-west-1.amazonaws.com.cn",
    "sts.us-gov-west-1.amazonaws.com.cn",
    "sts.us-iso-east-1.amazonaws.com",
    # No SDK signs for these (GovCloud FIPS is sts.REGION.amazonaws.com; the ISO partitions
    # have no dual-stack STS); aws-iam-authenticator refuses them.
    "sts-fips.us-gov-west-1.amazonaws.com",
    "sts-fips.us-gov-east-1.amazonaws.com",
    "sts.us-iso-east-1.api.aws.ic.gov",
    "sts.us-isob-east-1.api.aws.scloud",
    "sts.eu-isoe-west-1.api.cloud-aws.adc-e.uk",
    "sts.us-isof-south-1.api.aws.hci.ic.gov",
    "sts-fips.us-iso-east-1.api.aws.ic.gov",
    "sts.eu-west-1.c2s.ic.gov",
    "sts.aws-global.amazonaws.com.cn",
    "sts.eu-west-1.api.aws.evil",
    "ec2.eu-west-1.amazonaws.com",
    "sts-fipss.eu-west-1.amazonaws.com",
    "xsts.eu-west-1.amazonaws.com",
    "sts.eu-west-1.sts.eu-west-1.amazonaws.com",
    "127.0.0.1",
    "[::1]",
    "169.254.169.254",
    f"sts.{'a' * 64}.amazonaws.com",
]


@pytest.mark.parametrize("host", HOSTILE_HOSTS, ids=ascii)
def test_parse_rejects(host: str) -> None:
    assert parse_sts_host(host) is None


# --- 3. region validation -----------------------------------------------------------------------


# (name, whether botocore's validate_region_name lets it through): we are stricter than
# botocore, which would go on to build hosts such as sts.EU-WEST-1.amazonaws.com.
INVALID_REGIONS = [
    ("EU-WEST-1", True),
    ("Eu-west-1", True),
    ("1eu-west-1", True),
    ("eu--west-1", True),
    ("eu-west-1\n", True),
    ("fips-1", True),  # botocore: FIPS region "1", host sts-fips.1.amazonaws.com
    ("-eu-west-1", False),
    ("eu-west-1-", False),
    ("fips-", False),
    ("123", False),
    ("eu_west_1", False),
    ("eu.west-1", False),
    (" eu-west-1", False),
    ("eu-west-1 ", False),
    ("eu-w\u00e9st-1", False),
    ("eu-west-1@evil.com", False),
    ("eu-west-1:443", False),
    ("eu-west-1/x", False),
    ("a" * 64, False),
]


@pytest.mark.parametrize(("region", "botocore_accepts"), INVALID_REGIONS, ids=ascii)
def test_invalid_region(region: str, botocore_accepts: bool) -> None:
    with pytest.raises(InvalidRegionError) as raised:
        sts_endpoint(region)
    assert raised.value.message == f"invalid region name {region!r}"
    assert raised.value.hint
    assert raised.value.exit_code == 2
    try:
        botocore.utils.validate_region_name(region)
    except botocore.exceptions.InvalidRegionError:
        assert not botocore_accepts
    else:
        assert botocore_accepts


@pytest.mark.parametrize("region", ["a", "a" * 63, "x1", "a-1-b", "fips"], ids=ascii)
def test_valid_region_shapes(region: str) -> None:
    assert sts_endpoint(region).host == f"sts.{region}.amazonaws.com"
