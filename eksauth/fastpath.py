"""The console-script entry point: serve a cached token before anything heavy is imported.

kubectl runs the plugin for every command, so a cache hit must cost little more than starting
Python. This module reads the clock once, recognises the `token` command lines it can answer
(`tokenargs.parse`), and prints a cached token using only the stdlib. Anything else (a miss,
--help, an unknown option, a usage error) goes to the click CLI, which owns every message.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def main(argv: Sequence[str] | None = None, now: float | None = None) -> int:
    """`eksauth`: a cache hit is answered here; everything else is the click CLI's.

    `now` is for tests that pin the clock; a real run reads it here, once.
    """
    if now is None:
        now = time.time()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        served = serve_from_cache(args, os.environ, now)
        if served is not None:
            return served
        from eksauth.cli import run  # click and botocore only on a miss

        status = run(args, now=now)
        sys.stdout.flush()
    except OSError as exc:  # kubectl went away mid-read, or stdout is full: one line
        from eksauth.stdio import is_stdout_failure, stdout_failed

        if not is_stdout_failure(exc):
            raise
        return stdout_failed(exc)
    return status


def serve_from_cache(args: Sequence[str], env: Mapping[str, str], now: float) -> int | None:
    """Print the cached answer and return 0, or None when the CLI must handle this run."""
    if "_EKSAUTH_COMPLETE" in env:
        return None
    from eksauth.tokenargs import parse

    values = parse(args, env)
    if values is None:
        return None
    # The hit unit: stdlib-only modules, imported after parsing (tests/hitprobe.py pins them).
    from eksauth.cache import Cache, resolve_cache_dir
    from eksauth.errors import EksAuthError
    from eksauth.execcred import exec_credential, read_exec_info
    from eksauth.lookup import cached_token, token_key
    from eksauth.request import request_with_extension

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    notes: list[str] = []  # where each value came from; shown (-v) only if this run is a hit
    try:
        request = request_with_extension(
            values, env, log=notes.append if values.get("verbose") else None
        )
    except EksAuthError:
        return None  # the CLI reports it
    cache = Cache(resolve_cache_dir(text("cache_dir"), env), warn=lambda _: None)
    hit = cached_token(cache, token_key(request, env), now)
    if hit is None:
        return None
    info = read_exec_info(env, text("api_version"))
    if info.warning:
        sys.stderr.write(f"eksauth: warning: {info.warning}\n")
    for note in notes:
        sys.stderr.write(f"eksauth: {note}\n")
    if values.get("verbose"):
        sys.stderr.write(f"eksauth: token served from the cache, expires {hit.expiration}\n")
    if values.get("token_only") or values.get("output") == "token":
        sys.stdout.write(hit.token + "\n")
    else:
        sys.stdout.write(exec_credential(info.api_version, hit.token, hit.expiration))
    sys.stdout.flush()
    return 0
