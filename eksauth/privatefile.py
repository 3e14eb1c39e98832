"""Atomic, private file replacement: the one way eksauth writes a file.

A temp file beside the target, created 0600 with O_EXCL|O_NOFOLLOW (and chmod'ed to exactly
0600, since the umask can only narrow), written, fsynced, then `os.replace`d over the target:
readers see the old content or the new, never half, and nobody else can read it in between.
Stdlib only; used by the token cache and the kubeconfig writer.
"""

from __future__ import annotations

import os
import time


def replace_private(path: str, data: bytes) -> None:
    """Replace `path` with `data`, mode 0600; raises OSError, leaving no temp file behind."""
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".{name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temp, flags, 0o600)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:  # noqa: SIM105 -- contextlib would cost the cache-hit path an import
            os.unlink(temp)
        except OSError:
            pass
        raise
