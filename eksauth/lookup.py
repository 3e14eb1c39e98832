"""The hit half of the cache: the key recipes, the entry names and fields, and freshness.

It owns what the cache holds and for how long; the cache (`cache.py`) is only a store, and the
orchestrator (`orchestrator.py`) makes and stores what a lookup here misses. The fast path calls
`token_key` and `cached_token` on every cache hit, so this module is part of the hit unit:
stdlib and the stdlib-only store alone (a test pins exactly what a hit loads).
"""

from __future__ import annotations

import os

from eksauth.cache import FORMAT, FUTURE_SLACK_SECONDS, Cache
from eksauth.jsonlite import number
from eksauth.portable import home_folder

try:
    # hashlib loads OpenSSL first (3 ms of a 20 ms hit); the builtin BLAKE2 needs nothing.
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - interpreters without the builtin module
    from hashlib import blake2b

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from eksauth.request import TokenRequest

TOKEN_PREFIX = "token-"  # noqa: S105 -- a file-name prefix, not a secret
ROLE_PREFIX = "role-"
# A cached token is handed out only while this much of its advertised life remains, so kubectl
# never receives a token that expires before its request reaches the API server.
MIN_TOKEN_REMAINING_SECONDS = 60
# Assumed-role credentials are reused until this close to their expiry (botocore refreshes its
# own at 15/10 minutes; 5 leaves a signed token most of its 14 minutes).
MIN_ROLE_REMAINING_SECONDS = 5 * 60
TOKEN_FIELDS = ("token", "expiration")
ROLE_FIELDS = ("access_key_id", "secret_access_key", "session_token")


class IssuedToken:
    """A token and its advertised expiry (expirationTimestamp, exactly as printed)."""

    __slots__ = ("expiration", "token")

    def __init__(self, token: str, expiration: str) -> None:
        self.token = token
        self.expiration = expiration


# -- keys ----------------------------------------------------------------------------------------


def aws_files(env: Mapping[str, str]) -> list[str]:
    """The shared config and credentials files botocore reads, honouring their variables."""
    home = home_folder(env) or ""
    config = env.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config")
    credentials = env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(
        home, ".aws", "credentials"
    )
    return [os.path.expanduser(config), os.path.expanduser(credentials)]


def _file_identity(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # ctime too: a file rewritten in place with the same size and mtime (`touch -r`, a
    # restored backup) still changes its ctime, which no one can set.
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def environment_fingerprint(env: Mapping[str, str]) -> list[object]:
    """What decides the source credentials, region and STS host, short of resolving them.

    Every AWS_* variable is included (credentials, profile, region, endpoint, web identity,
    container and IMDS settings...), and so is the identity (path, size, mtime, ctime, inode) of the
    config and credentials files: a new key or a rewritten file is a new cache key.
    """
    variables = sorted((k, v) for k, v in env.items() if k.startswith("AWS_"))
    files = [[path, _file_identity(path)] for path in aws_files(env)]
    return [variables, files]


def token_key(request: TokenRequest, env: Mapping[str, str]) -> str:
    """The cache key of a token: a hash, so no value (and no secret) appears in a file name."""
    return _digest([FORMAT, "token", _uid(), list(request.fields()), environment_fingerprint(env)])


def role_key(source_fingerprint: str, request: TokenRequest, region: str | None) -> str:
    """The cache key of assumed-role credentials, from the source credentials' own hash."""
    material = [
        FORMAT,
        "role",
        _uid(),
        source_fingerprint,
        request.role_arn,
        "<forward>" if request.forward_session_name else request.session_name,
        request.external_id,
        request.role_duration,
        region,
    ]
    return _digest(material)


def _digest(material: object) -> str:
    # repr() of str/int/None/bool/list/tuple is exact and needs no json import; a Python upgrade
    # that changed it would only cost one miss.
    encoded = repr(material).encode("utf-8", "backslashreplace")
    return blake2b(encoded, digest_size=20).hexdigest()


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


# -- freshness -----------------------------------------------------------------------------------


def fresh(
    cache: Cache, name: str, now: float, min_remaining: float, fields: tuple[str, ...]
) -> dict[str, Any] | None:
    """Entry `name` if its string `fields` are there and `min_remaining` s remain at `now`."""
    entry = cache.load(name)
    if entry is None or not all(isinstance(entry.get(f), str) for f in fields):
        return None
    expires_at = number(entry.get("expires_at"))
    if expires_at is None or expires_at - now < min_remaining:
        return None
    signed_at = number(entry.get("signed_at", now))
    if signed_at is None or signed_at > now + FUTURE_SLACK_SECONDS:
        # Signed "in the future": the clock stepped back since, and STS would refuse it.
        return None
    return entry


def cached_token(cache: Cache, key: str, now: float) -> IssuedToken | None:
    """The cached token under `key` (see `token_key`), if it has a minute left at `now`."""
    entry = fresh(cache, TOKEN_PREFIX + key, now, MIN_TOKEN_REMAINING_SECONDS, TOKEN_FIELDS)
    if entry is None or not entry["token"].startswith("k8s-aws-v1."):
        return None
    return IssuedToken(entry["token"], entry["expiration"])
