"""Reading a file a user names (a kubeconfig, an aws-auth file, a CA), bounded.

Opened non-blocking, so a FIFO or a device in its place cannot hang us; a regular file only
(a symlink to one is fine, as for kubectl); at most `limit` bytes, so `/dev/zero` or a
runaway file cannot exhaust memory; UTF-8 text. Every failure is one `error` naming the path.
Stdlib only.
"""

from __future__ import annotations

import os
import stat

from eksauth.errors import EksAuthError
from eksauth.portable import NONBLOCK, OPEN_ALWAYS

MAX_BYTES = 16 << 20  # far above any real kubeconfig, aws-auth ConfigMap or CA bundle


def read_text(
    path: str,
    *,
    what: str,
    error: type[EksAuthError] = EksAuthError,
    hint: str | None = None,
    limit: int = MAX_BYTES,
) -> str | None:
    """The text of `path`, or None when there is no such file. `what` names it in errors
    ("the aws-auth file"; "" for the path alone); the text keeps the file's line endings."""
    name = f"{what} {path}" if what else path
    flags = os.O_RDONLY | NONBLOCK | OPEN_ALWAYS
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"cannot read {name}: {exc.strerror or exc}", hint=hint) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{name} is not a regular file", hint=hint)
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise error(f"{name} is larger than {limit >> 20} MiB", hint=hint)
    except OSError as exc:
        raise error(f"cannot read {name}: {exc.strerror or exc}", hint=hint) from exc
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        # No cause: UnicodeDecodeError quotes the offending bytes, and a kubeconfig holds secrets.
        raise error(f"{name} is not UTF-8 text", hint=hint) from None
