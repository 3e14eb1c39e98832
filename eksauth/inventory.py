"""What the caches hold, for `eksauth cache list|clear`: eksauth's tokens and role credentials,
and the role sessions in aws-cli's cache. Never a token, key or secret in what it returns.

The cache's hit half (`lookup.py`) names the entries; this module only reads and removes them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from eksauth.cache import Cache
from eksauth.jsonlite import number
from eksauth.lookup import ROLE_PREFIX, TOKEN_PREFIX
from eksauth.sso.signin import SSO_LOCK_PREFIX


def list_cache(cache: Cache, now: float) -> list[dict[str, Any]]:
    """What `eksauth cache list` shows of each token entry: never the token or a secret."""
    rows = []
    for name in cache.names(TOKEN_PREFIX):
        entry = cache.load(name)
        expires_at = None if entry is None else number(entry.get("expires_at"))
        if entry is None or expires_at is None:
            continue
        left = int(expires_at - now)
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
    """Delete token entries (of `cluster`, or all plus role credentials, and the temp files of
    killed writers); the count of entries removed."""
    removed = 0
    if cluster is None:
        cache.remove_temp_files()
    # Everything also takes the records of failed SSO sign-ins (`sso-…-failed`).
    everything = [TOKEN_PREFIX, ROLE_PREFIX, SSO_LOCK_PREFIX]
    prefixes = [TOKEN_PREFIX] if cluster is not None else everything
    for prefix in prefixes:
        for name in cache.names(prefix):
            entry = cache.load(name)
            if cluster is not None and (entry is None or entry.get("cluster") != cluster):
                continue
            removed += cache.remove(name)
    return removed


def list_role_sessions(env: Mapping[str, str], now: float) -> list[dict[str, Any]]:
    """What `eksauth cache list` shows of the role sessions in aws-cli's cache (shared with
    aws-cli): the profile when one of ours hashes to the entry's name, the role, the expiry;
    never a key or token. Entries that are not credentials, or not safe to read, are skipped."""
    from eksauth.aws import rolesessions
    from eksauth.errors import EksAuthError
    from eksauth.identity.replay import canonicalize
    from eksauth.token.bearer import rfc3339

    rows = []
    profiles: dict[str, tuple[str, str]] | None = None
    for path, entry in _role_session_entries(env):
        if profiles is None:
            profiles = rolesessions.role_session_profiles()
        key = os.path.basename(path)[: -len(".json")]
        profile, role_arn = profiles.get(key, (None, None))
        if role_arn is not None and not rolesessions.names_role(entry, role_arn):
            profile, role_arn = None, None  # another role's session under this profile's key
        session_arn = (entry.get("AssumedRoleUser") or {}).get("Arn")
        if role_arn is None and isinstance(session_arn, str):
            try:
                role_arn = canonicalize(session_arn)
            except EksAuthError:
                role_arn = None
        expires_at = rolesessions.role_session_expiry(entry) or 0
        left = int(expires_at - now)
        rows.append(
            {
                "profile": profile,
                "role_arn": role_arn,
                "session": session_arn.rsplit("/", 1)[-1] if isinstance(session_arn, str) else None,
                "expiration": rfc3339(expires_at),
                "time_left": _duration(left) if left > 0 else "expired",
                "seconds_left": max(left, 0),
            }
        )
    return sorted(rows, key=lambda r: (str(r["profile"]), str(r["role_arn"]), r["expiration"]))


def clear_role_sessions(env: Mapping[str, str]) -> int:
    """Delete the role sessions in aws-cli's cache (`cache clear --include-aws-cli`); the count.

    Only entries that read as cached credentials go, with the temp files of eksauth writers
    killed mid-write (they may hold role secrets); anything else in aws-cli's folder stays.
    """
    from eksauth.aws import rolesessions
    from eksauth.files.private import is_temp_name

    folder = rolesessions.aws_cli_cache_dir(env)
    if folder is None or rolesessions.folder_refused(folder) is not None:
        return 0
    paths = [path for path, _entry in _role_session_entries(env)]
    with contextlib.suppress(OSError):
        paths += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if is_temp_name(n)]
    removed = 0
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            continue
        removed += 1
    return removed


def _role_session_entries(env: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    from eksauth.aws import rolesessions

    folder = rolesessions.aws_cli_cache_dir(env)
    if folder is None or rolesessions.folder_refused(folder) is not None:
        return []  # someone else's, or others may write to it: nothing there is ours to trust
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(".json") or folder is None:
            continue
        path = os.path.join(folder, name)
        entry = rolesessions.read_role_session(path)
        if entry is not None:
            found.append((path, entry))
    return found


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s"
