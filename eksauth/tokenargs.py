"""The `token` command lines eksauth answers, read with the stdlib alone.

Every spelling the CLI accepts for `token`, `get-token` and `eks get-token`, as long as each
option is a separate word. The fast path uses it to serve cache hits before click loads, and
the kubeconfig migration to read the args of an existing eksauth exec. It only has to be
conservative, never complete: anything it does not recognise is None, and the click CLI owns
every message. A test ties these tables to click's options.
"""

from __future__ import annotations

from eksauth.execcred import DEPRECATED, SUPPORTED
from eksauth.request import STS_URL_VARIABLE

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

GLOBAL_VALUES = {"--region": "region", "--profile": "profile", "--output": "output"}
TOKEN_VALUES = {
    **GLOBAL_VALUES,
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
TOKEN_FLAGS = {
    "--forward-session-name": "forward_session_name",
    "--token-only": "token_only",
    "-v": "verbose",
    "--verbose": "verbose",
}
_OUTPUTS = ("json", "token")
_API_VERSIONS = (*SUPPORTED, *DEPRECATED)


def parse(args: Sequence[str], env: Mapping[str, str]) -> dict[str, str | bool] | None:
    """The option values of a `token` command line, or None if this is anything else."""
    values: dict[str, str | bool] = {}
    rest = _take_options(args, 0, GLOBAL_VALUES, {}, values)
    if rest is None or rest >= len(args):
        return None
    if args[rest] == "eks":
        rest = _take_options(args, rest + 1, GLOBAL_VALUES, {}, values)
        if rest is None or rest >= len(args) or args[rest] != "get-token":
            return None
    elif args[rest] not in ("token", "get-token"):
        return None
    end = _take_options(args, rest + 1, TOKEN_VALUES, TOKEN_FLAGS, values)
    if end != len(args):
        return None
    if values.get("output", "json") not in _OUTPUTS:
        return None
    if values.get("api_version", _API_VERSIONS[0]) not in _API_VERSIONS:
        return None
    if "sts_url" not in values and env.get(STS_URL_VARIABLE):
        values["sts_url"] = env[STS_URL_VARIABLE]
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
