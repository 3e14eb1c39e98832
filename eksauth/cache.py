"""The on-disk store: one folder of private JSON entries by name, and a lock per entry; and the
file and folder rules every folder of secrets follows (`read_owned_json`, `folder_problem`...).

It knows nothing of tokens, credentials or requests: what goes in an entry, how it is keyed and
how long it is good for belong to the hit half (`lookup.py`), and "the token cache" is only its
name in warnings. The SSO token files and aws-cli's role sessions are read by its rules, not by
it. Stdlib only, because a cache hit must cost little more than starting Python.

Rules (each one a test):
- The folder is 0700 and entries 0600 from the moment they exist, whatever the umask; entries are
  written to a temp file in the same folder, fsynced and `os.replace`d, so a reader sees the old
  entry or the new one, never half of one.
- An entry is opened with O_NOFOLLOW|O_NONBLOCK (a FIFO planted in its place cannot hang us) and
  trusted only if it is a regular file owned by us with no group/other bits and valid content;
  anything else is a miss, and is replaced by the next write.
- The folder is used, for reads as for writes, only if it is a real folder of ours with no
  group/other bits. eksauth never changes the mode of a folder it did not create: `--cache-dir
  /tmp` (or $HOME, or any shared folder) is refused with one warning line, and the command
  still answers; name a private folder (or one that does not exist yet) instead. The one
  exception is the default folder (`~/.cache/eksauth`) when it is ours and only readable by
  others (an old umask, a copy): that is eksauth's own, and is tightened to 0700.
- Only what we own, in a folder we would use, is ever removed (`cache clear`).
- A lock file that is not our private regular file is repaired (ours, loose) or replaced.
- The cache never breaks the command: a folder that cannot be used costs one warning line.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from eksauth import jsonlite
from eksauth.portable import NOFOLLOW, NONBLOCK, OPEN_ALWAYS, expand_home, home_folder

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

    from eksauth.files.locks import Lock

    Warn = Callable[[str], None]

APP_NAME = "eksauth"
# Bump when the entry format changes: old entries then simply miss.
FORMAT = 1
# How long a miss waits for another process that is making the same entry, before making it on
# its own: long enough for a cold start on a busy node, short enough never to stall kubectl.
LOCK_WAIT_SECONDS = 10.0
# Each run reads the clock once, as it starts; a process that started a moment before the one
# that signed (and then waited for its lock) sees a token signed "after" its `now`. Only an
# entry dated further ahead than this (a token, role credentials, a failed sign-in) means the
# clock itself stepped back since it was written.
FUTURE_SLACK_SECONDS = 60
_MAX_ENTRY_BYTES = 64 * 1024


def default_cache_dir(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """`platformdirs.user_cache_dir("eksauth")`, derived without importing platformdirs.

    Linux and macOS follow platformdirs' rules as of 4.14 (an absolute XDG_CACHE_HOME wins; a
    relative HOME counts as unset); a test proves the two agree. On Windows platformdirs itself
    is asked (`%LOCALAPPDATA%\\eksauth\\Cache`, from the known-folder API).
    None when no home folder can be found (kubelet nodes without HOME, for instance).
    """
    if platform == "win32":
        from platformdirs.windows import Windows  # only Windows pays for it

        return Windows(APP_NAME, appauthor=False).user_cache_dir
    xdg = env.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return os.path.join(xdg, APP_NAME)
    home = home_folder(env, platform)
    if home is None:
        return None
    base = "Library/Caches" if platform == "darwin" else ".cache"
    return "/".join((home, base, APP_NAME))


def read_owned_file(path: str, max_bytes: int, *, private: bool = True) -> bytes | None:
    """The bytes of `path` if it is a regular file we own of at most `max_bytes`; else None.

    The hostile-file rules of every cache read: a symlink is refused (O_NOFOLLOW), a FIFO or
    device cannot stall the open (O_NONBLOCK) and is refused by fstat, the read is bounded, and
    a file others may write to is refused. `private` also refuses files others may read (our
    own cache; the folders shared with aws-cli follow its umask).
    """
    flags = os.O_RDONLY | NOFOLLOW | NONBLOCK | OPEN_ALWAYS
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not (_private_regular_file(st) if private else file_problem(st) is None):
            return None
        raw = os.read(fd, max_bytes + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return raw if len(raw) <= max_bytes else None


def read_owned_json(path: str, max_bytes: int, *, private: bool = True) -> dict[str, Any] | None:
    """The JSON object in `path`, read by `read_owned_file`'s rules; else None (refused, too
    big, not UTF-8 or JSON, nested beyond reason, or not an object). The one reader of the
    private JSON files: cache entries, SSO token files, aws-cli's role sessions."""
    raw = read_owned_file(path, max_bytes, private=private)
    if raw is None:
        return None
    try:
        # jsonlite: bounded nesting (a planted "[[[[…" is a ValueError, not a RecursionError).
        value = jsonlite.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return None
    return value if isinstance(value, dict) else None


def resolve_cache_dir(option: str | None, env: Mapping[str, str]) -> str | None:
    """`--cache-dir`, then EKSAUTH_CACHE_DIR (`~` is `portable.home_folder`), then the
    platform's user cache folder."""
    chosen = option or env.get("EKSAUTH_CACHE_DIR") or None
    if chosen:
        return os.path.abspath(expand_home(chosen, env))
    return default_cache_dir(env)


class Cache:
    """One cache folder. Every method is safe to call when the folder cannot be used."""

    def __init__(self, folder: str | None, warn: Warn) -> None:
        self.folder = folder
        self._warn = warn
        self._warned = False
        self._ready = False
        self._trusted: bool | None = None  # the folder checked for reading, once

    # -- reading ---------------------------------------------------------------------------

    def load(self, name: str) -> dict[str, Any] | None:
        """The entry `name` if it is ours, private, intact and of our format; else None."""
        if self.folder is None or not self._readable():
            return None
        entry = read_owned_json(os.path.join(self.folder, name + ".json"), _MAX_ENTRY_BYTES)
        if entry is None or type(entry.get("format")) is not int:
            return None
        return entry if entry["format"] == FORMAT else None

    def _readable(self) -> bool:
        """Whether the folder is one we would write to: entries in anyone else's are not ours."""
        if self._trusted is None:
            try:
                st = os.stat(self.folder or "", follow_symlinks=False)
            except OSError:
                return False  # not there yet: the miss path may create it, then read it
            problem = folder_problem(st)
            self._trusted = problem is None
            if problem is not None:
                self._refuse(problem)
        return self._trusted

    def _refuse(self, problem: str) -> None:
        self._warn_once(
            f"not using {self.folder} as the token cache: {problem} "
            "(eksauth never changes a folder it did not create; name a private one)"
        )

    # -- writing ---------------------------------------------------------------------------

    def store(self, name: str, entry: Mapping[str, Any]) -> bool:
        """Write `name` atomically and privately; on failure warn once and return False."""
        if not self._prepare() or self.folder is None:
            return False
        import json  # the miss path only

        from eksauth.files.private import replace_private

        data = json.dumps({**entry, "format": FORMAT}, sort_keys=True).encode("utf-8")
        try:
            replace_private(os.path.join(self.folder, name + ".json"), data)
        except OSError as exc:
            self._warn_once(f"could not write the token cache in {self.folder}: {_reason(exc)}")
            return False
        return True

    def remove(self, name: str) -> bool:
        """Delete entry `name` if it is ours (a file or link we own, in a folder of ours)."""
        if self.folder is None or not self._readable():
            return False
        path = os.path.join(self.folder, name + ".json")
        try:
            st = os.stat(path, follow_symlinks=False)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) or not _owned(st):
                return False
            os.unlink(path)
        except OSError:
            return False
        return True

    def remove_temp_files(self) -> int:
        """Delete the temp files of writers killed mid-write (they may hold role secrets)."""
        from eksauth.files.private import is_temp_name

        if self.folder is None or not self._readable():
            return 0
        try:
            files = os.listdir(self.folder)
        except OSError:
            return 0
        removed = 0
        for name in files:
            if is_temp_name(name):
                try:
                    os.unlink(os.path.join(self.folder, name))
                except OSError:
                    continue
                removed += 1
        return removed

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
        """Create the folder 0700, or check that it is a private folder of ours; False if not.

        A folder we did not create is never chmod'ed: a loose or foreign one is refused.
        """
        if self._ready:
            return True
        if self.folder is None:
            self._warn_once("no cache folder (no home folder and no --cache-dir): not cached")
            return False
        from eksauth.files.private import make_private_dirs  # the miss path only

        try:
            make_private_dirs(self.folder, home_folder(os.environ))  # 0700, never a home
            st = os.stat(self.folder, follow_symlinks=False)
            problem = folder_problem(st)
            if problem is not None and _ours_to_tighten(self.folder, st):
                os.chmod(self.folder, 0o700)
                problem = None
                self._trusted = None
        except OSError as exc:
            self._warn_once(f"cannot use the token cache {self.folder}: {_reason(exc)}")
            return False
        if problem is not None:
            self._refuse(problem)
            return False
        self._ready = self._trusted = True
        return True

    def _warn_once(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            self._warn(message)

    # -- locking ---------------------------------------------------------------------------

    def lock(self, name: str, timeout: float = LOCK_WAIT_SECONDS) -> Lock:
        """`with cache.lock(name) as held:` holds `<name>.lock` while making entry `name`.

        Only the miss path locks, and it looks in the cache again once the lock is held, so
        32 kubectl processes starting together sign once. A lock not granted within `timeout`
        is not worth stalling kubectl for: `held` is then False, `Lock.problem` says why, and
        the caller makes the entry anyway.
        """
        from eksauth.files.locks import Lock  # only the miss path locks

        if not self._prepare() or self.folder is None:
            return Lock(None, timeout, "the cache folder cannot be used")
        path = os.path.join(self.folder, name + ".lock")
        try:
            return Lock(_open_lock(path), timeout)
        except OSError as exc:
            return Lock(None, timeout, f"the lock file {path} cannot be used: {_reason(exc)}")


def _open_lock(path: str) -> int:
    """The lock file, opened; one that is not our private regular file is repaired (ours,
    with loose modes: chmod 0600) or replaced (anything else in our own folder)."""
    flags = os.O_RDWR | os.O_CREAT | NOFOLLOW | NONBLOCK | OPEN_ALWAYS
    for _attempt in range(2):
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EACCES):
                raise
        else:
            st = os.fstat(fd)
            if _private_regular_file(st):
                return fd
            if stat.S_ISREG(st.st_mode) and _owned(st) and hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
                return fd
            os.close(fd)
        _unlink_or_rmdir(path)  # a symlink, FIFO, folder or foreign file: it goes
    raise OSError(errno.EEXIST, "it keeps being replaced by something else")


def _unlink_or_rmdir(path: str) -> None:
    try:
        os.unlink(path)
    except IsADirectoryError:
        os.rmdir(path)
    except PermissionError:  # macOS/BSD: unlink of a folder
        os.rmdir(path)


def _owned(st: os.stat_result) -> bool:
    # Windows: the folder's ACL is what protects the entries.
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def file_problem(st: os.stat_result) -> str | None:
    """Why a file (lstat'ed) shared with aws-cli cannot be trusted, or None: it must be a
    regular file of ours that no one else can write to."""
    return _trust_problem(st, stat.S_ISREG, "a regular file", 0o022, "write to")


def _private_regular_file(st: os.stat_result) -> bool:
    private = not hasattr(os, "getuid") or not stat.S_IMODE(st.st_mode) & 0o077
    return stat.S_ISREG(st.st_mode) and _owned(st) and private


def _ours_to_tighten(folder: str, st: os.stat_result) -> bool:
    """The default folder (`~/.cache/eksauth`), ours, readable by others but writable by no one
    else (made under an old umask, or copied): eksauth's own, tightened. A folder named on the
    command line or by EKSAUTH_CACHE_DIR, or one that others may write to (a shared 1777
    folder), is never chmod'ed, whatever its name."""
    shared = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_ISVTX)
    return (
        stat.S_ISDIR(st.st_mode)
        and _owned(st)
        and not shared
        and folder == default_cache_dir(os.environ)
    )


def folder_problem(st: os.stat_result, *, private: bool = True) -> str | None:
    """Why a folder (lstat'ed) cannot hold secrets of ours, or None when it can: it must be a
    folder we own that no one else can write to. `private` (our own cache) also refuses one
    others can open; the folders we share with aws-cli (`~/.aws/sso/cache`, `~/.aws/cli/cache`)
    follow its umask, so there only group/other write is refused."""
    if private:
        return _trust_problem(st, stat.S_ISDIR, "a folder", 0o077, "open")
    return _trust_problem(st, stat.S_ISDIR, "a folder", 0o022, "write to")


def _trust_problem(
    st: os.stat_result, is_kind: Callable[[int], bool], kind: str, mask: int, verb: str
) -> str | None:
    """The one rule for folders and files that hold secrets: not a link, the right kind, ours,
    and (where modes mean something) no `mask` bit set."""
    if _reparse_point(st):
        return "it is a link (a Windows reparse point)"
    if not is_kind(st.st_mode):
        return f"it is not {kind}"
    if not _owned(st):
        return "it belongs to another user"
    mode = stat.S_IMODE(st.st_mode)
    if hasattr(os, "getuid") and mode & mask:
        return f"others can {verb} it (mode {mode:04o})"
    return None


def _reparse_point(st: os.stat_result) -> bool:
    """Windows has no O_NOFOLLOW, and lstat reports a junction as a plain folder: its file
    attributes still say it is a reparse point (a symlink or junction). Elsewhere: never."""
    return bool(getattr(st, "st_file_attributes", 0) & stat.FILE_ATTRIBUTE_REPARSE_POINT)


def path_problem(path: str, *, private: bool = True) -> str | None:
    """`folder_problem` of `path`; None when it does not exist yet (whoever makes it, makes
    it 0700), the reason when it cannot be looked at."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _reason(exc)
    return folder_problem(st, private=private)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
