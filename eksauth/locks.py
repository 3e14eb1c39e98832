"""An exclusive advisory lock on an open lock file, with a bounded wait. Stdlib only.

Used by the cache for `<entry>.lock`, taken only on the miss path: closing the descriptor
releases it, so a killed process never leaves a lock held.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any


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


def windows_locking() -> Any:
    """The `msvcrt` module: the one seam to Windows-only code, which tests replace elsewhere."""
    import msvcrt  # Windows only

    return msvcrt
