"""Atomic, private file replacement: the one way eksauth writes a file.

A temp file beside the target, created 0600 with O_EXCL|O_NOFOLLOW (and chmod'ed to exactly
0600, since the umask can only narrow), written, fsynced, then `os.replace`d over the target:
readers see the old content or the new, never half, and nobody else can read it in between.
Temp files are named `.NAME.PID.NS.tmp` (`TEMP_SUFFIX`), so a store can find and remove the
ones a killed writer left behind.

Files eksauth creates *beside* user data (a kubeconfig backup, a kubelet CA file) go through
`replace_own`: whatever is at the path must be absent or a regular file of ours, else nothing
is written (`PlantedError`): a symlink planted in a shared folder never redirects a write.
Stdlib only; used by the token cache and the kubeconfig writer (whose kubectl-style
`<file>.lock` is `locks.exclusive`).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time

from eksauth.portable import NOFOLLOW, OPEN_ALWAYS

TEMP_SUFFIX = ".tmp"


class PlantedError(OSError):
    """Something other than our own regular file is where we would write."""


def replace_private(
    path: str,
    data: bytes,
    *,
    like: os.stat_result | None = None,
    owner: tuple[int, int] | None = None,
) -> None:
    """Replace `path` with `data`, mode 0600; raises OSError, leaving no temp file behind.

    With `like` (the stat of the file being rewritten), the new file keeps its owner, group and
    mode, as kubectl does: root rewriting a user's kubeconfig must not take it from them. With
    `owner` ((uid, gid) of the user data it sits beside), it stays 0600 but is theirs.
    """
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".{name}.{os.getpid()}.{time.monotonic_ns()}{TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | OPEN_ALWAYS
    fd = os.open(temp, flags, 0o600)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            if like is not None:
                _take_on(fd, (like.st_uid, like.st_gid), stat.S_IMODE(like.st_mode))
            elif owner is not None:
                _take_on(fd, owner, 0o600)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:  # noqa: SIM105 -- contextlib would cost the cache-hit path an import
            os.unlink(temp)
        except OSError:
            pass
        raise


def _take_on(fd: int, owner: tuple[int, int], mode: int) -> None:
    """Give the temp file an owner, group and mode (owner first: chown clears setuid)."""
    if hasattr(os, "fchown") and owner != _ids():
        try:  # noqa: SIM105 -- contextlib would cost the cache-hit path an import
            os.fchown(fd, *owner)
        except PermissionError:  # not root: the file can only be ours, as it was for us
            pass
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def _ids() -> tuple[int, int]:
    ids = (0, 0)  # Windows: no Unix owners
    if sys.platform != "win32":
        ids = (os.getuid(), os.getgid())
    return ids


def replace_own(path: str, data: bytes, *, owner: tuple[int, int] | None = None) -> None:
    """Create `path` (O_EXCL|O_NOFOLLOW), or replace it only if it is a regular file of ours.

    Anything else there (a symlink, a FIFO, a folder, another user's file) raises
    `PlantedError` and nothing is written. `owner` ((uid, gid) of the user data the file sits
    beside, say a kubeconfig root is rewriting for a user) counts as ours too, and is given
    the file (still 0600), so that its user can read and later replace it.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        _create(path, data, owner)
        return
    refuse_unless_own(st, owner)
    replace_private(path, data, owner=owner)


def refuse_unless_own(st: os.stat_result, owner: tuple[int, int] | None = None) -> None:
    """`PlantedError` unless `st` is a regular file owned by the caller (or by `owner`)."""
    if not stat.S_ISREG(st.st_mode):
        kind = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise PlantedError(errno.EEXIST, f"it is {kind}; refusing to write through it")
    allowed = {os.getuid(), owner[0] if owner else os.getuid()} if hasattr(os, "getuid") else None
    if allowed is not None and st.st_uid not in allowed:
        raise PlantedError(errno.EPERM, "it belongs to another user; refusing to replace it")


def _create(path: str, data: bytes, owner: tuple[int, int] | None) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | OPEN_ALWAYS
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:  # planted between our look and our create
        raise PlantedError(errno.EEXIST, "it appeared while writing; refusing") from exc
    try:
        try:
            _take_on(fd, owner or _ids(), 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        try:  # noqa: SIM105
            os.unlink(path)
        except OSError:
            pass
        raise


def make_private_dirs(folder: str, home: str | None) -> bool:
    """Create `folder` and its missing parents, each exactly 0700 whatever the umask (the one
    place eksauth creates folders); True when `folder` itself was made here.

    A missing home folder is never created, nor its parents (`HOME=/x/y/h` with none of it
    there is a mistake, not a request): within `home` that raises FileNotFoundError. Existing
    folders are left exactly as they are.
    """
    missing: list[str] = []
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    home_path = os.path.abspath(home) if home is not None else None
    if home_path is not None and any(_within(home_path, path) for path in missing):
        raise FileNotFoundError(errno.ENOENT, f"the home folder {home} does not exist")
    made = False
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:  # made by a racing run: theirs to have set up
            continue
        os.chmod(path, 0o700)
        made = path == os.path.abspath(folder)
    return made


def _within(home: str, path: str) -> bool:
    """Whether `path` is `home` or one of its parents (so creating it would create a home)."""
    return home == path or home.startswith(path.rstrip(os.sep) + os.sep)


def is_temp_name(name: str) -> bool:
    """Whether `name` is a temp file of `replace_private` (`.NAME.PID.NS.tmp`)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX) and name.count(".") >= 4
