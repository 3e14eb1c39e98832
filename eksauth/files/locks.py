"""eksauth's two kinds of lock, each with a bounded wait. Stdlib only, never on the hit path.

- `Lock`: an exclusive advisory lock (flock; msvcrt on Windows) on an open lock file, used by
  the cache for `<entry>.lock`, taken only on the miss path: closing the descriptor releases
  it, so a killed process never leaves a lock held.
- `exclusive`: kubectl's `<file>.lock` beside a kubeconfig, created with O_EXCL and removed
  after, so that eksauth, kubectl and aws-cli writing the same file take turns.
"""

from __future__ import annotations

import errno
import os
import sys
import time

from eksauth.portable import NOFOLLOW, OPEN_ALWAYS

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from types import ModuleType, TracebackType

# kubectl waits for another writer's `<file>.lock` for a few seconds; so do we.
FILE_LOCK_WAIT_SECONDS = 10.0


class Lock:
    """An exclusive lock on an open lock file; closing the descriptor releases it."""

    def __init__(self, fd: int | None, timeout: float, problem: str | None = None) -> None:
        self._fd = fd
        self._timeout = timeout
        self.problem = problem  # why `held` is False, once the `with` has begun

    def __enter__(self) -> bool:
        if self._fd is None:
            return False
        if _acquire(self._fd, self._timeout):
            return True
        self.problem = f"another process held the cache lock for {self._timeout:g} s"
        return False

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


def _try_lock(fd: int, platform: str = sys.platform) -> bool:
    """Take the lock without waiting: msvcrt's byte-range lock on Windows, flock elsewhere.
    Either is released when the descriptor closes, so a killed process leaves none held."""
    try:
        if platform == "win32":
            msvcrt = windows_locking()
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # the first byte, from offset 0
        elif sys.platform != "win32":  # (so mypy checks this branch off Windows only)
            import fcntl  # only the miss path locks

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # flock asked for on Windows, which has none
            return False
    except OSError:
        return False
    return True


def windows_locking() -> ModuleType:
    """The `msvcrt` module: the one seam to Windows-only code, which tests replace elsewhere."""
    import msvcrt  # Windows only

    return msvcrt


# -- kubectl's `<file>.lock` ---------------------------------------------------------------------


class LockTimeout(OSError):
    """Another writer held `<file>.lock` for longer than we wait."""


class exclusive:
    """Hold `<path>.lock` as kubectl does: create it O_EXCL, remove it on the way out.

    Waits up to `timeout` seconds for another holder, then raises `LockTimeout` naming the lock
    (a writer killed mid-write leaves it behind: the message says to remove it).
    """

    def __init__(self, path: str, timeout: float = FILE_LOCK_WAIT_SECONDS) -> None:
        self.lock_path = path + ".lock"
        self._timeout = timeout
        self._held = False

    def __enter__(self) -> exclusive:
        deadline = time.monotonic() + self._timeout
        delay = 0.005
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | OPEN_ALWAYS
        while True:
            try:
                os.close(os.open(self.lock_path, flags, 0o600))
            except FileExistsError as exc:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        errno.EAGAIN,
                        f"{self.lock_path} is held by another writer (waited "
                        f"{self._timeout:g} s); remove it if no eksauth or kubectl is running",
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            self._held = True
            return self

    def __exit__(self, *exc_info: object) -> None:
        if self._held:
            self._held = False
            try:  # noqa: SIM105
                os.unlink(self.lock_path)
            except OSError:
                pass
