"""The orchestrator: look up → lock → look again → sign → store, for tokens and assumed-role
credentials alike (the sign-in, `sso/signin.py`, does the same for IAM Identity Center sessions).

What the cache holds and for how long (keys, entry names and fields, freshness) is the hit half's
(`lookup.py`); the lock step and the context a miss carries are `miss.py`'s. Signing and AWS calls
(`aws/signer.py`, `aws/boundary.py`) are imported only when something must be made. Never loaded on
a cache hit: the fast path answers those with `lookup.py` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eksauth.lookup import (
    MIN_ROLE_REMAINING_SECONDS,
    ROLE_FIELDS,
    ROLE_PREFIX,
    TOKEN_PREFIX,
    IssuedToken,
    cached_token,
    fresh,
    role_key,
    token_key,
)
from eksauth.miss import Context, Log, looked_up_or_made

if TYPE_CHECKING:
    from eksauth.aws.signer import Credentials, Source
    from eksauth.cache import Cache
    from eksauth.request import TokenRequest


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
    context = Context(request, env, now, cache, interactive, log, say)
    key = token_key(request, env) if use_cache else None
    if key is None:
        return _sign(context, None)

    def look() -> IssuedToken | None:
        return None if refresh else cached_token(cache, key, now)

    hit = look()
    if hit is not None:
        log("token served from the cache")
        return hit
    return looked_up_or_made(cache, TOKEN_PREFIX + key, look, lambda: _sign(context, key), log)


def _sign(context: Context, key: str | None) -> IssuedToken:
    """Sign `context.request`; with a `key`, store the token (and any role credentials)."""
    from eksauth.aws import signer  # botocore loads only when we must sign
    from eksauth.sso.signin import resolved  # the sign-in, only when a session has gone
    from eksauth.token.bearer import rfc3339

    request, cache = context.request, context.cache
    source = resolved(context)
    credentials, expiry = source.credentials, source.expiry
    if request.role_arn:
        credentials, expiry = _role_credentials(source, context, cache if key is not None else None)
    signed = signer.sign(request, source, credentials, expiry, now=context.now, log=context.log)
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
    source: Source, context: Context, cache: Cache | None
) -> tuple[Credentials, int]:
    """Credentials for the request's role: cached (in `cache`, unless None) while 5 minutes
    remain, else AssumeRole."""
    from eksauth.aws import boundary, signer

    request, log = context.request, context.log

    def assume() -> dict[str, Any]:
        made = signer.assume_role(source, request, log=log)
        if cache is not None:
            cache.store(name, {**made, "role_arn": request.role_arn})
        return made

    def look() -> dict[str, Any] | None:
        if cache is None:
            return None
        return fresh(cache, name, context.now, MIN_ROLE_REMAINING_SECONDS, ROLE_FIELDS)

    name = ROLE_PREFIX + role_key(signer.fingerprint(source.credentials), request, source.region)
    entry = look()
    if entry is not None:
        log(f"reusing cached credentials for {request.role_arn}")
    elif cache is None:
        entry = assume()
    else:
        entry = looked_up_or_made(cache, name, look, assume, log)
    return boundary.frozen(entry), int(entry["expires_at"])
