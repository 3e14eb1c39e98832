"""The `k8s-aws-v1.` bearer token: its constants, its encoding, and decoding it back to a URL.

Stdlib only. The numbers below are the contract with aws-iam-authenticator (pkg/token/token.go):
- The URL is presigned with X-Amz-Expires=60, but STS ignores that for GetCallerIdentity and the
  authenticator instead accepts a token for 15 minutes after its X-Amz-Date.
- We advertise 14 minutes as the ExecCredential expiry, so client-go asks for a new token a
  minute before the server would refuse the old one (aws-cli does the same).
"""

from __future__ import annotations

import base64
import binascii

from eksauth.errors import TokenFormatError

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
        ) from None
    try:
        url = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TokenFormatError("the token's body does not decode to UTF-8 text") from None
    if not url.startswith(("https://", "http://")):
        raise TokenFormatError("the token's body is not a URL")
    return url
