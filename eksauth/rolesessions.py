"""Role-profile sessions in aws-cli's cache (`~/.aws/cli/cache`), shared with aws-cli on purpose.

botocore's own JSONFileCache and cache keys (so aws-cli and eksauth serve each other), read with
eksauth's hostile-file rules. Part of the AWS boundary: with `aws.py` and `signer.py`, one of the
three modules that import botocore.
"""

from __future__ import annotations

import calendar
import os
import sys
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import botocore.session
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    AssumeRoleWithWebIdentityCredentialFetcher,
)
from botocore.exceptions import BotoCoreError
from botocore.utils import JSONFileCache, parse_timestamp

from eksauth import jsonlite
from eksauth.cache import read_owned_file
from eksauth.privatefile import replace_private

# aws-cli's entries are AssumeRole answers, about 2 KB; a bound far above that.
MAX_ROLE_SESSION_BYTES = 256 * 1024


class RoleSessionCache(JSONFileCache):
    """botocore's JSONFileCache on aws-cli's folder (same files, keys botocore computes), read
    with eksauth's hostile-file rules.

    botocore `open()`s what `os.path.isfile` approved (a symlink is followed; a FIFO swapped in
    stalls it) and lets a non-JSON, misshapen or zone-less entry escape as a traceback. Here
    such an entry is a miss (the next write replaces it); a failed write is one warning line.
    """

    def __init__(self, folder: str) -> None:
        super().__init__(folder)
        self._folder = folder
        self._warned = False

    def __contains__(self, cache_key: str) -> bool:
        return self._entry(cache_key) is not None

    def __getitem__(self, cache_key: str) -> Any:
        entry = self._entry(cache_key)
        if entry is None:
            raise KeyError(cache_key)
        return entry

    def __setitem__(self, cache_key: str, value: Any) -> None:
        try:
            # A folder we create is private (botocore's would follow the umask); aws-cli's
            # existing one is left as it is.
            os.makedirs(self._folder, mode=0o700, exist_ok=True)
            # botocore's serialization, eksauth's writer: older botocore (1.34 among them)
            # opens the entry itself with O_WRONLY|O_CREAT, which writes through a planted
            # symlink and blocks forever on a planted FIFO; a temp file made O_EXCL|O_NOFOLLOW
            # and renamed over the entry does neither, with every botocore.
            data = self._dumps(value).encode("utf-8")  # type: ignore[attr-defined]
            replace_private(os.path.join(self._folder, cache_key + ".json"), data)
        except (OSError, TypeError, ValueError) as exc:
            # Never str(exc): botocore's ValueError quotes the credentials it could not write.
            reason = (exc.strerror if isinstance(exc, OSError) else None) or "failed"
            if not self._warned:
                self._warned = True
                message = f"could not cache the role session in {self._folder}: {reason}"
                sys.stderr.write(f"eksauth: warning: {message}\n")

    def _entry(self, cache_key: str) -> dict[str, Any] | None:
        # botocore's file name for a key (a test holds the two to the same file).
        path = os.path.join(self._folder, cache_key + ".json")
        raw = read_owned_file(path, MAX_ROLE_SESSION_BYTES, private=False)
        return role_session(raw) if raw is not None else None


def role_session(raw: bytes) -> dict[str, Any] | None:
    """An aws-cli cache entry, parsed, if it has what botocore reads from one; else None."""
    try:
        # jsonlite: bounded nesting (a planted "[[[[…" is a ValueError, not a RecursionError).
        entry = jsonlite.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("AssumedRoleUser", {}), dict):
        return None
    credentials = entry.get("Credentials")
    fields = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
    if not isinstance(credentials, dict):
        return None
    if not all(isinstance(credentials.get(f), str) for f in fields):
        return None
    return entry if role_session_expiry(entry) is not None else None


def role_session_expiry(entry: Mapping[str, Any]) -> int | None:
    """The Expiration of an aws-cli cache entry as epoch seconds (None: missing or unzoned)."""
    try:
        moment = parse_timestamp(entry["Credentials"]["Expiration"])
        if moment.tzinfo is None:  # botocore compares it with an aware clock reading
            return None
        # Year 9999 in a zone west of UTC overflows here, not in the parse.
        return calendar.timegm(moment.utctimetuple())
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def role_session_profiles() -> dict[str, tuple[str, str]]:
    """botocore's cache key of each role profile's session → (profile, role ARN), computed
    by botocore's own fetchers from the settings its providers pass them (`cache list`)."""
    try:
        profiles = botocore.session.Session().full_config.get("profiles", {})
    except BotoCoreError:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for name, settings in sorted(profiles.items()):
        role_arn = settings.get("role_arn") if isinstance(settings, dict) else None
        if isinstance(role_arn, str):
            found[_role_session_key(settings, role_arn)] = (name, role_arn)
    return found


def _role_session_key(settings: Mapping[str, Any], role_arn: str) -> str:
    unused: Any = None  # a fetcher computes its key without calling anything
    extra: dict[str, Any] = {}
    if settings.get("role_session_name") is not None:
        extra["RoleSessionName"] = settings["role_session_name"]
    if "web_identity_token_file" in settings:
        web = AssumeRoleWithWebIdentityCredentialFetcher(unused, unused, role_arn, extra)
        return str(web._cache_key)  # type: ignore[attr-defined]
    for setting, parameter in (("external_id", "ExternalId"), ("mfa_serial", "SerialNumber")):
        if settings.get(setting) is not None:
            extra[parameter] = settings[setting]
    with suppress(KeyError, TypeError, ValueError):
        extra["DurationSeconds"] = int(settings["duration_seconds"])
    fetcher = AssumeRoleCredentialFetcher(unused, unused, role_arn, extra)
    return str(fetcher._cache_key)  # type: ignore[attr-defined]
