"""Which STS host a token is presigned for, and which region its SigV4 signature names.

This reproduces what botocore resolves for the `sts` service, from a small table instead of
botocore's data files. The reason is the other direction of the same fact: `decode`, `verify`
and the offline kubeconfig checks must recognise every standard STS host (`parse_sts_host`)
without importing botocore at all, and the signer must name exactly the host EKS will accept
(never an AWS_ENDPOINT_URL_STS override, which botocore's resolver would apply). The sources it
mirrors (paths under botocore/, checked against botocore 1.44):

- data/sts/2011-06-15/endpoint-rule-set-1.json.gz, the STS endpoint rules: with
  UseGlobalEndpoint, no FIPS and no dual-stack, 16 legacy regions go to sts.amazonaws.com
  signed for us-east-1; otherwise FIPS+dual-stack is `sts-fips.{region}.{dualStackDnsSuffix}`,
  FIPS is `sts-fips.{region}.{dnsSuffix}` except in aws-us-gov where it is
  `sts.{region}.amazonaws.com`, dual-stack is `sts.{region}.{dualStackDnsSuffix}`, region
  `aws-global` is sts.amazonaws.com, and anything else is `sts.{region}.{dnsSuffix}`. The rules
  never call isValidHostLabel on the region.
- data/partitions.json via endpoint_provider.py `aws_partition`: the first partition (in file
  order) that lists the region or whose regionRegex matches it, else `aws`.
- args.py: UseGlobalEndpoint is `sts_regional_endpoints == "legacy"` (env
  AWS_STS_REGIONAL_ENDPOINTS; unset or empty means "regional", see configprovider.py) and the
  region is in LEGACY_GLOBAL_STS_REGIONS (the same 16 names as the rules).
- client.py `_normalize_fips_region`: every `fips-` and `-fips` is cut out of the region
  name and FIPS is switched on, so `us-gov-west-1-fips` means us-gov-west-1 with FIPS.
- data/endpoints.json: with no region the client resolves `aws-global`, whose credential
  scope (hence signing region) is us-east-1; every other region signs for itself.

Where we differ on purpose (each pinned by a test in tests/test_endpoints.py):
- Region names are checked more strictly than botocore's validate_region_name (utils.py).
- "" is no region (botocore builds the invalid https://sts..amazonaws.com), and no region
  with FIPS or dual-stack resolves as us-east-1 (botocore gives hosts under aws-global, such
  as sts-fips.aws-global.amazonaws.com, that do not exist).
- Dual-stack in the ISO partitions (aws-iso, aws-iso-b, aws-iso-e, aws-iso-f) is refused:
  data/endpoints.json has no dual-stack variant there, so no dual-stack STS host exists and
  aws-iam-authenticator refuses one. botocore's client fails too for aws-iso-e and aws-iso-f
  (EndpointVariantError, regions.py), but presigns the rule set's host for aws-iso and aws-iso-b.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eksauth.errors import EksAuthError, InvalidRegionError

GLOBAL_HOST = "sts.amazonaws.com"
GLOBAL_SIGNING_REGION = "us-east-1"


@dataclass(frozen=True)
class StsEndpoint:
    """An STS host, the region its requests are signed for, and its partition."""

    host: str
    signing_region: str
    partition: str


class _Partition:
    """One partitions.json entry, cut down to what STS endpoint resolution reads.

    A plain class rather than a dataclass: each dataclass costs import time on the hot path.
    """

    __slots__ = (
        "dns_suffix",
        "dual_stack_dns_suffix",
        "listed_outside_regex",
        "name",
        "regex",
        "sts_dual_stack",
    )

    def __init__(
        self,
        name: str,
        dns_suffix: str,
        dual_stack_dns_suffix: str,
        sts_dual_stack: bool,
        regex: str,
        *listed: str,
    ) -> None:
        self.name = name
        self.dns_suffix = dns_suffix
        self.dual_stack_dns_suffix = dual_stack_dns_suffix
        # Whether STS has dual-stack hosts here: endpoints.json's partition defaults carry a
        # `dualstack` variant (the ISO partitions have none, so no SDK client signs for one
        # and aws-iam-authenticator refuses them), although partitions.json says every
        # partition supports dual-stack and the STS rule set would build a host.
        self.sts_dual_stack = sts_dual_stack
        self.regex = re.compile(regex)
        # Only the listed regions that regionRegex misses: the list decides just those.
        self.listed_outside_regex = frozenset(listed)

    def has_region(self, region: str) -> bool:
        return region in self.listed_outside_regex or self.regex.match(region) is not None


# botocore/data/partitions.json, in file order: the first partition that matches wins. This is
# the one list of partitions eksauth knows (signing, verifying, ARN canonicalisation); a test
# ties it to botocore's data. Every partition there supports both FIPS and dual-stack, so the
# rule set's "does not support" errors cannot happen and are not modelled; STS's own lack of
# dual-stack hosts in the ISO partitions is the 4th value (endpoints.json, see _Partition).
_PARTITIONS = (
    _Partition(
        "aws",
        "amazonaws.com",
        "api.aws",
        True,
        r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$",
        "aws-global",
    ),
    _Partition(
        "aws-cn",
        "amazonaws.com.cn",
        "api.amazonwebservices.com.cn",
        True,
        r"^cn\-\w+\-\d+$",
        "aws-cn-global",
    ),
    _Partition(
        "aws-eusc",
        "amazonaws.eu",
        "api.amazonwebservices.eu",
        True,
        r"^eusc\-(de)\-\w+\-\d+$",
    ),
    _Partition(
        "aws-iso",
        "c2s.ic.gov",
        "api.aws.ic.gov",
        False,
        r"^us\-iso\-\w+\-\d+$",
        "aws-iso-global",
    ),
    _Partition(
        "aws-iso-b",
        "sc2s.sgov.gov",
        "api.aws.scloud",
        False,
        r"^us\-isob\-\w+\-\d+$",
        "aws-iso-b-global",
    ),
    _Partition(
        "aws-iso-e",
        "cloud.adc-e.uk",
        "api.cloud-aws.adc-e.uk",
        False,
        r"^eu\-isoe\-\w+\-\d+$",
        "aws-iso-e-global",
    ),
    _Partition(
        "aws-iso-f",
        "csp.hci.ic.gov",
        "api.aws.hci.ic.gov",
        False,
        r"^us\-isof\-\w+\-\d+$",
        "aws-iso-f-global",
    ),
    _Partition(
        "aws-us-gov",
        "amazonaws.com",
        "api.aws",
        True,
        r"^us\-gov\-\w+\-\d+$",
        "aws-us-gov-global",
    ),
)
_DEFAULT_PARTITION = _PARTITIONS[0]
# The partition names, for the ARN rules (replay.canonicalize) as for the hosts.
PARTITIONS = tuple(partition.name for partition in _PARTITIONS)

# The rule set's UseGlobalEndpoint branch; opt-in regions (af-south-1...) are not in it.
_LEGACY_GLOBAL_REGIONS = frozenset(
    {
        "ap-northeast-1",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "aws-global",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)

# Stricter than botocore's validate_region_name (which lets uppercase, a leading digit and
# "--" through, and whose `$` accepts a trailing newline): a region is always lowercase and
# its name goes into a host name and a credential scope, so refuse anything odd early.
_REGION_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_MAX_REGION_LEN = 63
_REGION_HINT = "a region is lowercase letters, digits and single hyphens, e.g. eu-west-1"


def sts_endpoint(
    region: str | None,
    *,
    fips: bool = False,
    dualstack: bool = False,
    legacy_global: bool = False,
) -> StsEndpoint:
    """The STS endpoint botocore would presign GetCallerIdentity for.

    `legacy_global` is `sts_regional_endpoints = legacy`. No region (None or "") means the
    global endpoint; with FIPS or dual-stack it resolves as us-east-1 does, because botocore
    would build hosts under the `aws-global` pseudo region that do not exist in DNS.
    Raises InvalidRegionError for a name that cannot be a region.
    """
    if not region:
        if not (fips or dualstack):
            return StsEndpoint(GLOBAL_HOST, GLOBAL_SIGNING_REGION, _DEFAULT_PARTITION.name)
        region = GLOBAL_SIGNING_REGION
    bare = _bare_region(region)
    return _resolve(
        bare, fips=fips or bare != region, dualstack=dualstack, legacy_global=legacy_global
    )


def _bare_region(region: str) -> str:
    """The region without botocore's FIPS pseudo-region markers; raises if either is bad."""
    bare = region.replace("fips-", "").replace("-fips", "")
    # Check both: cutting the markers out can leave a bad name ("fips-1" becomes "1").
    if not (_is_region(region) and _is_region(bare)):
        raise InvalidRegionError(f"invalid region name {region!r}", hint=_REGION_HINT)
    return bare


def _is_region(name: str) -> bool:
    return len(name) <= _MAX_REGION_LEN and _REGION_RE.fullmatch(name) is not None


def _resolve(region: str, *, fips: bool, dualstack: bool, legacy_global: bool) -> StsEndpoint:
    partition = _partition_of(region) or _DEFAULT_PARTITION
    if dualstack and not partition.sts_dual_stack:
        raise EksAuthError(
            f"STS has no dual-stack endpoint in {partition.name} (region {region}), so EKS would "
            "refuse the token",
            hint="turn off AWS_USE_DUALSTACK_ENDPOINT / use_dualstack_endpoint for this region",
        )
    if not (fips or dualstack) and (
        region == "aws-global" or (legacy_global and region in _LEGACY_GLOBAL_REGIONS)
    ):
        return StsEndpoint(GLOBAL_HOST, GLOBAL_SIGNING_REGION, partition.name)
    return StsEndpoint(
        _host(region, partition, fips, dualstack), _signing_region(region), partition.name
    )


def _partition_of(region: str) -> _Partition | None:
    for partition in _PARTITIONS:
        if partition.has_region(region):
            return partition
    return None


def _host(region: str, partition: _Partition, fips: bool, dualstack: bool) -> str:
    # GovCloud's regional STS hosts are already FIPS endpoints; the rule set spells out
    # amazonaws.com here rather than using the partition's suffix.
    if fips and not dualstack and partition.name == "aws-us-gov":
        return f"sts.{region}.amazonaws.com"
    prefix = "sts-fips" if fips else "sts"
    suffix = partition.dual_stack_dns_suffix if dualstack else partition.dns_suffix
    return f"{prefix}.{region}.{suffix}"


def _signing_region(region: str) -> str:
    # endpoints.json gives aws-global a us-east-1 credential scope even on variant hosts;
    # the other pseudo regions (aws-cn-global...) have none, so botocore signs for the name.
    return GLOBAL_SIGNING_REGION if region == "aws-global" else region


def parse_sts_host(host: str) -> StsEndpoint | None:
    """The endpoint a token's host names, or None unless it is an STS host of a known partition.

    Accepts sts.amazonaws.com and exactly the regional hosts the resolver above builds for the
    region the host names, in that region's partition (plain, FIPS, and dual-stack where STS has
    it): so not sts-fips.us-gov-*.amazonaws.com, nor an ISO dual-stack host, which no SDK signs
    for. Matching is exact, so ports, userinfo, uppercase, a trailing dot or extra labels all
    give None.
    """
    if host == GLOBAL_HOST:
        return StsEndpoint(GLOBAL_HOST, GLOBAL_SIGNING_REGION, _DEFAULT_PARTITION.name)
    region, partition = _region_of(host)
    if partition is None or host not in _hosts(region, partition):
        return None
    return StsEndpoint(host, _signing_region(region), partition.name)


def _region_of(host: str) -> tuple[str, _Partition | None]:
    """The region an `sts[-fips].REGION.…` host names, and the partition that has it."""
    service, _, rest = host.partition(".")
    region = rest.partition(".")[0]
    if service not in ("sts", "sts-fips") or not _is_region(region):
        return region, None
    return region, _partition_of(region)


def _hosts(region: str, partition: _Partition) -> tuple[str, ...]:
    """Every regional STS host the rules give `region`: plain, FIPS, dual-stack, both."""
    dualstack = (False, True) if partition.sts_dual_stack else (False,)
    return tuple(
        dict.fromkeys(_host(region, partition, f, d) for f in (False, True) for d in dualstack)
    )


def host_problem(host: str) -> str:
    """Why `host` is not one `parse_sts_host` accepts, in words for `verify`'s one line."""
    region, partition = _region_of(host)
    if partition is None and _is_region(region) and host in _hosts(region, _DEFAULT_PARTITION):
        # aws-iam-authenticator resolves it as the SDK does (falling back to aws's format),
        # so the host passes its check; the STS call then fails: there is no such endpoint.
        return (
            f"{host!r} names region {region!r}, which no AWS partition has: EKS accepts the "
            "host, but no STS answers there, so the token cannot authenticate"
        )
    suffix = host.partition(".")[2].partition(".")[2]
    if partition is not None and suffix in (partition.dns_suffix, partition.dual_stack_dns_suffix):
        return (
            f"{host!r} is a host no SDK signs for: {partition.name}'s STS hosts for {region} are "
            f"{', '.join(_hosts(region, partition))}; EKS rejects the token"
        )
    return f"{host!r} is not an STS endpoint of any known partition; EKS rejects the token"
