"""Replay a token the way EKS does: its offline rules, then one GET to STS, then the identity.

What this reproduces from aws-iam-authenticator (facts, not code):

- Verify (pkg/token/token.go): the offline rules live in `token.check_token`; then one GET of
  the URL with the `x-k8s-aws-id` header and `Accept: application/json`, no redirects, a 10 s
  timeout. The access key id comes from X-Amz-Credential. UserId is kept whole for IAM users,
  the root user and federated users; for roles it must be `ROLEID:SESSION`.
- Canonicalize (pkg/arn/arn.go): `arn:P:sts::A:assumed-role/R/S` becomes `arn:P:iam::A:role/R`;
  iam role/user/root and sts federated-user stay as they are; anything else is refused. STS
  never puts a role's path in an assumed-role ARN, so the canonical ARN has none.

Stdlib only (urllib for the GET).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, NamedTuple

from eksauth import jsonlite
from eksauth.aws import refusals
from eksauth.errors import StsError
from eksauth.token import bearer as token
from eksauth.token.endpoints import PARTITIONS

STS_TIMEOUT_SECONDS = 10.0
_MAX_REPLY_BYTES = 1 << 16
# The partitions ARNs may name: botocore's, from the one table (aws-iam-authenticator's
# pkg/endpoints PARTITIONS has the same eight, aws-eusc included).
KNOWN_PARTITIONS = frozenset(PARTITIONS)

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
    profile: str | None = None,
) -> CallerIdentity:
    """Check `bearer` as EKS does: every offline rule first, then one GET to STS.

    A host that is not a standard STS endpoint (or the one `sts_url` names) is refused
    before any connection is made.
    """
    from eksauth.request import check_cluster

    check_cluster(cluster)
    presigned = token.check_token(bearer, now, sts_url)
    log(f"offline checks passed; asking {presigned.host} who signed the token")
    return call_sts(presigned, cluster, timeout=timeout, profile=profile)


def call_sts(
    presigned: token.PresignedUrl,
    cluster: str,
    *,
    timeout: float = STS_TIMEOUT_SECONDS,
    profile: str | None = None,
) -> CallerIdentity:
    """GET the presigned URL with `x-k8s-aws-id: cluster`; the identity STS confirms.
    `profile`, when known, is named in the hint of a refusal."""
    status, body = _get(presigned, cluster, timeout)
    fields = _reply_fields(body)
    if status != 200:
        raise _sts_failure(status, fields, cluster, profile)
    return identity_from_reply(fields, presigned.access_key_id or "", presigned.region)


def _get(presigned: token.PresignedUrl, cluster: str, timeout: float) -> tuple[int, bytes]:
    """One GET of the token's URL with the `x-k8s-aws-id` header, as EKS sends it: bounded as
    a whole (a server that trickles one header byte a second cannot hold us past `timeout`),
    no redirects (a 3xx is STS's answer, not a new place to send the token)."""
    from eksauth.token import httpget

    reply = httpget.get(
        presigned.url,
        headers={token.CLUSTER_ID_HEADER: cluster, "Accept": "application/json"},
        timeout=timeout,
        what=f"STS at {presigned.host}",
        limit=_MAX_REPLY_BYTES,
        error=StsError,
        hint="check the network and proxy settings",
    )
    return reply.status, reply.body


def _reply_fields(body: bytes) -> dict[str, str]:
    """The leaf values of an STS answer (JSON, or XML as STS sends by default), by name."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            return dict(_json_leaves(jsonlite.loads(text)))
        except (ValueError, _TooDeep):  # jsonlite: strict, and bounded by the recursion limit
            return {}
    if text.startswith("<") and "<!DOCTYPE" not in text.upper():
        # No DOCTYPE means no entity declarations: ElementTree cannot be made to expand any.
        from xml.etree import ElementTree

        try:
            root = ElementTree.fromstring(text)  # noqa: S314 (DOCTYPE refused above)
        except (ElementTree.ParseError, RecursionError):
            return {}
        # iter() walks without recursion; GetCallerIdentity's answer is 4 levels deep.
        return {
            element.tag.rsplit("}", 1)[-1]: (element.text or "").strip()
            for element in reversed(list(root.iter()))
            if len(element) == 0
        }
    return {}


class _TooDeep(Exception):
    pass


# GetCallerIdentity's JSON answer is 3 levels deep; anything far deeper is not STS.
_MAX_REPLY_DEPTH = 32


def _json_leaves(value: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    if depth > _MAX_REPLY_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                yield from _json_leaves(item, depth + 1)
            elif item is not None:
                yield str(key), str(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_leaves(item, depth + 1)


def _sts_failure(
    status: int, fields: dict[str, str], cluster: str, profile: str | None
) -> StsError:
    code = fields.get("Code")
    if 300 <= status < 400:
        return StsError(f"STS answered with a redirect (HTTP {status}), which EKS does not follow")
    if code is None:
        return StsError(f"STS answered HTTP {status} without an error code")
    reason = _STS_REASONS.get(code, "STS refused the token").format(cluster=cluster)
    message = fields.get("Message")
    text = f"{reason} ({code}{': ' + message if message else ''})"
    return StsError(text, hint=refusals.hint(code, profile=profile), code=code)


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
