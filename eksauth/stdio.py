"""The answer's way out: stdout that cannot take it (a closed pipe, a full disk) is one line.

kubectl killed mid-read leaves eksauth writing into a broken pipe; `>/dev/full` fails on the
flush. Either way the answer is lost, and all that is left is to say so once, on stderr, and to
make sure Python's own flush at exit does not print a second complaint. Stdlib only; imported
only when writing has already failed.
"""

from __future__ import annotations

import errno
import os
import sys

# What a write to stdout raises when the reader went away or the file cannot grow.
STDOUT_ERRNOS = frozenset({errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EBADF, errno.EFBIG}) | (
    # Windows' C runtime reports a write to a pipe whose reader went away (ERROR_NO_DATA) as
    # EINVAL, not EPIPE.
    {errno.EINVAL} if sys.platform == "win32" else set()
)


def is_stdout_failure(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in STDOUT_ERRNOS


def stdout_failed(exc: OSError) -> int:
    """Say once that the answer could not be written; detach stdout; exit status 1."""
    try:
        from eksauth.portable import OPEN_ALWAYS

        devnull = os.open(os.devnull, os.O_WRONLY | OPEN_ALWAYS)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no fd 1 at all: nothing left to flush
        pass
    try:
        sys.stderr.write(f"eksauth: error: cannot write to stdout: {exc.strerror or exc}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return 1
