"""The orchestrator: cache lookup → sign → store, for tokens and assumed-role credentials alike.

It owns what the cache holds and for how long: the key recipes, the entry fields, freshness,
and the one "take the entry's lock, look again, else make it" step. The cache (`cache.py`) is
only a store; signing and AWS calls (`signer.py`, `aws.py`) are imported only on a miss.

The fast path calls `cached_token` and `token_key` before anything heavy loads, so this module
imports nothing but the stdlib and the stdlib-only store at import time.
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
    from typing import Any, Callable, TypeVar

    from eksauth.request import TokenRequest

    T = TypeVar("T")
    Log = Callable[[str], None]

TOKEN_PREFIX = "token-"  # noqa: S105 -- a file-name prefix, not a secret
ROLE_PREFIX = "role-"
# A cached token is handed out only while this much of its advertised life remains, so kubectl
# never receives a token that expires before its request reaches the API server.
MIN_TOKEN_REMAINING_SECONDS = 60
# Assumed-role credentials are reused until this close to their expiry (botocore refreshes its
# own at 15/10 minutes; 5 leaves a signed token most of its 14 minutes).
MIN_ROLE_REMAINING_SECONDS = 5 * 60
_TOKEN_FIELDS = ("token", "expiration")
_ROLE_FIELDS = ("access_key_id", "secret_access_key", "session_token")


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


def environment_fingerprint(env: Mapping[str, str]) -> list[Any]:
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


def _fresh(
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
    entry = _fresh(cache, TOKEN_PREFIX + key, now, MIN_TOKEN_REMAINING_SECONDS, _TOKEN_FIELDS)
    if entry is None or not entry["token"].startswith("k8s-aws-v1."):
        return None
    return IssuedToken(entry["token"], entry["expiration"])


def _looked_up_or_made(
    cache: Cache,
    name: str,
    look: Callable[[], T | None],
    make: Callable[[], T],
    log: Log,
    *,
    timeout: float | None = None,
) -> T:
    """The one miss step: take `name`'s lock, look again (another process may have made it
    meanwhile), else make it. Of many processes missing together, one makes, the rest read.
    `timeout` bounds the wait for the lock (default: the cache's)."""
    lock = cache.lock(name) if timeout is None else cache.lock(name, timeout)
    with lock as held:
        if not held:
            log(f"{lock.problem}; going on without the cache lock")
        found = look()
        if found is not None:
            log(f"{name} was made by another process meanwhile; reusing it")
            return found
        return make()


# -- tokens --------------------------------------------------------------------------------------


def get_token(
    request: TokenRequest,
    *,
    env: Mapping[str, str],
    now: float,
    cache: Cache,
    use_cache: bool = True,
    refresh: bool = False,
    interactive: bool = False,
    log: Log = lambda _: None,
    say: Log | None = None,
) -> IssuedToken:
    """Serve from the cache, or sign under the entry's lock and store the result.

    `say` talks to the person at the terminal; with it, an interactive run whose IAM Identity
    Center session is gone signs in (see `signin.resolved`). Without it, it never does.
    """
    key = token_key(request, env) if use_cache else None

    def sign() -> IssuedToken:
        return _sign(
            request,
            env=env,
            now=now,
            cache=cache,
            interactive=interactive,
            log=log,
            key=key,
            say=say,
        )

    if key is None:
        return sign()

    def look() -> IssuedToken | None:
        return None if refresh or key is None else cached_token(cache, key, now)

    hit = look()
    if hit is not None:
        log("token served from the cache")
        return hit
    return _looked_up_or_made(cache, TOKEN_PREFIX + key, look, sign, log)


def _sign(
    request: TokenRequest,
    *,
    env: Mapping[str, str],
    now: float,
    cache: Cache,
    interactive: bool,
    log: Log,
    key: str | None,
    say: Log | None,
) -> IssuedToken:
    from eksauth import signer  # botocore loads only when we must sign
    from eksauth.signin import resolved  # the sign-in, only when a session has gone
    from eksauth.token import rfc3339

    source = resolved(
        request, env=env, now=now, cache=cache, interactive=interactive, log=log, say=say
    )
    credentials, expiry = source.credentials, source.expiry
    if request.role_arn:
        credentials, expiry = _role_credentials(
            source, request, now=now, cache=cache if key is not None else None, log=log
        )
    signed = signer.sign(request, source, credentials, expiry, now=now, log=log)
    expiration = rfc3339(signed.expires_at)
    if key is not None:
        entry: dict[str, Any] = {
            "token": signed.token,
            "expiration": expiration,
            "expires_at": signed.expires_at,
            "signed_at": signed.signed_at,
            # What `eksauth cache list` shows: never the token's contents or a secret.
            "cluster": request.cluster,
            "region": source.region,
            "host": signed.host,
            "profile": source.profile,
            "role_arn": request.role_arn,
        }
        cache.store(TOKEN_PREFIX + key, entry)
    return IssuedToken(signed.token, expiration)


def _role_credentials(
    source: Any, request: TokenRequest, *, now: float, cache: Cache | None, log: Log
) -> tuple[Any, int]:
    """Credentials for `request.role_arn`: cached while 5 minutes remain, else AssumeRole."""
    from eksauth import aws, signer

    def assume() -> dict[str, Any]:
        made = signer.assume_role(source, request, log=log)
        if cache is not None:
            cache.store(name, {**made, "role_arn": request.role_arn})
        return made

    def look() -> dict[str, Any] | None:
        if cache is None:
            return None
        return _fresh(cache, name, now, MIN_ROLE_REMAINING_SECONDS, _ROLE_FIELDS)

    name = ROLE_PREFIX + role_key(signer.fingerprint(source.credentials), request, source.region)
    entry = look()
    if entry is not None:
        log(f"reusing cached credentials for {request.role_arn}")
    elif cache is None:
        entry = assume()
    else:
        entry = _looked_up_or_made(cache, name, look, assume, log)
    return aws.frozen(entry), int(entry["expires_at"])
