"""Replay a token the way EKS does, and map the identity through the aws-auth ConfigMap.

EKS runs aws-iam-authenticator; what this module reproduces from it (facts, not code):

- Verify (pkg/token/token.go): the offline rules live in `token.check_token`; then one GET of
  the URL with the `x-k8s-aws-id` header and `Accept: application/json`, no redirects, a 10 s
  timeout. The access key id comes from X-Amz-Credential. UserId is kept whole for IAM users,
  the root user and federated users; for roles it must be `ROLEID:SESSION`.
- Canonicalize (pkg/arn/arn.go): `arn:P:sts::A:assumed-role/R/S` becomes `arn:P:iam::A:role/R`;
  iam role/user/root and sts federated-user stay as they are; anything else is refused. STS
  never puts a role's path in an assumed-role ARN, so the canonical ARN has none.
- aws-auth (pkg/mapper/configmap): mapRoles and mapUsers are YAML lists whose entry keys match
  case-insensitively (Go's JSON decoding), while the data keys themselves are case-sensitive.
  An entry without its ARN is dropped. Roles are searched first, then users, comparing the
  lower-cased ARNs; a later entry for the same ARN replaces an earlier one. An ARN written with
  a role path never matches. Only when neither matches is mapAccounts consulted, and then the
  username is the canonical ARN, with no groups.
- renderTemplate (pkg/server/server.go): {{EC2PrivateDNSName}} first, and only if the session
  name is an instance id (`^i-(\\w{8}|\\w{17})$`, else the token is refused), then
  {{AccountID}}, {{SessionName}} (`@` becomes `-`), {{SessionNameRaw}}, {{AccessKeyID}}.

Stdlib only at import; yaml is imported when an aws-auth file is read, boto3 only for the EC2
lookup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Callable, NamedTuple
from urllib.parse import urlsplit

from eksauth import token
from eksauth.errors import EksAuthError, StsError, VerificationError

STS_TIMEOUT_SECONDS = 10.0
_MAX_REPLY_BYTES = 1 << 16
# The partitions aws-iam-authenticator's Canonicalize recognises (pkg/arn PartitionKeys).
KNOWN_PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"}
)
EC2_DNS_TEMPLATE = "{{EC2PrivateDNSName}}"
# Go's \w is ASCII-only and its `$` means end of text: hence [0-9A-Za-z_] and fullmatch.
_INSTANCE_ID = re.compile(r"i-(?:[0-9A-Za-z_]{8}|[0-9A-Za-z_]{17})")
_ROLE_WITH_PATH = re.compile(r"(arn:[^:]*:iam::[^:]*:role/)(?:[^/]*/)+([^/]+)")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

# What the common STS error codes mean for someone debugging EKS access.
_STS_REASONS = {
    "SignatureDoesNotMatch": (
        "the signature does not match: the token was altered, or signed for a different "
        "cluster than {cluster!r} (x-k8s-aws-id is part of the signature)"
    ),
    "InvalidClientTokenId": "STS does not know the access key that signed the token",
    "ExpiredToken": "the session credentials that signed the token have expired",
    "RequestExpired": "STS says the token has expired (or the signer's clock is off)",
    "AccessDenied": "STS denied the request",
    "Throttling": "STS is throttling requests; try again",
    "IncompleteSignature": "the token's signature parameters are incomplete",
}


class CallerIdentity(NamedTuple):
    """Who STS says signed the token, as aws-iam-authenticator's Identity holds it."""

    arn: str
    canonical_arn: str
    account: str
    user_id: str
    session_name: str  # "" unless an assumed role
    access_key_id: str
    region: str | None  # the region the token's signature is for


# -- verify --------------------------------------------------------------------------------------


def verify(
    bearer: str,
    *,
    cluster: str,
    now: float,
    sts_url: str | None = None,
    timeout: float = STS_TIMEOUT_SECONDS,
    log: Callable[[str], None] = lambda _: None,
) -> CallerIdentity:
    """Check `bearer` as EKS does: every offline rule first, then one GET to STS.

    A host that is not a standard STS endpoint (or the one `sts_url` names) is refused
    before any connection is made.
    """
    from eksauth.request import check_cluster

    check_cluster(cluster)
    presigned = token.check_token(bearer, now, sts_url)
    log(f"offline checks passed; asking {presigned.host} who signed the token")
    return call_sts(presigned, cluster, timeout=timeout)


def call_sts(
    presigned: token.PresignedUrl, cluster: str, *, timeout: float = STS_TIMEOUT_SECONDS
) -> CallerIdentity:
    """GET the presigned URL with `x-k8s-aws-id: cluster`; the identity STS confirms."""
    status, body = _get(presigned, cluster, timeout)
    fields = _reply_fields(body)
    if status != 200:
        raise StsError(_sts_failure(status, fields, cluster))
    return identity_from_reply(fields, presigned.access_key_id or "", presigned.region)


def _get(presigned: token.PresignedUrl, cluster: str, timeout: float) -> tuple[int, bytes]:
    import http.client
    import urllib.error
    import urllib.request

    # S310: the scheme is https, or http only for the host --sts-url names (check_offline).
    request = urllib.request.Request(  # noqa: S310
        presigned.url,
        headers={token.CLUSTER_ID_HEADER: cluster, "Accept": "application/json"},
        method="GET",
    )
    try:
        with _opener(presigned.host).open(request, timeout=timeout) as reply:
            return int(reply.status), bytes(reply.read(_MAX_REPLY_BYTES))
    except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx: STS's own answer
        with exc:
            return exc.code, exc.read(_MAX_REPLY_BYTES)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StsError(f"could not reach STS at {presigned.host}: {reason}") from None


def _opener(host: str) -> Any:
    import ssl
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        # EKS does not follow redirects: a 3xx is an answer, not a new place to send the token.
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    # Like Go's ProxyFromEnvironment, never send loopback traffic through a proxy.
    proxies: dict[str, str] | None = {} if urlsplit("//" + host).hostname in _LOOPBACK else None
    return urllib.request.build_opener(
        NoRedirect,
        urllib.request.ProxyHandler(proxies),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
    )


def _reply_fields(body: bytes) -> dict[str, str]:
    """The leaf values of an STS answer (JSON, or XML as STS sends by default), by name."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            return dict(_json_leaves(json.loads(text)))
        except ValueError:
            return {}
    if text.startswith("<") and "<!DOCTYPE" not in text.upper():
        # No DOCTYPE means no entity declarations: ElementTree cannot be made to expand any.
        from xml.etree import ElementTree

        try:
            root = ElementTree.fromstring(text)  # noqa: S314 (DOCTYPE refused above)
        except ElementTree.ParseError:
            return {}
        return {
            element.tag.rsplit("}", 1)[-1]: (element.text or "").strip()
            for element in reversed(list(root.iter()))
            if len(element) == 0
        }
    return {}


def _json_leaves(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                yield from _json_leaves(item)
            elif item is not None:
                yield str(key), str(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_leaves(item)


def _sts_failure(status: int, fields: dict[str, str], cluster: str) -> str:
    code = fields.get("Code")
    if 300 <= status < 400:
        return f"STS answered with a redirect (HTTP {status}), which EKS does not follow"
    if code is None:
        return f"STS answered HTTP {status} without an error code"
    reason = _STS_REASONS.get(code, "STS refused the token").format(cluster=cluster)
    message = fields.get("Message")
    return f"{reason} ({code}{': ' + message if message else ''})"


def identity_from_reply(
    fields: dict[str, str], access_key_id: str, region: str | None = None
) -> CallerIdentity:
    """The identity in a GetCallerIdentity answer, checked as the authenticator checks it."""
    arn, account, user_id = fields.get("Arn"), fields.get("Account"), fields.get("UserId")
    if not (arn and account and user_id):
        raise StsError("STS answered 200 but without Arn, Account and UserId")
    canonical = canonicalize(arn)
    session_name = ""
    if not _is_whole_user_id(canonical):
        role_id, colon, session_name = user_id.partition(":")
        if not colon or ":" in session_name:
            raise StsError(f"STS returned a malformed UserId {user_id!r} for a role")
        user_id = role_id
    return CallerIdentity(arn, canonical, account, user_id, session_name, access_key_id, region)


def _is_whole_user_id(canonical: str) -> bool:
    # Users, the root user and federated users keep `AIDA...`/`ACCOUNT:NAME` whole: splitting a
    # federated user's id would leave the account id, indistinguishable from root.
    resource = canonical.split(":", 5)[5]
    return resource == "root" or resource.startswith(("user/", "federated-user/"))


def canonicalize(arn: str) -> str:
    """The ARN aws-auth is matched against; `StsError` for one EKS would not accept."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise StsError(f"STS returned {arn!r}, which is not an ARN")
    _, partition, service, _, account, resource = parts
    if partition not in KNOWN_PARTITIONS:
        raise StsError(f"the ARN {arn!r} is in partition {partition!r}, which EKS does not know")
    kind, _, rest = resource.partition("/")
    if service == "sts" and kind == "federated-user":
        return arn
    if service == "sts" and kind == "assumed-role":
        role, slash, _session = rest.rpartition("/")
        if not slash or not role:
            raise StsError(f"the assumed-role ARN {arn!r} names no role")
        return f"arn:{partition}:iam::{account}:role/{role}"
    if service == "iam" and kind in ("role", "user", "root"):
        return arn
    raise StsError(f"the ARN {arn!r} is not an IAM user, role or root identity EKS accepts")


# -- aws-auth ------------------------------------------------------------------------------------


class Entry(NamedTuple):
    """One mapRoles or mapUsers entry."""

    arn: str
    username: str
    groups: tuple[str, ...]
    where: str  # e.g. "mapRoles[2]", for messages


class AwsAuth(NamedTuple):
    """The aws-auth ConfigMap's mappings, and what could not be read in it."""

    roles: tuple[Entry, ...]
    users: tuple[Entry, ...]
    accounts: frozenset[str]
    problems: tuple[str, ...]


class Mapping(NamedTuple):
    """What aws-auth makes of an identity. `username` None: EKS would refuse it (`reason`)."""

    username: str | None
    groups: tuple[str, ...]
    source: str | None  # "mapRoles[0]", "mapUsers[1]" or "mapAccounts"
    reason: str | None
    notes: tuple[str, ...]  # what the reader should know: unresolved templates, near misses


_DATA_KEYS = ("mapRoles", "mapUsers", "mapAccounts")


def load_aws_auth(text: str) -> AwsAuth:
    """Read the ConfigMap as `kubectl get configmap aws-auth -o yaml` (or json) prints it, or
    just its `data`. Broken entries become `problems`, as the authenticator skips them."""
    data = _configmap_data(_yaml(text, "the aws-auth file"))
    problems = [
        f"data key {key!r} is ignored: EKS reads {known!r} (data keys are case-sensitive)"
        for key in data
        for known in _DATA_KEYS
        if key != known and key.lower() == known.lower()
    ]
    roles = _entries(data.get("mapRoles"), "mapRoles", "rolearn", problems)
    users = _entries(data.get("mapUsers"), "mapUsers", "userarn", problems)
    accounts = _accounts(data.get("mapAccounts"), problems)
    return AwsAuth(roles, users, accounts, tuple(problems))


def _yaml(text: str, what: str) -> Any:
    import yaml

    try:
        # BaseLoader: every scalar stays the text it was written as (an account id like
        # 012345670123 is not read as an octal number), and no Python object can be built.
        return yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 (BaseLoader builds only str/list/dict)
    except yaml.YAMLError as exc:
        raise VerificationError(f"{what} is not valid YAML: {' '.join(str(exc).split())}") from None


def _configmap_data(document: Any) -> dict[str, Any]:
    if isinstance(document, dict) and isinstance(document.get("data"), dict):
        return dict(document["data"])
    if isinstance(document, dict) and any(key in document for key in _DATA_KEYS):
        return dict(document)
    raise VerificationError(
        "the aws-auth file has no mapRoles, mapUsers or mapAccounts",
        hint="pass `kubectl get configmap aws-auth -n kube-system -o yaml`, or its data",
    )


def _entries(text: Any, section: str, arn_key: str, problems: list[str]) -> tuple[Entry, ...]:
    items = _section(text, section, problems)
    entries = []
    for index, item in enumerate(items):
        where = f"{section}[{index}]"
        # Go's JSON decoding matches field names case-insensitively: RoleARN, rolearn, rOlEaRn.
        fields = {str(k).lower(): v for k, v in item.items()} if isinstance(item, dict) else {}
        arn, username, groups = (
            fields.get(arn_key),
            fields.get("username", ""),
            fields.get("groups"),
        )
        if not isinstance(arn, str) or not arn:
            hint = " (sso entries are not evaluated)" if "sso" in fields else ""
            problems.append(f"{where} has no {arn_key} and is ignored{hint}")
            continue
        if groups in (None, ""):
            groups = []
        if not isinstance(username, str) or not isinstance(groups, list):
            problems.append(f"{where} has a malformed username or groups and is ignored")
            continue
        entries.append(Entry(arn, username, tuple(str(g) for g in groups), where))
    return tuple(entries)


def _section(text: Any, section: str, problems: list[str]) -> list[Any]:
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        problems.append(f"{section} must be a YAML string (`{section}: |`) and is ignored")
        return []
    try:
        items = _yaml(text, section)
    except VerificationError as exc:
        problems.append(f"{exc.message}; it is ignored")
        return []
    if items is None or items == "":
        return []
    if not isinstance(items, list):
        problems.append(f"{section} is not a YAML list and is ignored")
        return []
    return items


def _accounts(text: Any, problems: list[str]) -> frozenset[str]:
    items = _section(text, "mapAccounts", problems)
    return frozenset(str(item).strip() for item in items if isinstance(item, str))


def map_identity(
    caller: CallerIdentity,
    aws_auth: AwsAuth,
    *,
    resolve_dns: Callable[[str], str] | None = None,
) -> Mapping:
    """The Kubernetes user and groups aws-auth gives `caller`, as the authenticator computes
    them. `resolve_dns` turns an instance id into its private DNS name (EksAuthError if it
    cannot); without it {{EC2PrivateDNSName}} stays unresolved, with a note saying so."""
    key = caller.canonical_arn.lower()
    entry = _last_match(aws_auth.roles, key) or _last_match(aws_auth.users, key)
    if entry is not None:
        return _render_entry(entry, caller, resolve_dns)
    if caller.account in aws_auth.accounts:
        return Mapping(caller.canonical_arn, (), "mapAccounts", None, ())
    reason = (
        f"{caller.canonical_arn} is not mapped by aws-auth: no mapRoles or mapUsers entry "
        f"matches it, and account {caller.account} is not in mapAccounts"
    )
    return Mapping(None, (), None, reason, _near_misses(aws_auth.roles, key))


def _last_match(entries: tuple[Entry, ...], key: str) -> Entry | None:
    # The authenticator stores entries in a map keyed by the lower-cased ARN: the last wins.
    return next((e for e in reversed(entries) if e.arn.lower() == key), None)


def strip_role_path(arn: str) -> str:
    """`arn:P:iam::A:role/some/path/R` → `arn:P:iam::A:role/R`; other ARNs unchanged."""
    return _ROLE_WITH_PATH.sub(r"\1\2", arn)


def _near_misses(roles: tuple[Entry, ...], key: str) -> tuple[str, ...]:
    return tuple(
        f"{entry.where} names {entry.arn} with a path; EKS compares role ARNs without "
        f"their path, so write {strip_role_path(entry.arn)}"
        for entry in roles
        if entry.arn.lower() != key and strip_role_path(entry.arn).lower() == key
    )


def _render_entry(
    entry: Entry, caller: CallerIdentity, resolve_dns: Callable[[str], str] | None
) -> Mapping:
    dns_name: str | None = None
    notes: tuple[str, ...] = ()
    if any(EC2_DNS_TEMPLATE in text for text in (entry.username, *entry.groups)):
        if not _INSTANCE_ID.fullmatch(caller.session_name):
            reason = (
                f"{entry.where} maps to {EC2_DNS_TEMPLATE}, but the session name "
                f"{caller.session_name!r} is not an EC2 instance id, so EKS refuses the token"
            )
            return Mapping(None, (), entry.where, reason, ())
        dns_name, notes = _resolve(caller.session_name, resolve_dns)
    return Mapping(
        render(entry.username, caller, dns_name),
        tuple(render(group, caller, dns_name) for group in entry.groups),
        entry.where,
        None,
        notes,
    )


def _resolve(
    instance_id: str, resolve_dns: Callable[[str], str] | None
) -> tuple[str | None, tuple[str, ...]]:
    if resolve_dns is None:
        return None, (f"{EC2_DNS_TEMPLATE} left unresolved: no EC2 lookup was requested",)
    try:
        return resolve_dns(instance_id), ()
    except EksAuthError as exc:
        return None, (f"{EC2_DNS_TEMPLATE} left unresolved: {exc.one_line()}",)


def render(template: str, caller: CallerIdentity, dns_name: str | None = None) -> str:
    """Fill in the aws-auth templates in the authenticator's order; with no `dns_name`,
    {{EC2PrivateDNSName}} is left as written."""
    if dns_name is not None:
        template = template.replace(EC2_DNS_TEMPLATE, dns_name)
    return (
        template.replace("{{AccountID}}", caller.account)
        .replace("{{SessionName}}", caller.session_name.replace("@", "-"))
        .replace("{{SessionNameRaw}}", caller.session_name)
        .replace("{{AccessKeyID}}", caller.access_key_id)
    )


def ec2_private_dns_name(
    instance_id: str, *, region: str | None, profile: str | None = None
) -> str:
    """The instance's PrivateDnsName from ec2:DescribeInstances, as the authenticator asks.

    Raises EksAuthError (the reason, for a note) when there are no credentials or EC2 says no.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    config = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2})
    try:
        client = boto3.Session(profile_name=profile, region_name=region).client(
            "ec2", config=config
        )
        reply = client.describe_instances(InstanceIds=[instance_id])
    except NoCredentialsError:
        raise EksAuthError("no AWS credentials to call ec2:DescribeInstances") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "an error")
        raise EksAuthError(f"ec2:DescribeInstances answered {code}") from None
    except BotoCoreError as exc:
        raise EksAuthError(f"ec2:DescribeInstances failed: {exc}") from None
    for reservation in reply.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            if instance.get("InstanceId") == instance_id and instance.get("PrivateDnsName"):
                return instance["PrivateDnsName"]
    raise EksAuthError(f"EC2 has no private DNS name for {instance_id}")
