"""An independent AWS Signature Version 4 verifier for the stand-in servers.

Written from the AWS SigV4 specification with hashlib/hmac/urllib.parse only. It must not
import botocore: the stand-ins exist to check what botocore (and eksauth) produce, so they
cannot share its code.

Facts this module relies on (from the spec and from how botocore 1.44 signs):

* The canonical query string is every parameter except ``X-Amz-Signature``, each name and
  value URI-encoded (unreserved ``A-Za-z0-9-_.~`` kept, everything else ``%XX`` upper-case),
  sorted by encoded name, then by encoded value. The raw query is percent-decoded first, so
  ``%7E`` and ``~`` canonicalize alike. A literal ``+`` stays a ``+`` (it is not a space).
* Non-S3 services canonicalize the path by URI-encoding the path *as received* (already
  percent-encoded), so ``%`` is encoded again (the documented "double encoding").
* The payload hash of a presigned STS GET is the SHA-256 of the empty body
  (``e3b0c442...``), *not* ``UNSIGNED-PAYLOAD``: only S3 presigning uses that constant.
  A ``X-Amz-Content-SHA256`` header, when sent, replaces the computed hash.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import Message
from typing import Callable, Optional, Protocol, Union
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

#: STS accepts a presigned GetCallerIdentity for 15 minutes after X-Amz-Date, whatever
#: X-Amz-Expires says; aws-iam-authenticator applies the same 15 minutes.
PRESIGNED_MAX_AGE = timedelta(minutes=15)
#: Maximum clock skew between the signer and the server.
MAX_SKEW = timedelta(minutes=5)
#: Largest X-Amz-Expires SigV4 allows (7 days).
MAX_EXPIRES = 604800

_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)

#: Headers as a plain mapping (any case) or as ``http.server``'s ``self.headers``.
HeaderSource = Union[Mapping[str, str], Message]


class KeyRecord(Protocol):
    """What a secret lookup returns for a known access key id."""

    @property
    def secret_key(self) -> str: ...

    @property
    def session_token(self) -> str | None: ...

    @property
    def expiration(self) -> datetime | None: ...


SecretLookup = Callable[[str], Optional[KeyRecord]]


class SigV4Failure(Exception):
    """A request failed authentication; ``code`` is the AWS error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VerifiedRequest:
    """What a successfully verified request proved."""

    auth: str  # "presigned" or "header"
    access_key_id: str
    region: str
    service: str
    amz_date: datetime
    signed_headers: tuple[str, ...]
    #: Percent-decoded query parameters (last value wins), without X-Amz-Signature.
    params: dict[str, str] = field(default_factory=dict)
    expires: int | None = None
    session_token: str | None = None


# --------------------------------------------------------------------------- primitives


def uri_encode(value: str, *, encode_slash: bool = True) -> str:
    """URI-encode per SigV4: unreserved characters stay, all else is %XX (upper-case hex)."""
    return quote(value, safe="" if encode_slash else "/")


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Split a raw query string into percent-decoded (name, value) pairs, in order."""
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_query_string(
    pairs: Sequence[tuple[str, str]], *, exclude: Sequence[str] = ("X-Amz-Signature",)
) -> str:
    """Canonical query string from decoded pairs (see module docstring)."""
    encoded = sorted(
        (uri_encode(name), uri_encode(value)) for name, value in pairs if name not in exclude
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_uri(path: str) -> str:
    """Canonical URI for non-S3 services: dot segments removed, then encoded (again)."""
    if not path:
        return "/"
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return uri_encode(normalized, encode_slash=False)


def trim_header_value(value: str) -> str:
    """Trim the value and collapse inner runs of whitespace to a single space."""
    return " ".join(value.split())


def lower_headers(headers: HeaderSource) -> dict[str, list[str]]:
    """Case-insensitive view of headers: lower-case name -> all values in order.

    Accepts a plain mapping or an ``email.message.Message`` (``http.server`` headers), whose
    ``get_all`` keeps repeated headers.
    """
    result: dict[str, list[str]] = {}
    if isinstance(headers, Message):
        for name in dict.fromkeys(k.lower() for k in headers):
            result[name] = [str(v) for v in headers.get_all(name) or []]
        return result
    for name, value in headers.items():
        result.setdefault(name.lower(), []).append(value)
    return result


def canonical_headers(headers: Mapping[str, Sequence[str]], signed: Sequence[str]) -> str:
    """Canonical header block (each line ends with a newline) for the signed header names.

    ``headers`` is a lower-cased mapping as returned by :func:`lower_headers`.
    """
    lines = []
    for name in signed:
        values = headers.get(name)
        if values is None:
            raise SigV4Failure(
                "SignatureDoesNotMatch", f"Signed header '{name}' is missing from the request."
            )
        lines.append(f"{name}:{','.join(trim_header_value(v) for v in values)}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    *,
    headers_block: str,
    signed_headers: str,
    payload_hash: str,
) -> str:
    return "\n".join([method.upper(), uri, query, headers_block, signed_headers, payload_hash])


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    k_date = _hmac(f"AWS4{secret_key}".encode(), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


def signature(key: bytes, to_sign: str) -> str:
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def format_amz_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(AMZ_DATE_FORMAT)


def parse_amz_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SigV4Failure(
            "IncompleteSignature", f"X-Amz-Date '{value}' must be in the ISO8601 basic format."
        ) from None


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class _Credential:
    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def _parse_credential(value: str) -> _Credential:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts):
        raise SigV4Failure(
            "IncompleteSignature",
            "Credential must have the form <key>/<date>/<region>/<service>/aws4_request.",
        )
    if parts[4] != "aws4_request":
        raise SigV4Failure(
            "SignatureDoesNotMatch", "Credential should be scoped with a valid terminator."
        )
    return _Credential(*parts[:4])


def _parse_signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or any(not n for n in names):
        raise SigV4Failure("IncompleteSignature", "SignedHeaders is empty or malformed.")
    if list(names) != sorted(n.lower() for n in names):
        raise SigV4Failure("SignatureDoesNotMatch", "SignedHeaders must be lower-case and sorted.")
    if "host" not in names:
        raise SigV4Failure("SignatureDoesNotMatch", "SignedHeaders must include 'host'.")
    return names


def _check_scope(
    cred: _Credential, amz_date: str, service: str, expected_region: str | None
) -> None:
    if cred.date != amz_date[:8]:
        raise SigV4Failure(
            "SignatureDoesNotMatch",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
            f"date from HTTP: '{cred.date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    if cred.service != service:
        raise SigV4Failure(
            "SignatureDoesNotMatch", f"Credential should be scoped to correct service: '{service}'."
        )
    if expected_region is not None and cred.region != expected_region:
        raise SigV4Failure(
            "SignatureDoesNotMatch", "Credential should be scoped to a valid region."
        )


def _check_key(
    cred: _Credential, token: str | None, secret_lookup: SecretLookup, now: datetime
) -> KeyRecord:
    record = secret_lookup(cred.access_key_id)
    if record is None:
        raise SigV4Failure(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    expected = record.session_token
    if (expected is None) != (token is None) or (
        expected is not None
        and token is not None
        and not hmac.compare_digest(expected.encode(), token.encode())
    ):
        raise SigV4Failure(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    if record.expiration is not None and now >= record.expiration:
        raise SigV4Failure("ExpiredToken", "The security token included in the request is expired")
    return record


def _check_signature(
    record: KeyRecord, cred: _Credential, amz_date: str, canonical: str, provided: str
) -> None:
    key = signing_key(record.secret_key, cred.date, cred.region, cred.service)
    expected = signature(key, string_to_sign(amz_date, cred.scope, canonical))
    if not hmac.compare_digest(expected.encode(), provided.encode()):
        raise SigV4Failure(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details.",
        )


def _last_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    return dict(pairs)


def verify_presigned(
    method: str,
    path: str,
    query_string_raw: str,
    headers: HeaderSource,
    secret_lookup: SecretLookup,
    now: datetime,
    *,
    service: str = "sts",
    expected_region: str | None = None,
    max_age: timedelta = PRESIGNED_MAX_AGE,
    max_skew: timedelta = MAX_SKEW,
) -> VerifiedRequest:
    """Verify a SigV4 query-string ("presigned") request.

    ``headers`` must contain every signed header as received, in particular ``Host``.
    Raises :class:`SigV4Failure` with the AWS error code on any problem.
    """
    pairs = parse_query(query_string_raw)
    names = [name for name, _ in pairs]
    present = [p for p in _PRESIGN_PARAMS if p in names]
    if not present:
        raise SigV4Failure("MissingAuthenticationToken", "Request is missing Authentication Token")
    for required in _PRESIGN_PARAMS:
        if names.count(required) != 1:
            raise SigV4Failure(
                "IncompleteSignature",
                f"AWS query-string parameters must include '{required}' exactly once.",
            )
    params = _last_values(pairs)
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise SigV4Failure(
            "IncompleteSignature", f"Unsupported AWS 'algorithm': '{params['X-Amz-Algorithm']}'."
        )
    cred = _parse_credential(params["X-Amz-Credential"])
    amz_date = params["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    signed = _parse_signed_headers(params["X-Amz-SignedHeaders"])
    expires: int | None = None
    if "X-Amz-Expires" in params:
        raw_expires = params["X-Amz-Expires"]
        if not raw_expires.isdigit() or int(raw_expires) > MAX_EXPIRES:
            raise SigV4Failure(
                "IncompleteSignature",
                f"X-Amz-Expires must be an integer between 0 and {MAX_EXPIRES}.",
            )
        expires = int(raw_expires)
    _check_scope(cred, amz_date, service, expected_region)

    if now - signed_at > max_age:
        raise SigV4Failure("RequestExpired", "Request has expired.")
    if signed_at - now > max_skew:
        raise SigV4Failure("RequestExpired", "Request is not yet valid.")

    token = params.get("X-Amz-Security-Token")
    record = _check_key(cred, token, secret_lookup, now)

    lowered = lower_headers(headers)
    payload_hash = lowered.get("x-amz-content-sha256", [EMPTY_SHA256])[0]
    canonical = canonical_request(
        method,
        canonical_uri(path),
        canonical_query_string(pairs),
        headers_block=canonical_headers(lowered, signed),
        signed_headers=";".join(signed),
        payload_hash=payload_hash,
    )
    _check_signature(record, cred, amz_date, canonical, params["X-Amz-Signature"])
    del params["X-Amz-Signature"]
    return VerifiedRequest(
        auth="presigned",
        access_key_id=cred.access_key_id,
        region=cred.region,
        service=cred.service,
        amz_date=signed_at,
        signed_headers=signed,
        params=params,
        expires=expires,
        session_token=token,
    )


def parse_authorization(value: str) -> dict[str, str]:
    """Parse ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Failure("IncompleteSignature", f"Unsupported AWS 'algorithm': '{algorithm}'.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if not sep:
            raise SigV4Failure(
                "IncompleteSignature",
                f"Authorization header requires each component to be 'key=value': '{item}'.",
            )
        fields[name] = val
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(required):
            raise SigV4Failure(
                "IncompleteSignature",
                f"Authorization header requires '{required}' parameter.",
            )
    return fields


def verify_header_auth(
    method: str,
    path: str,
    query: str,
    headers: HeaderSource,
    body: bytes,
    secret_lookup: SecretLookup,
    now: datetime,
    *,
    service: str = "sts",
    expected_region: str | None = None,
    max_skew: timedelta = MAX_SKEW,
) -> VerifiedRequest:
    """Verify a request signed with an ``Authorization: AWS4-HMAC-SHA256 ...`` header.

    ``query`` is the raw query string (usually empty for STS POSTs); ``body`` the exact bytes.
    """
    lowered = lower_headers(headers)
    authorization = lowered.get("authorization")
    if not authorization:
        raise SigV4Failure("MissingAuthenticationToken", "Request is missing Authentication Token")
    fields = parse_authorization(authorization[0])
    cred = _parse_credential(fields["Credential"])
    signed = _parse_signed_headers(fields["SignedHeaders"])
    amz_dates = lowered.get("x-amz-date")
    if not amz_dates:
        raise SigV4Failure(
            "IncompleteSignature",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    amz_date = amz_dates[0]
    signed_at = parse_amz_date(amz_date)
    _check_scope(cred, amz_date, service, expected_region)
    if now - signed_at > max_skew:
        raise SigV4Failure(
            "RequestExpired",
            f"Signature expired: {amz_date} is now earlier than "
            f"{format_amz_date(now - max_skew)} ({format_amz_date(now)} - 5 min.)",
        )
    if signed_at - now > max_skew:
        raise SigV4Failure(
            "RequestExpired",
            f"Signature not yet current: {amz_date} is still later than "
            f"{format_amz_date(now + max_skew)} ({format_amz_date(now)} + 5 min.)",
        )

    tokens = lowered.get("x-amz-security-token")
    token = tokens[0] if tokens else None
    record = _check_key(cred, token, secret_lookup, now)

    body_hash = hashlib.sha256(body).hexdigest()
    declared = lowered.get("x-amz-content-sha256")
    payload_hash = body_hash
    if declared:
        if declared[0] not in (body_hash, UNSIGNED_PAYLOAD):
            raise SigV4Failure(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        payload_hash = declared[0]
    pairs = parse_query(query)
    canonical = canonical_request(
        method,
        canonical_uri(path),
        canonical_query_string(pairs, exclude=()),
        headers_block=canonical_headers(lowered, signed),
        signed_headers=";".join(signed),
        payload_hash=payload_hash,
    )
    _check_signature(record, cred, amz_date, canonical, fields["Signature"])
    return VerifiedRequest(
        auth="header",
        access_key_id=cred.access_key_id,
        region=cred.region,
        service=cred.service,
        amz_date=signed_at,
        signed_headers=signed,
        params=_last_values(pairs),
        session_token=token,
    )


# --------------------------------------------------------------------------- signing


def host_for_url(url: str) -> str:
    """The Host header value a client sends for ``url`` (default port dropped)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    return host


def presign_url(
    url: str,
    *,
    access_key_id: str,
    secret_key: str,
    region: str,
    now: datetime,
    service: str = "sts",
    headers: Mapping[str, str] | None = None,
    expires: int = 60,
    session_token: str | None = None,
    method: str = "GET",
) -> str:
    """Presign ``url`` (our own implementation, for crafting tokens botocore would not make).

    Signs ``host`` plus ``headers``; the auth parameters are appended to the existing query.
    """
    parts = urlsplit(url)
    signed_map: dict[str, list[str]] = {"host": [host_for_url(url)]}
    for name, value in (headers or {}).items():
        signed_map.setdefault(name.lower(), []).append(value)
    signed = tuple(sorted(signed_map))
    amz_date = format_amz_date(now)
    cred = _Credential(access_key_id, amz_date[:8], region, service)
    auth_params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key_id}/{cred.scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(signed)),
    ]
    if session_token is not None:
        auth_params.append(("X-Amz-Security-Token", session_token))
    pairs = parse_query(parts.query) + auth_params
    canonical = canonical_request(
        method,
        canonical_uri(parts.path or "/"),
        canonical_query_string(pairs),
        headers_block=canonical_headers(signed_map, signed),
        signed_headers=";".join(signed),
        payload_hash=EMPTY_SHA256,
    )
    key = signing_key(secret_key, cred.date, region, service)
    sig = signature(key, string_to_sign(amz_date, cred.scope, canonical))
    query = "&".join(f"{uri_encode(k)}={uri_encode(v)}" for k, v in pairs)
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path or "/", f"{query}&X-Amz-Signature={sig}", "")
    )
