"""Role-profile sessions in aws-cli's cache (`~/.aws/cli/cache`), shared with aws-cli on purpose.

botocore's own JSONFileCache and cache keys (so aws-cli and eksauth serve each other), read with
eksauth's hostile-file rules. Part of the AWS boundary: with `aws/boundary.py`, `aws/signer.py` and
`aws/ssooidc.py`, one of the four modules that import botocore.
"""

from __future__ import annotations

import calendar
import os
import sys
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Callable

import botocore.session
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    AssumeRoleWithWebIdentityCredentialFetcher,
)
from botocore.exceptions import BotoCoreError
from botocore.utils import JSONFileCache, parse_timestamp

from eksauth.cache import path_problem, read_owned_json
from eksauth.files.private import make_private_dirs, replace_private
from eksauth.portable import home_folder

# aws-cli's entries are AssumeRole answers, about 2 KB; a bound far above that.
MAX_ROLE_SESSION_BYTES = 256 * 1024
Roles = Callable[[], Mapping[str, str]]  # botocore's cache key of each role session → role ARN


def aws_cli_cache_dir(env: Mapping[str, str]) -> str | None:
    """aws-cli's credential cache, `~/.aws/cli/cache`, shared with it on purpose.

    aws-cli names it from the home folder alone (no variable moves it; AWS_CONFIG_FILE does
    not); None without a usable home folder.
    """
    home = home_folder(env)
    return os.path.join(home, ".aws", "cli", "cache") if home is not None else None


def folder_refused(folder: str) -> str | None:
    """Why aws-cli's folder may not be used (the cache's rules: ours, no one else may write to
    it), or None. It is aws-cli's, made under the umask: never chmod'ed, only refused."""
    problem = path_problem(folder, private=False)
    return f"not using {folder} for role sessions: {problem}" if problem else None


class RoleSessionCache(JSONFileCache):
    """botocore's JSONFileCache on aws-cli's folder (same files, keys botocore computes), read
    with eksauth's hostile-file rules.

    botocore `open()`s what `os.path.isfile` approved (a symlink is followed; a FIFO swapped in
    stalls it) and lets a non-JSON, misshapen or zone-less entry escape as a traceback. Here
    such an entry is a miss (the next write replaces it); a failed write is one warning line.
    """

    def __init__(self, folder: str, roles: Roles | None = None) -> None:
        super().__init__(folder)
        self._folder = folder
        self._roles = roles
        self._known: Mapping[str, str] | None = None
        self._warned = False
        self._refused: str | None = None
        self._checked = False

    def __contains__(self, cache_key: str) -> bool:
        return self._entry(cache_key) is not None

    def __getitem__(self, cache_key: str) -> Any:
        entry = self._entry(cache_key)
        if entry is None:
            raise KeyError(cache_key)
        return entry

    def __setitem__(self, cache_key: str, value: Any) -> None:
        try:
            # Folders we create are 0700 (botocore's would follow the umask), and never a
            # missing home's; aws-cli's existing one is used only if it passes the rules.
            make_private_dirs(self._folder, home_folder(os.environ))
            self._checked = False
            if self._usable():
                # botocore's serialization, eksauth's writer: older botocore (1.34 among them)
                # opens the entry itself with O_WRONLY|O_CREAT, which writes through a planted
                # symlink and blocks forever on a planted FIFO; a temp file made
                # O_EXCL|O_NOFOLLOW and renamed over the entry does neither, with every botocore.
                data = self._dumps(value).encode("utf-8")  # type: ignore[attr-defined]
                replace_private(os.path.join(self._folder, cache_key + ".json"), data)
        except (OSError, TypeError, ValueError) as exc:
            # Never str(exc): botocore's ValueError quotes the credentials it could not write.
            reason = (exc.strerror if isinstance(exc, OSError) else None) or "failed"
            self._warn(f"could not cache the role session in {self._folder}: {reason}")

    def _usable(self) -> bool:
        """Whether the folder passes the cache's rules (checked once; a refusal warns once)."""
        if not self._checked:
            self._checked, self._refused = True, folder_refused(self._folder)
        if self._refused is not None:
            self._warn(self._refused)
        return self._refused is None

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            sys.stderr.write(f"eksauth: warning: {message}\n")

    def _entry(self, cache_key: str) -> dict[str, Any] | None:
        if not os.path.isdir(self._folder) or not self._usable():
            return None
        # botocore's file name for a key (a test holds the two to the same file).
        entry = read_role_session(os.path.join(self._folder, cache_key + ".json"))
        if entry is None or self._roles is None:
            return entry
        if self._known is None:
            self._known = self._roles()
        # An entry is the session of the role whose key names it: one copied over another
        # role's key (ReadOnly's over Admin's) is a miss, and botocore assumes the role anew.
        role_arn = self._known.get(cache_key)
        return entry if role_arn is not None and names_role(entry, role_arn) else None


def names_role(entry: Mapping[str, Any], role_arn: str) -> bool:
    """Whether the entry's `AssumedRoleUser.Arn` is a session of `role_arn` (same partition,
    account and role name; an IAM role's path is not in its session ARNs)."""
    user = entry.get("AssumedRoleUser")
    session_arn = user.get("Arn") if isinstance(user, dict) else None
    if not isinstance(session_arn, str):
        return False
    session = session_arn.split(":", 5)
    role = role_arn.split(":", 5)
    if len(session) != 6 or len(role) != 6 or not role[5].startswith("role/"):
        return False
    kind, _, rest = session[5].partition("/")
    return (
        kind == "assumed-role"
        and (session[1], session[4]) == (role[1], role[4])
        and rest.split("/", 1)[0] == role[5].rsplit("/", 1)[-1]
    )


def read_role_session(path: str) -> dict[str, Any] | None:
    """The aws-cli cache entry at `path` (the cache's hostile-file rules, aws-cli's umask), if it
    has what botocore reads from one; else None."""
    entry = read_owned_json(path, MAX_ROLE_SESSION_BYTES, private=False)
    if entry is None or not isinstance(entry.get("AssumedRoleUser", {}), dict):
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
    return _keys(profiles)


def role_session_roles(full_config: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """botocore's cache key → role ARN, for every role session this configuration can make:
    each role profile, and web identity from AWS_ROLE_ARN (IRSA)."""
    profiles = dict(full_config.get("profiles") or {})
    if env.get("AWS_ROLE_ARN") and env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        profiles["\0environment"] = {
            "role_arn": env["AWS_ROLE_ARN"],
            "web_identity_token_file": env["AWS_WEB_IDENTITY_TOKEN_FILE"],
            "role_session_name": env.get("AWS_ROLE_SESSION_NAME"),
        }
    return {key: role_arn for key, (_, role_arn) in _keys(profiles).items()}


def _keys(profiles: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
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
