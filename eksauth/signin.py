"""IAM Identity Center sign-in from `eksauth token`: once for many, and only when a person may
answer. The orchestrator (`api.py`) calls `resolved` on a miss, in place of `signer.resolve`;
a cache hit never imports this module.
"""

from __future__ import annotations

from eksauth.jsonlite import number

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

    from eksauth.cache import Cache
    from eksauth.request import TokenRequest

    Log = Callable[[str], None]

SSO_LOCK_PREFIX = "sso-"
SSO_FAILED_SUFFIX = "-failed"  # the entry recording a failed sign-in, beside the lock


def resolved(
    request: TokenRequest,
    *,
    env: Mapping[str, str],
    now: float,
    cache: Cache,
    interactive: bool,
    log: Log,
    say: Log | None,
) -> Any:
    """`signer.resolve`; when the profile's SSO session is gone and the run may talk to a person
    (`interactive` and `say`), sign in first: once for many, under a lock per SSO session.

    Of parallel runs (kubectl, k9s...) hitting the same expired session, the first to take the
    lock signs in; the others wait (bounded) and, looking again, find the new token. A sign-in
    that fails (refused, ignored, timed out) is recorded beside the lock: a waiter that finds a
    failure recorded after its own start fails too, rather than opening another tab. Without the
    lock (cache folder unusable, or the wait ran out) no run signs in on its own.
    """
    from eksauth import signer
    from eksauth.errors import EksAuthError, SsoError, SsoSessionError

    try:
        return signer.resolve(request, env=env, interactive=interactive)
    except SsoSessionError as exc:
        if not interactive or say is None:
            raise
        gone = exc
    from eksauth import aws, sso

    try:
        config, session = sso.config_for(gone.profile)
    except EksAuthError:
        raise gone from None  # not a profile we can sign in for: botocore's own reason
    folder = sso.default_cache_dir(env)
    hint = f"run `{aws.sso_login_command(gone.profile)}`"

    def look() -> Any:
        if sso.valid_token(config, folder, now) is None:
            return None
        try:
            return signer.resolve(request, env=env, interactive=interactive)
        except SsoSessionError:
            return None  # a token IAM Identity Center no longer takes (revoked): sign in again

    name = SSO_LOCK_PREFIX + sso.lock_name(config, folder)
    failed = name + SSO_FAILED_SUFFIX
    lock = cache.lock(name, sso.SIGN_IN_WAIT_SECONDS)
    with lock as held:
        if not held:
            # Without the lock, parallel runs would each open a tab: none signs in on its own.
            raise SsoError(
                f"the IAM Identity Center session has expired and cannot be renewed here "
                f"({lock.problem}, so parallel runs cannot share one sign-in)",
                hint=hint,
            )
        found = look()
        if found is not None:
            log("another process signed in to IAM Identity Center meanwhile; reusing it")
            return found
        marker = cache.load(failed)
        failed_at = None if marker is None else number(marker.get("failed_at"))
        if failed_at is not None and failed_at >= now:
            raise SsoError(
                "the IAM Identity Center sign-in another eksauth run started has just failed",
                hint=hint,
            )
        say(f"the IAM Identity Center session for {config.start_url} has expired; signing in")
        try:
            sso.login(
                aws.oidc_client(session, config.region), config, now=now, say=say, cache_dir=folder
            )
        except (EksAuthError, KeyboardInterrupt):
            import time  # the failure's own time: runs that started before it may not retry

            cache.store(failed, {"failed_at": time.time()})
            raise
        cache.remove(failed)
        return signer.resolve(request, env=env, interactive=interactive)
