"""The library behind `eksauth token`: a cached token if one is fresh, else a newly signed one.

The CLI calls `get_token` once; the fast path calls `cached_token` before anything heavy loads.
"""

from __future__ import annotations

from eksauth.cache import ROLE_PREFIX, TOKEN_PREFIX, Cache, token_key

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

    from eksauth.request import TokenRequest


class IssuedToken:
    """A token and its advertised expiry (expirationTimestamp, exactly as printed)."""

    __slots__ = ("expiration", "token")

    def __init__(self, token: str, expiration: str) -> None:
        self.token = token
        self.expiration = expiration


def cached_token(cache: Cache, key: str, now: float) -> IssuedToken | None:
    """The cached token under `key` (see `cache.token_key`), if it has a minute left at `now`."""
    entry = cache.load_token(key, now)
    if entry is None:
        return None
    return IssuedToken(entry["token"], entry["expiration"])


def get_token(
    request: TokenRequest,
    *,
    env: Mapping[str, str],
    now: float,
    cache: Cache,
    use_cache: bool = True,
    refresh: bool = False,
    interactive: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> IssuedToken:
    """Serve from the cache, or sign under the entry's lock and store the result.

    The lock is taken only on a miss, and the cache is read again once it is held: of many
    processes missing together, one signs and the others find its token.
    """
    if not use_cache:
        return _sign(
            request, env=env, now=now, cache=cache, interactive=interactive, log=log, store_as=None
        )
    key = token_key(request, env)
    if not refresh:
        hit = cached_token(cache, key, now)
        if hit is not None:
            log("token served from the cache")
            return hit
    with cache.lock(TOKEN_PREFIX + key) as held:
        if not held:
            log("could not take the cache lock in time; signing without it")
        if not refresh:
            hit = cached_token(cache, key, now)
            if hit is not None:
                log("token signed by another process, served from the cache")
                return hit
        return _sign(
            request,
            env=env,
            now=now,
            cache=cache,
            interactive=interactive,
            log=log,
            store_as=TOKEN_PREFIX + key,
        )


def _sign(
    request: TokenRequest,
    *,
    env: Mapping[str, str],
    now: float,
    cache: Cache,
    interactive: bool,
    log: Callable[[str], None],
    store_as: str | None,
) -> IssuedToken:
    from eksauth import signer  # botocore loads only when we must sign
    from eksauth.token import rfc3339

    signed = signer.sign_token(
        request, env=env, now=now, interactive=interactive, cache=cache, log=log
    )
    expiration = rfc3339(signed.expires_at)
    if store_as is not None:
        entry: dict[str, Any] = {
            "token": signed.token,
            "expiration": expiration,
            "expires_at": signed.expires_at,
            "signed_at": signed.signed_at,
            # What `eksauth cache list` shows: never the token's contents or a secret.
            "cluster": request.cluster,
            "region": signed.region,
            "host": signed.host,
            "profile": request.profile or env.get("AWS_PROFILE"),
            "role_arn": request.role_arn,
        }
        cache.store(store_as, entry)
    return IssuedToken(signed.token, expiration)


def list_cache(cache: Cache, now: float) -> list[dict[str, Any]]:
    """What `eksauth cache list` shows of each token entry: never the token or a secret."""
    rows = []
    for name in cache.names(TOKEN_PREFIX):
        entry = cache.load(name)
        if entry is None or not isinstance(entry.get("expires_at"), (int, float)):
            continue
        left = int(entry["expires_at"] - now)
        rows.append(
            {
                "cluster": entry.get("cluster"),
                "region": entry.get("region"),
                "profile": entry.get("profile"),
                "role_arn": entry.get("role_arn"),
                "expiration": entry.get("expiration"),
                "time_left": _duration(left) if left > 0 else "expired",
                "seconds_left": max(left, 0),
            }
        )
    return sorted(rows, key=lambda r: (str(r["cluster"]), str(r["region"]), str(r["profile"])))


def clear_cache(cache: Cache, cluster: str | None = None) -> int:
    """Delete token entries (of `cluster`, or all plus role credentials); the count removed."""
    removed = 0
    prefixes = [TOKEN_PREFIX] if cluster is not None else [TOKEN_PREFIX, ROLE_PREFIX]
    for prefix in prefixes:
        for name in cache.names(prefix):
            entry = cache.load(name)
            if cluster is not None and (entry is None or entry.get("cluster") != cluster):
                continue
            removed += cache.remove(name)
    return removed


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s"
