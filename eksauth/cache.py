"""The on-disk cache of tokens and assumed-role credentials: keys, private files, locks, expiry.

Stdlib only, because a cache hit must cost little more than starting Python.

Rules (each one a test):
- The folder is 0700 and entries 0600 from the moment they exist, whatever the umask; entries are
  written to a temp file in the same folder, fsynced and `os.replace`d, so a reader sees the old
  entry or the new one, never half of one.
- An entry is read with O_NOFOLLOW and trusted only if it is a regular file owned by us with no
  group/other bits and valid content; anything else is a miss, and is replaced by the next write.
- The cache never breaks the command: a folder that cannot be used costs one warning line.
- Keys fingerprint the request, every AWS_* environment variable (hashed, never stored) and the
  identity of the AWS config files, so new credentials mean a new key without resolving anything.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time

from eksauth import jsonlite
from eksauth.privatefile import replace_private

try:
    # hashlib loads OpenSSL first (3 ms of a 20 ms hit); the builtin BLAKE2 needs nothing.
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - interpreters without the builtin module
    from hashlib import blake2b

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType
    from typing import Any, Callable

    from eksauth.request import TokenRequest

    Warn = Callable[[str], None]

APP_NAME = "eksauth"
# Bump when the entry format or the key recipe changes: old entries then simply miss.
FORMAT = 1
TOKEN_PREFIX = "token-"  # noqa: S105 -- a file-name prefix, not a secret
ROLE_PREFIX = "role-"
# A cached token is handed out only while this much of its advertised life remains, so kubectl
# never receives a token that expires before its request reaches the API server.
MIN_TOKEN_REMAINING_SECONDS = 60
# Assumed-role credentials are reused until this close to their expiry (botocore refreshes its
# own at 15/10 minutes; 5 leaves a signed token most of its 14 minutes).
MIN_ROLE_REMAINING_SECONDS = 5 * 60
# How long a miss waits for another process that is signing the same token, before signing on
# its own: long enough for a cold start on a busy node, short enough never to stall kubectl.
LOCK_WAIT_SECONDS = 10.0
_MAX_ENTRY_BYTES = 64 * 1024


def default_cache_dir(env: Mapping[str, str]) -> str | None:
    """`platformdirs.user_cache_dir("eksauth")`, derived without importing platformdirs.

    Linux and macOS follow platformdirs' rules as of 4.14 (an absolute XDG_CACHE_HOME wins; a
    relative HOME counts as unset); a test proves the two agree. Elsewhere platformdirs itself
    is asked.
    None when no home folder can be found (kubelet nodes without HOME, for instance).
    """
    if sys.platform == "win32":
        import platformdirs  # only Windows pays for it

        return platformdirs.user_cache_dir(APP_NAME, appauthor=False)
    xdg = env.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return os.path.join(xdg, APP_NAME)
    home = _home(env)
    if home is None:
        return None
    base = "Library/Caches" if sys.platform == "darwin" else ".cache"
    return os.path.join(home, base, APP_NAME)


def _home(env: Mapping[str, str]) -> str | None:
    home = env.get("HOME")
    if home is None or not os.path.isabs(home):
        try:
            import pwd  # POSIX only, and only without a usable HOME

            home = pwd.getpwuid(os.getuid()).pw_dir.rstrip("/") or "/"
        except (ImportError, KeyError):
            return None
    return home if os.path.isabs(home) else None


def resolve_cache_dir(option: str | None, env: Mapping[str, str]) -> str | None:
    """`--cache-dir`, then EKSAUTH_CACHE_DIR, then the platform's user cache folder."""
    chosen = option or env.get("EKSAUTH_CACHE_DIR") or None
    if chosen:
        return os.path.abspath(os.path.expanduser(chosen))
    return default_cache_dir(env)


def _file_identity(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def aws_files(env: Mapping[str, str]) -> list[str]:
    """The shared config and credentials files botocore reads, honouring their variables."""
    home = _home(env) or ""
    config = env.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config")
    credentials = env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(
        home, ".aws", "credentials"
    )
    return [os.path.expanduser(config), os.path.expanduser(credentials)]


def environment_fingerprint(env: Mapping[str, str]) -> list[Any]:
    """What decides the source credentials, region and STS host, short of resolving them.

    Every AWS_* variable is included (credentials, profile, region, endpoint, web identity,
    container and IMDS settings...), and so is the identity (path, size, mtime, inode) of the
    config and credentials files: a new key or a rewritten file is a new cache key.
    """
    variables = sorted((k, v) for k, v in env.items() if k.startswith("AWS_"))
    files = [[path, _file_identity(path)] for path in aws_files(env)]
    return [variables, files]


def token_key(request: TokenRequest, env: Mapping[str, str]) -> str:
    """The cache key of a token: a hash, so no value (and no secret) appears in a file name."""
    material = [
        FORMAT,
        "token",
        _uid(),
        list(request.fields()),
        environment_fingerprint(env),
    ]
    return _digest(material)


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


class Cache:
    """One cache folder. Every method is safe to call when the folder cannot be used."""

    def __init__(self, folder: str | None, warn: Warn) -> None:
        self.folder = folder
        self._warn = warn
        self._warned = False
        self._ready = False

    # -- reading ---------------------------------------------------------------------------

    def load(self, name: str) -> dict[str, Any] | None:
        """The entry `name` if it is ours, private, intact and of our format; else None."""
        if self.folder is None:
            return None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(os.path.join(self.folder, name + ".json"), flags)
        except OSError:
            return None
        try:
            if not _private_regular_file(os.fstat(fd)):
                return None
            raw = os.read(fd, _MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(raw) > _MAX_ENTRY_BYTES:
            return None
        try:
            entry = jsonlite.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError included
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            return None
        return entry

    def load_fresh(
        self, name: str, now: float, min_remaining: float, fields: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The entry if its string `fields` are there and `min_remaining` s remain at `now`."""
        entry = self.load(name)
        if entry is None or not all(isinstance(entry.get(f), str) for f in fields):
            return None
        expires_at = entry.get("expires_at")
        if not isinstance(expires_at, (int, float)) or expires_at - now < min_remaining:
            return None
        return entry

    def load_token(self, key: str, now: float) -> dict[str, Any] | None:
        """A cached token with at least a minute of life left at `now`, else None."""
        entry = self.load_fresh(
            TOKEN_PREFIX + key, now, MIN_TOKEN_REMAINING_SECONDS, ("token", "expiration")
        )
        if entry is None or not entry["token"].startswith("k8s-aws-v1."):
            return None
        return entry

    # -- writing ---------------------------------------------------------------------------

    def store(self, name: str, entry: Mapping[str, Any]) -> bool:
        """Write `name` atomically and privately; on failure warn once and return False."""
        if not self._prepare() or self.folder is None:
            return False
        import json  # the miss path only

        data = json.dumps({**entry, "format": FORMAT}, sort_keys=True).encode("utf-8")
        try:
            replace_private(os.path.join(self.folder, name + ".json"), data)
        except OSError as exc:
            self._warn_once(f"could not write the token cache in {self.folder}: {_reason(exc)}")
            return False
        return True

    def remove(self, name: str) -> bool:
        if self.folder is None:
            return False
        try:
            os.unlink(os.path.join(self.folder, name + ".json"))
        except OSError:
            return False
        return True

    def names(self, prefix: str) -> list[str]:
        """Entry names with `prefix`, sorted; empty when the folder is missing."""
        if self.folder is None:
            return []
        try:
            files = os.listdir(self.folder)
        except OSError:
            return []
        return sorted(
            f[: -len(".json")] for f in files if f.startswith(prefix) and f.endswith(".json")
        )

    def _prepare(self) -> bool:
        """Create the folder 0700 (tightening one of ours that is looser); False if unusable."""
        if self._ready:
            return True
        if self.folder is None:
            self._warn_once("no cache folder (no home folder and no --cache-dir): not cached")
            return False
        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            st = os.stat(self.folder, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                raise OSError(errno.ENOTDIR, "not a folder")
            if hasattr(os, "getuid") and st.st_uid != os.getuid():
                raise OSError(errno.EPERM, "the folder belongs to another user")
            if stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(self.folder, 0o700)
        except OSError as exc:
            self._warn_once(f"cannot use the token cache {self.folder}: {_reason(exc)}")
            return False
        self._ready = True
        return True

    def _warn_once(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            self._warn(message)

    # -- locking ---------------------------------------------------------------------------

    def lock(self, name: str, timeout: float = LOCK_WAIT_SECONDS) -> Lock:
        """`with cache.lock(name) as held:` holds `<name>.lock` while signing.

        Only the miss path locks, and it looks in the cache again once the lock is held, so
        32 kubectl processes starting together sign once. A lock not granted within `timeout`
        is not worth stalling kubectl for: `held` is then False and the caller signs anyway.
        """
        return Lock(self._open_lock(name), timeout)

    def _open_lock(self, name: str) -> int | None:
        if not self._prepare() or self.folder is None:
            return None
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(os.path.join(self.folder, name + ".lock"), flags, 0o600)
        except OSError:
            return None
        try:
            if _private_regular_file(os.fstat(fd)):
                return fd
        except OSError:
            pass
        os.close(fd)
        return None


class Lock:
    """An exclusive lock on an open lock file; closing the descriptor releases it."""

    def __init__(self, fd: int | None, timeout: float) -> None:
        self._fd = fd
        self._timeout = timeout

    def __enter__(self) -> bool:
        return self._fd is not None and _acquire(self._fd, self._timeout)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _acquire(fd: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if _try_lock(fd):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt  # Windows only

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl  # only the miss path locks

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _private_regular_file(st: os.stat_result) -> bool:
    if not stat.S_ISREG(st.st_mode):
        return False
    if not hasattr(os, "getuid"):  # Windows: the folder's ACL is what protects the entries
        return True
    return st.st_uid == os.getuid() and not stat.S_IMODE(st.st_mode) & 0o077


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
