"""The shared form: one user entry for every cluster, each cluster carrying its own values.

kubectl passes the current cluster's `client.authentication.k8s.io/exec` extension to a user
whose exec sets `provideClusterInfo: true`; `eksauth token` without --cluster-name reads it
(execcred.read_cluster_extension). So the user entry is the same for every cluster and the
cluster entries say which cluster, region, role and profile a token is for.
"""

from __future__ import annotations

from typing import Any

from eksauth.errors import UsageError
from eksauth.execcred import EXEC_EXTENSION, EXTENSION_KEYS
from eksauth.kubeconfig.command import INSTALL_HINT, program
from eksauth.kubeconfig.entries import (
    EXEC_API_VERSION,
    Cluster,
    Entries,
    UserOptions,
    build_entries,
    extension_named,
    merge,
    put_extension,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from eksauth.request import TokenRequest

DEFAULT_USER = "eksauth"
# What the shared user cannot express: these stay per-cluster users.
_NOT_SHARED = ("external_id", "role_duration", "forward_session_name", "sts_url")


def shared_user(name: str, command: str = "eksauth") -> dict[str, Any]:
    """The one user entry: `eksauth token`, told the cluster by kubectl."""
    return {
        "name": name,
        "user": {
            "exec": {
                "apiVersion": EXEC_API_VERSION,
                "args": ["token"],
                "command": command,
                "installHint": INSTALL_HINT,
                "interactiveMode": "IfAvailable",
                "provideClusterInfo": True,
            }
        },
    }


def _runs_eksauth(exec_: dict[str, Any]) -> bool:
    """`command: eksauth`, or a path to it (written when eksauth is not on PATH)."""
    return program(exec_.get("command")) == "eksauth"


def is_shared_user(entry: dict[str, Any]) -> bool:
    """Whether `entry` runs `eksauth token` with no cluster, told it by kubectl."""
    user = entry.get("user")
    exec_ = user.get("exec") if isinstance(user, dict) else None
    return (
        isinstance(exec_, dict)
        and _runs_eksauth(exec_)
        and exec_.get("args") == ["token"]
        and exec_.get("provideClusterInfo") is True
    )


def _ours(exec_: dict[str, Any], key: str, value: str) -> set[str]:
    """{key} when `exec_` has eksauth's own value there (the shared user writes the same)."""
    return {key} if exec_.get(key) == value else set()


def unshareable(request: TokenRequest) -> list[str]:
    """The request's values the extension cannot carry (their option names)."""
    return [name for name in _NOT_SHARED if getattr(request, name)]


def extension_of(request: TokenRequest, profile: str | None = None) -> dict[str, str]:
    """The extension keys for `request` (its profile, or `profile` from the exec's env)."""
    values = {
        "cluster_id" if request.by_id else "cluster_name": request.cluster,
        "region": request.region,
        "profile": request.profile or profile,
        "role_arn": request.role_arn,
        "session_name": request.session_name,
    }
    return {key: str(values[o]) for key, o in EXTENSION_KEYS.items() if values.get(o)}


def extension(cluster_entry: dict[str, Any]) -> object:
    """The cluster entry's exec extension, or None."""
    return extension_named(cluster_entry, "cluster", EXEC_EXTENSION)


def set_extension(cluster_entry: dict[str, Any], values: dict[str, str]) -> None:
    """Put `values` as the cluster entry's exec extension (replacing it where it stands)."""
    put_extension(cluster_entry, "cluster", EXEC_EXTENSION, values)


# -- update-kubeconfig --shared-user -------------------------------------------------------------


def shared_entries(
    cluster: Cluster, options: UserOptions, *, user: str, alias: str | None = None
) -> Entries:
    """update-kubeconfig's entries in the shared form: the cluster with its extension, the
    shared user, and a context (named `alias` or the cluster entry's name) joining them."""
    if options.forward_session_name or options.kubelet:
        raise UsageError("--shared-user cannot carry --forward-session-name or --kubelet")
    request = options.request(cluster.name, cluster_id=cluster.cluster_id, region=cluster.region)
    written = build_entries(cluster, options)
    set_extension(written.cluster, extension_of(request, options.profile))
    context = {
        "context": {"cluster": cluster.entry_name, "user": user},
        "name": alias or cluster.entry_name,
    }
    return Entries(written.cluster, shared_user(user, options.command), context)


def merge_shared(content: dict[str, Any], entries: Entries) -> tuple[bool, bool]:
    """`merge`, but the shared user is created once and left alone afterwards.

    Returns (the cluster entry was there, the user entry was created). A user of that name
    that is not a shared eksauth user is refused rather than pointed at.
    """
    name = entries.user["name"]
    found = next((u for u in content.get("users") or [] if u.get("name") == name), None)
    if found is not None and not is_shared_user(found):
        raise UsageError(
            f"the kubeconfig has a user {name} that is not a shared eksauth user",
            hint="give --shared-user another NAME, or run `eksauth migrate-kubeconfig`",
        )
    user = entries.user if found is None else found  # replaced by itself: unchanged
    existed = merge(content, Entries(entries.cluster, user, entries.context))
    return existed, found is None


# -- migrate-kubeconfig --shared-user ------------------------------------------------------------

# The exec keys the shared user reproduces; any other (installHint, cluster-specific env...)
# would be lost, so a user with one stays as it is.
_SHARED_EXEC_KEYS = {
    "apiVersion",
    "command",
    "args",
    "env",
    "interactiveMode",
    "provideClusterInfo",
}
# `token` options that change the output or the cache rather than the token: not shareable.
_OUTPUT_OPTIONS = ("output", "token_only", "api_version", "cache_dir", "verbose")


def share(
    content: dict[str, Any], name: str, command: str = "eksauth"
) -> tuple[list[str], list[str]]:
    """Turn per-cluster `eksauth token` users into the shared user `name`, in place.

    Each converted user's values go into the exec extension of every cluster its contexts
    name, its contexts point at `name`, and the user, referenced by nothing any more, goes.
    A user whose values cannot all move, or whose clusters already carry other values, stays
    as it is. Returns (what changed, what was left and why), one line per user.
    """
    users = content.get("users") or []
    contexts = [c for c in content.get("contexts") or [] if isinstance(c.get("context"), dict)]
    clusters = {c.get("name"): c for c in content.get("clusters") or [] if isinstance(c, dict)}
    found = next((u for u in users if u.get("name") == name), None)
    if found is not None and not is_shared_user(found):
        return [], [f"every user: {name} is a user that is not a shared eksauth user"]
    claimed: dict[str, dict[str, str]] = {}
    plans: list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]]] = []
    skipped: list[str] = []
    for entry in users:
        exec_ = (entry.get("user") or {}).get("exec") if entry is not found else None
        plan = _values(exec_) if isinstance(exec_, dict) else None
        if plan is None:
            continue  # not a per-cluster eksauth user
        uses = [c for c in contexts if c["context"].get("user") == entry.get("name")]
        reason = plan if isinstance(plan, str) else _conflict(uses, plan, clusters, claimed)
        if reason is None and not uses:
            reason = "no context uses it"
        if reason is not None or isinstance(plan, str):
            skipped.append(f"user {entry.get('name')}: {reason}")
            continue
        for context in uses:
            claimed[context["context"]["cluster"]] = plan
        plans.append((entry, uses, plan))
    changed = []
    for entry, uses, values in plans:
        for context in uses:
            set_extension(clusters[context["context"]["cluster"]], values)
            context["context"]["user"] = name
        users.remove(entry)
        names = ", ".join(sorted({c["context"]["cluster"] for c in uses}))
        changed.append(f"user {entry.get('name')}: -> shared user {name} (cluster {names})")
    if plans and found is None:
        users.append(shared_user(name, command))
    return changed, skipped


def _values(exec_: dict[str, Any]) -> dict[str, str] | str | None:
    """The extension values of a per-cluster eksauth exec, the reason it cannot be shared,
    or None when it is no per-cluster `eksauth token` exec."""
    from eksauth.errors import EksAuthError
    from eksauth.request import request_from_values
    from eksauth.tokenargs import parse

    args = exec_.get("args")
    if not _runs_eksauth(exec_) or not isinstance(args, list):
        return None
    values = parse([str(a) for a in args], {})
    if values is None or not (values.get("cluster_name") or values.get("cluster_id")):
        return None
    try:
        request = request_from_values(values)
    except EksAuthError as exc:
        return exc.message
    env = {i.get("name"): i.get("value") for i in exec_.get("env") or [] if isinstance(i, dict)}
    loses = [
        *sorted(set(exec_) - _SHARED_EXEC_KEYS - _ours(exec_, "installHint", INSTALL_HINT)),
        *(f"--{o.replace('_', '-')}" for o in _OUTPUT_OPTIONS if values.get(o)),
        *(f"--{o.replace('_', '-')}" for o in unshareable(request)),
        *(f"env {n}" for n in sorted(set(env) - {"AWS_PROFILE"}, key=str)),
    ]
    if exec_.get("apiVersion") != EXEC_API_VERSION:
        loses.append(f"apiVersion {exec_.get('apiVersion')}")
    if exec_.get("interactiveMode", "IfAvailable") != "IfAvailable":
        loses.append(f"interactiveMode {exec_.get('interactiveMode')}")
    if loses:
        return f"{', '.join(map(str, loses))} cannot be shared"
    profile = env.get("AWS_PROFILE")
    return extension_of(request, str(profile) if profile else None)


def _conflict(
    uses: list[dict[str, Any]],
    values: dict[str, str],
    clusters: dict[Any, dict[str, Any]],
    claimed: dict[str, dict[str, str]],
) -> str | None:
    for context in uses:
        cluster = context["context"].get("cluster")
        if cluster not in clusters:
            return f"context {context.get('name')} names no cluster entry"
        current = extension(clusters[cluster])
        if current is not None and current != values:
            return f"cluster {cluster} already has another exec extension"
        if claimed.get(cluster, values) != values:
            return f"cluster {cluster} is used by another user with other values"
    return None
