"""What doctor and whoami take from the kubeconfig: a context, and the token request its user
entry makes, as kubectl would run it.

- The context: `--context NAME`; else, given only `-c CLUSTER`, the first context whose exec
  (or shared-user extension) names that cluster; else, with no flags at all, the current
  context, the one kubectl just used.
- Its user's exec is read as eksauth reads it. aws-cli and aws-iam-authenticator execs go
  through the rewrite migrate-kubeconfig makes (`migrate.as_eksauth`), so
  `aws --region R eks get-token --cluster-name X` means cluster X in region R. A shared user
  (`provideClusterInfo: true`, no cluster in its args) takes its values from the cluster
  entry's exec extension, as `eksauth token` does under kubectl.
- The exec's `env` (AWS_PROFILE, EKSAUTH_STS_URL...) is returned for the caller to apply.
- Command-line values override every kubeconfig value; `-v` hears where each came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Callable, NamedTuple

from eksauth.errors import KubeconfigError, UsageError
from eksauth.execcred import EXEC_EXTENSION, EXTENSION_KEYS
from eksauth.kubeconfig.entries import extension_named
from eksauth.kubeconfig.merged import Context, Merged, load
from eksauth.request import STS_URL_VARIABLE, TokenRequest, log_sources, request_from_values

_CLUSTER_KEYS = ("cluster_name", "cluster_id")


class Asked(NamedTuple):
    """The `token` option values a context's user exec gives, with where each came from."""

    values: dict[str, object]
    env: dict[str, str]  # the exec's env entries, as kubectl sets them for the plugin
    origins: dict[str, str]  # option -> "the exec args of user U"
    problem: str | None  # why nothing could be read from it

    def cluster(self) -> str | None:
        found = self.values.get("cluster_name") or self.values.get("cluster_id")
        return str(found) if found else None


_NOTHING = Asked({}, {}, {}, None)


def asked(context: Context) -> Asked:
    """What `context`'s user exec asks eksauth for (nothing, with the reason, if unreadable)."""
    from eksauth.kubeconfig.migrate import as_eksauth
    from eksauth.tokenargs import parse

    user = context.user
    if user is None:
        return _NOTHING._replace(problem=f"context {context.name} names no user entry")
    exec_ = user.body.get("exec")
    if not isinstance(exec_, Mapping):
        return _NOTHING._replace(problem=f"user {user.name} has no exec entry")
    rewritten = as_eksauth(exec_)
    if isinstance(rewritten, str):
        return _NOTHING._replace(
            problem=f"the exec of user {user.name} cannot be read: {rewritten}"
        )
    env = {
        str(item["name"]): str(item.get("value", ""))
        for item in rewritten.get("env") or ()
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    }
    parsed = parse([str(a) for a in rewritten.get("args") or ()], {})
    if parsed is None:
        problem = f"the exec args of user {user.name} are not an `eksauth token` command line"
        return Asked({}, env, {}, problem)
    values: dict[str, object] = dict(parsed)
    origins = dict.fromkeys(values, f"the exec args of user {user.name} in {user.path}")
    if "sts_url" not in values and env.get(STS_URL_VARIABLE):
        values["sts_url"] = env[STS_URL_VARIABLE]
        origins["sts_url"] = f"the exec env {STS_URL_VARIABLE} of user {user.name}"
    cluster = context.cluster
    shared = rewritten.get("provideClusterInfo") is True and cluster is not None
    if shared and cluster is not None and not any(values.get(k) for k in _CLUSTER_KEYS):
        found = extension_named({"cluster": cluster.body}, "cluster", EXEC_EXTENSION)
        extension = found if isinstance(found, Mapping) else {}
        for key, option in EXTENSION_KEYS.items():
            value = extension.get(key)
            if isinstance(value, str) and value.strip() and values.get(option) is None:
                values[option] = value
                origins[option] = f"the exec extension of cluster {cluster.name}"
    return Asked(values, env, origins, None)


def names(context: Context, cluster: str) -> bool:
    """Whether `context`'s user exec asks for a token for `cluster`."""
    return asked(context).cluster() == cluster


def choose(merged: Merged, *, context: str | None, cluster: str | None) -> Context | None:
    """The context of this run (see the module's docstring), or None when there is none."""
    if context is not None:
        found = merged.context(context)
        if found is None:
            raise UsageError(f"no context {context!r} in {merged.where()}")
        return found
    if cluster is not None:
        for name in merged.contexts:
            candidate = merged.context(name)
            if candidate is not None and names(candidate, cluster):
                return candidate
        return None
    current = merged.current_context
    if current is None:
        return None
    found = merged.context(current)
    if found is None:
        raise KubeconfigError(f"current-context {current!r} names no context in {merged.where()}")
    return found


class Resolved(NamedTuple):
    request: TokenRequest
    env: dict[str, str]  # the chosen exec's env, to apply as kubectl would
    merged: Merged | None  # None when the kubeconfig could not be read (`problem` says why)
    context: Context | None  # None when no context is for this cluster
    given_context: bool  # the context was named with --context
    problem: str | None


def resolve(
    flags: Mapping[str, object],
    *,
    kubeconfig: str | None,
    context: str | None,
    env: Mapping[str, str],
    log: Callable[[str], None],
) -> Resolved:
    """The token request of this run: the context's user exec, overridden by `flags` (the
    `token` option values given on the command line, None where not given)."""
    flagged = next((str(flags[k]) for k in _CLUSTER_KEYS if flags.get(k) is not None), None)
    merged: Merged | None = None
    problem = None
    try:
        merged = load(kubeconfig, env)
    except KubeconfigError as exc:
        if flagged is None or context is not None:
            raise
        problem = exc.message  # the AWS side can still be explained
    chosen = choose(merged, context=context, cluster=flagged) if merged is not None else None
    found = asked(chosen) if chosen is not None else _NOTHING
    if flagged is None and found.cluster() is None:
        raise UsageError(_no_cluster(merged, chosen, found), hint="give --cluster-name NAME")
    values = {k: v for k, v in found.values.items() if not (flagged and k in _CLUSTER_KEYS)}
    origins = dict(found.origins)
    for option, value in flags.items():
        if value is not None and value is not False:
            values[option] = value
            origins.pop(option, None)
    if chosen is not None:
        log(f"context: {chosen.name} (in {chosen.path})")
    for name, value in sorted(found.env.items()):
        log(f"{name}={value} (from the exec env of the context's user)")
    request = request_from_values(values)
    log_sources(log, values, origins)
    return Resolved(request, found.env, merged, chosen, context is not None, problem)


def _no_cluster(merged: Merged | None, chosen: Context | None, found: Asked) -> str:
    if merged is None or not merged.paths:
        return "no cluster: there is no kubeconfig to take it from"
    if chosen is None:
        return f"no cluster: {merged.where()} sets no current-context"
    why = found.problem or "its exec names no cluster"
    return f"no cluster from context {chosen.name}: {why}"
