"""The console-script entry point: serve a cached token before anything heavy is imported.

kubectl runs the plugin for every command, so a cache hit must cost little more than starting
Python. This module reads the clock once, recognises the `token` command lines it can answer
(every spelling the CLI accepts for `token`, `get-token` and `eks get-token`, as long as each
option is a separate word), and prints a cached token using only the stdlib. Anything else
(a miss, --help, an unknown option, a usage error) goes to the click CLI, which owns every
message; the recogniser only has to be conservative, never complete.
"""

from __future__ import annotations

import os
import sys
import time

from eksauth.execcred import DEPRECATED, SUPPORTED

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_GLOBAL_VALUES = {"--region": "region", "--profile": "profile", "--output": "output"}
_TOKEN_VALUES = {
    **_GLOBAL_VALUES,
    "--cluster-name": "cluster_name",
    "-c": "cluster_name",
    "--cluster-id": "cluster_id",
    "-i": "cluster_id",
    "--role-arn": "role_arn",
    "--role": "role_arn",
    "-r": "role_arn",
    "--role-session-name": "session_name",
    "--session-name": "session_name",
    "-s": "session_name",
    "--external-id": "external_id",
    "-e": "external_id",
    "--role-duration": "role_duration",
    "--sts-url": "sts_url",
    "--api-version": "api_version",
    "--cache-dir": "cache_dir",
}
_TOKEN_FLAGS = {
    "--forward-session-name": "forward_session_name",
    "--token-only": "token_only",
    "-v": "verbose",
    "--verbose": "verbose",
}
_OUTPUTS = ("json", "token")
_API_VERSIONS = (*SUPPORTED, *DEPRECATED)


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


def parse(args: Sequence[str], env: Mapping[str, str]) -> dict[str, str | bool] | None:
    """The option values of a `token` command line, or None if this is anything else."""
    values: dict[str, str | bool] = {}
    rest = _take_options(args, 0, _GLOBAL_VALUES, {}, values)
    if rest is None or rest >= len(args):
        return None
    if args[rest] == "eks":
        rest = _take_options(args, rest + 1, _GLOBAL_VALUES, {}, values)
        if rest is None or rest >= len(args) or args[rest] != "get-token":
            return None
    elif args[rest] not in ("token", "get-token"):
        return None
    end = _take_options(args, rest + 1, _TOKEN_VALUES, _TOKEN_FLAGS, values)
    if end != len(args):
        return None
    if values.get("output", "json") not in _OUTPUTS:
        return None
    if values.get("api_version", _API_VERSIONS[0]) not in _API_VERSIONS:
        return None
    if "sts_url" not in values and env.get("EKSAUTH_STS_URL"):
        values["sts_url"] = env["EKSAUTH_STS_URL"]
    return values


def _take_options(
    args: Sequence[str],
    start: int,
    with_value: Mapping[str, str],
    flags: Mapping[str, str],
    into: dict[str, str | bool],
) -> int | None:
    """Consume options from `start`; the index of the first non-option, or None if unknown."""
    i = start
    while i < len(args) and args[i].startswith("-"):
        word = args[i]
        name, eq, inline = word.partition("=")
        if eq and name.startswith("--") and name in with_value:
            into[with_value[name]] = inline
            i += 1
        elif word in with_value and i + 1 < len(args):
            into[with_value[word]] = args[i + 1]
            i += 2
        elif word in flags:
            into[flags[word]] = True
            i += 1
        else:
            return None  # --help, --no-cache, --refresh, `--`, bundled or unknown options
    return i


def serve_from_cache(args: Sequence[str], env: Mapping[str, str], now: float) -> int | None:
    """Print the cached answer and return 0, or None when the CLI must handle this run."""
    if "_EKSAUTH_COMPLETE" in env:
        return None
    values = parse(args, env)
    if values is None:
        return None
    from eksauth.api import cached_token, token_key  # stdlib-only modules, after parsing
    from eksauth.cache import Cache, resolve_cache_dir
    from eksauth.errors import EksAuthError
    from eksauth.execcred import exec_credential, read_exec_info
    from eksauth.request import request_from

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    try:
        request = request_from(values)
    except EksAuthError:
        return None  # the CLI reports it
    cache = Cache(resolve_cache_dir(text("cache_dir"), env), warn=lambda _: None)
    hit = cached_token(cache, token_key(request, env), now)
    if hit is None:
        return None
    info = read_exec_info(env, text("api_version"))
    if info.warning:
        sys.stderr.write(f"eksauth: warning: {info.warning}\n")
    if values.get("verbose"):
        sys.stderr.write(f"eksauth: token served from the cache, expires {hit.expiration}\n")
    if values.get("token_only") or values.get("output") == "token":
        sys.stdout.write(hit.token + "\n")
    else:
        sys.stdout.write(exec_credential(info.api_version, hit.token, hit.expiration))
    sys.stdout.flush()
    return 0
