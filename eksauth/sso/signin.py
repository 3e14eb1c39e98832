"""IAM Identity Center sign-in from `eksauth token`: once for many, and only when a person may
answer. The orchestrator (`orchestrator.py`) calls `resolved` on a miss, in place of
`sso.session.source`; a cache hit never imports this module.
"""

from __future__ import annotations

from eksauth.jsonlite import number

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from eksauth.aws.signer import Source
    from eksauth.miss import Context

SSO_LOCK_PREFIX = "sso-"
SSO_FAILED_SUFFIX = "-failed"  # the entry recording a failed sign-in, beside the lock


def resolved(context: Context) -> Source:
    """`sso.session.source`; when the profile's SSO session is gone and the run may talk to a person
    (`interactive` and `say`), sign in first: once for many, under a lock per SSO session.

    Of parallel runs (kubectl, k9s...) hitting the same expired session, the first to take the
    lock signs in; the others wait (bounded) and, looking again, find the new token. A sign-in
    that fails (refused, ignored, timed out) is recorded beside the lock: a waiter that finds a
    failure recorded after its own start fails too, rather than opening another tab. Without the
    lock (cache folder unusable, or the wait ran out) no run signs in on its own.
    """
    from eksauth.errors import EksAuthError, SsoError, SsoSessionError
    from eksauth.sso.session import source

    request, env, now, cache = context.request, context.env, context.now, context.cache
    interactive, say = context.interactive, context.say
    try:
        return source(request, env=env, interactive=interactive)
    except SsoSessionError as exc:
        if not interactive or say is None:
            raise
        gone = exc
    import time  # how long the lock took is a duration, never a second wall-clock reading

    from eksauth.aws import boundary, ssooidc
    from eksauth.miss import looked_up_or_made
    from eksauth.sso import session as sso

    try:
        config, session = sso.config_for(gone.profile)
    except EksAuthError:
        # Not a profile we can sign in for: botocore's own reason, with the cause it had.
        raise gone from gone.__cause__
    folder = sso.default_cache_dir(env)
    hint = f"run `{boundary.sso_login_command(gone.profile)}`"

    def look() -> Source | None:
        if sso.valid_token(config, folder, now) is None:
            return None
        try:
            return source(request, env=env, interactive=interactive)
        except SsoSessionError:
            return None  # a token IAM Identity Center no longer takes (revoked): sign in again

    def without_lock(problem: str | None) -> None:
        # Without the lock, parallel runs would each open a tab: none signs in on its own.
        raise SsoError(
            f"the IAM Identity Center session has expired and cannot be renewed here "
            f"({problem}, so parallel runs cannot share one sign-in)",
            hint=hint,
        )

    def sign_in() -> Source:
        # The wait ends here, a look after the lock was taken: no failure can be recorded in
        # between, since only the lock's holder signs in (and records a failure).
        waited = time.monotonic() - waiting_since
        if _failed_while_we_waited(cache.load(failed), now, waited):
            raise SsoError(
                "the IAM Identity Center sign-in another eksauth run started has just failed",
                hint=hint,
            )
        say(f"the IAM Identity Center session for {config.start_url} has expired; signing in")
        try:
            sso.login(
                ssooidc.client(session, config.region), config, now=now, say=say, cache_dir=folder
            )
        except (EksAuthError, KeyboardInterrupt):
            # The failure's own time: runs that started before it may not retry.
            cache.store(failed, {"failed_at": time.time()})
            raise
        cache.remove(failed)
        return source(request, env=env, interactive=interactive)

    name = SSO_LOCK_PREFIX + sso.lock_name(config, folder)
    failed = name + SSO_FAILED_SUFFIX
    waiting_since = time.monotonic()
    return looked_up_or_made(
        cache,
        name,
        look,
        sign_in,
        context.log,
        timeout=sso.SIGN_IN_WAIT_SECONDS,
        without_lock=without_lock,
        reusing="another process signed in to IAM Identity Center meanwhile; reusing it",
    )


def _failed_while_we_waited(marker: Mapping[str, Any] | None, now: float, waited: float) -> bool:
    """Whether the failure `marker` records happened while this run waited for the lock: after
    it started (`now`), and no later than the wait plus the cache's future slack. A failure
    "later" than that was recorded before the clock stepped back, and blocks no one."""
    from eksauth.cache import FUTURE_SLACK_SECONDS

    failed_at = None if marker is None else number(marker.get("failed_at"))
    return failed_at is not None and now <= failed_at <= now + waited + FUTURE_SLACK_SECONDS
