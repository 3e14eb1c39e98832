"""The `k8s-aws-v1.` bearer token: its constants, its encoding, and decoding it back to a URL.

Stdlib only. The numbers below are the contract with aws-iam-authenticator (pkg/token/token.go):
- The URL is presigned with X-Amz-Expires=60, but STS ignores that for GetCallerIdentity and the
  authenticator instead accepts a token for 15 minutes after its X-Amz-Date.
- We advertise 14 minutes as the ExecCredential expiry, so client-go asks for a new token a
  minute before the server would refuse the old one (aws-cli does the same).

`check_token` / `check_offline` apply the authenticator's Verify rules that need no network, in
its order, each failing with its own reason (see `check_offline`).
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import unquote, unquote_plus, urlsplit

from eksauth.errors import TokenFormatError, VerificationError
from eksauth.token.endpoints import host_problem, parse_sts_host

PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
PRESIGN_EXPIRES_SECONDS = 60
SERVER_ACCEPTS_SECONDS = 15 * 60
ADVERTISED_LIFETIME_SECONDS = 14 * 60
# aws-iam-authenticator refuses longer tokens outright (maxTokenLenBytes).
MAX_TOKEN_BYTES = 1024 * 4
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def encode(url: str) -> str:
    """`k8s-aws-v1.` + base64url(url) without `=` padding, as aws-cli and the authenticator do."""
    body = base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")
    return PREFIX + body


def decode(token: str) -> str:
    """The presigned URL inside a token; `TokenFormatError` names what is wrong."""
    token = token.strip()
    if not token.startswith(PREFIX):
        raise TokenFormatError(
            f"the token does not start with {PREFIX!r}",
            hint="pass the whole bearer token, e.g. from `eksauth token --output token`",
        )
    body = token[len(PREFIX) :]
    if not body:
        raise TokenFormatError("the token has nothing after its prefix")
    if "=" in body:
        # The authenticator decodes with RawURLEncoding: padding is an error there too.
        raise TokenFormatError("the token's base64url body has '=' padding, which EKS rejects")
    stray = sorted(set(body) - _BASE64URL)
    if stray:
        raise TokenFormatError(
            f"the token's body is not valid base64url: it contains {''.join(stray)!r}",
            hint="standard base64 ('+', '/') or a copy-paste break is not accepted by EKS",
        )
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenFormatError(
            f"the token's body is not valid base64url: {exc}",
            hint="the token may be truncated",
        ) from exc
    try:
        url = raw.decode("utf-8")
    except UnicodeDecodeError:
        # No cause: UnicodeDecodeError quotes the offending bytes, which are the token's.
        raise TokenFormatError("the token's body does not decode to UTF-8 text") from None
    if not url.startswith(("https://", "http://")):
        raise TokenFormatError("the token's body is not a URL")
    return url


# -- the presigned URL, taken apart --------------------------------------------------------------

# The only query parameters the authenticator lets through (parameterWhitelist), lower-cased
# because it compares names case-insensitively.
ALLOWED_PARAMS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
# The authenticator checks X-Amz-Expires is 0..900 although STS ignores it (see the top).
MAX_EXPIRES_SECONDS = 900
# Go's url.Parse refuses control characters; whitespace cannot survive into a request line.
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f]")
# Go's url.ParseQuery refuses a `%` not followed by two hex digits.
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# ASCII digits only: Go's parsers (EKS's) refuse other Unicode digits, which \d would match.
_AMZ_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
# What Go's strconv.Atoi accepts, bounded: it refuses values beyond 64 bits (19 digits), and a
# longer string must not cost a big-integer conversion.
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


class PresignedUrl(NamedTuple):
    """A token's URL taken apart. Values are as found: only `check_offline` judges them."""

    url: str
    scheme: str
    host: str  # the URL's netloc (port and user info included), as the authenticator compares it
    path: str  # percent-decoded
    params: tuple[tuple[str, str], ...]  # decoded (name, value) pairs, in URL order

    def param(self, name: str) -> str | None:
        """The first value of a parameter, its name matched case-insensitively as EKS does."""
        wanted = name.lower()
        return next((value for key, value in self.params if key.lower() == wanted), None)

    @property
    def access_key_id(self) -> str | None:
        return self._scope(0)

    @property
    def region(self) -> str | None:
        """The region of the credential scope: the region the signature is for."""
        return self._scope(2)

    @property
    def service(self) -> str | None:
        return self._scope(3)

    @property
    def signed_at(self) -> float | None:
        """X-Amz-Date as epoch seconds; None if missing or not `YYYYMMDDTHHMMSSZ`."""
        return _parse_amz_date(self.param("X-Amz-Date") or "")

    @property
    def expires(self) -> int | None:
        raw = self.param("X-Amz-Expires")
        return int(raw) if raw is not None and _INTEGER.fullmatch(raw) else None

    @property
    def signed_headers(self) -> tuple[str, ...]:
        raw = self.param("X-Amz-SignedHeaders")
        return tuple(raw.split(";")) if raw else ()

    @property
    def has_session_token(self) -> bool:
        return self.param("X-Amz-Security-Token") is not None

    def _scope(self, index: int) -> str | None:
        # X-Amz-Credential is KEY/DATE/REGION/SERVICE/aws4_request.
        parts = (self.param("X-Amz-Credential") or "").split("/")
        value = parts[index] if index < len(parts) else ""
        return value or None


def parse_presigned(url: str) -> PresignedUrl:
    """Take a token's URL apart; `TokenFormatError` if it cannot be read as one."""
    if _UNSAFE_URL.search(url):
        raise TokenFormatError("the token's URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # `[::1` unclosed, a fullwidth number sign NFKC turns into `#`
        raise TokenFormatError(f"the token's URL cannot be parsed: {exc}") from exc
    return PresignedUrl(
        url=url,
        scheme=parts.scheme,
        host=parts.netloc,
        path=unquote(parts.path),
        params=_parse_query(parts.query),
    )


def _parse_query(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in raw.split("&"):
        if not part:
            continue
        # Go's ParseQuery (Go >= 1.17) rejects `;` separators and bad escapes outright.
        if ";" in part or _BAD_ESCAPE.search(part):
            raise TokenFormatError(f"the URL has a malformed query parameter: {part[:40]!r}")
        name, _, value = part.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return tuple(pairs)


def _parse_amz_date(raw: str) -> float | None:
    match = _AMZ_DATE.fullmatch(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(field) for field in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:  # month 13, hour 24...: Go's time.Parse refuses them too
        return None
    return moment.timestamp()


def rfc3339(epoch: float) -> str:
    """RFC 3339 UTC with seconds: 2022-04-26T17:32:42Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# -- the authenticator's offline rules -----------------------------------------------------------


def check_token(bearer: str, now: float, sts_url: str | None = None) -> PresignedUrl:
    """Every check EKS makes before calling STS: size, then `decode`, then `check_offline`."""
    bearer = bearer.strip()
    size = len(bearer.encode("utf-8"))
    if size > MAX_TOKEN_BYTES:
        raise VerificationError(
            f"the token is {size} bytes; aws-iam-authenticator refuses tokens over "
            f"{MAX_TOKEN_BYTES} bytes",
            hint="a very long session token makes the token too large",
        )
    return check_offline(decode(bearer), now, sts_url)


def check_offline(url: str, now: float, sts_url: str | None = None) -> PresignedUrl:
    """The URL rules of aws-iam-authenticator's Verify, in its order; each has its own reason.

    https; a standard STS host of a known partition (or exactly the host `sts_url` names, with
    its scheme); path `/`; no duplicate and only allowed parameters; Action=GetCallerIdentity;
    x-k8s-aws-id signed; X-Amz-Expires 0..900; X-Amz-Date present, well-formed and at most 15
    minutes before `now`. Raises `VerificationError` (`UsageError` for a bad `sts_url`).
    """
    presigned = parse_presigned(url)
    _check_endpoint(presigned, _named_endpoint(sts_url))
    _check_query(presigned)
    _check_date(presigned, now)
    return presigned


def _named_endpoint(sts_url: str | None) -> tuple[str, str] | None:
    """(scheme, host) of --sts-url: the one non-standard endpoint the user allows."""
    if not sts_url:
        return None
    from eksauth.request import check_sts_url

    scheme, _, host = check_sts_url(sts_url).partition("://")
    return scheme, host.lower()


def _check_endpoint(presigned: PresignedUrl, named: tuple[str, str] | None) -> None:
    if named is None or (presigned.scheme, presigned.host.lower()) != named:
        if presigned.scheme != "https":
            raise VerificationError(
                f"the token's URL uses {presigned.scheme!r}; EKS only accepts https"
            )
        if parse_sts_host(presigned.host) is None:
            # The token says where to send it: never let it point us at an arbitrary host.
            raise VerificationError(
                f"{host_problem(presigned.host)}; eksauth sends it nothing",
                hint="for a test rig, name its URL with --sts-url or EKSAUTH_STS_URL",
            )
    if presigned.path != "/":
        raise VerificationError(f"the token's URL path is {presigned.path!r}; EKS requires '/'")


def _check_query(presigned: PresignedUrl) -> None:
    seen: set[str] = set()
    for name, _ in presigned.params:
        key = name.lower()
        if key in seen:
            raise VerificationError(f"the query parameter {name!r} appears more than once")
        seen.add(key)
        if key not in ALLOWED_PARAMS:
            raise VerificationError(
                f"the query parameter {name!r} is not one EKS allows",
                hint="only Action, Version and the X-Amz-* signing parameters are accepted",
            )
    action = presigned.param("Action")
    if action != "GetCallerIdentity":
        raise VerificationError(f"the token's Action is {action!r}, not 'GetCallerIdentity'")
    if CLUSTER_ID_HEADER not in (h.lower() for h in presigned.signed_headers):
        raise VerificationError(
            f"the {CLUSTER_ID_HEADER} header is not signed, so the token names no cluster",
            hint=f"signed headers: {';'.join(presigned.signed_headers) or 'none'}",
        )
    expires = presigned.param("X-Amz-Expires")
    if presigned.expires is None or not 0 <= presigned.expires <= MAX_EXPIRES_SECONDS:
        raise VerificationError(
            f"X-Amz-Expires is {expires if expires is None else expires[:40]!r}; "
            f"EKS accepts 0 to {MAX_EXPIRES_SECONDS} seconds"
        )


def _check_date(presigned: PresignedUrl, now: float) -> None:
    date = presigned.param("X-Amz-Date")
    if not date:
        raise VerificationError("the token has no X-Amz-Date, so EKS cannot tell its age")
    signed_at = presigned.signed_at
    if signed_at is None:
        raise VerificationError(f"X-Amz-Date {date!r} is not of the form YYYYMMDDTHHMMSSZ")
    deadline = signed_at + SERVER_ACCEPTS_SECONDS
    if now > deadline:  # at the deadline itself it is still accepted (Go's After)
        raise VerificationError(
            f"the token expired at {rfc3339(deadline)} (it is now {rfc3339(now)}): EKS accepts "
            f"a token for 15 minutes after its X-Amz-Date ({rfc3339(signed_at)})",
            hint="get a new token",
        )
