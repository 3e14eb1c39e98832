"""update-kubeconfig --all: every cluster the profiles can list, in the shared form, written
with one lock and one write; `update_all` returns the plan the command prints.

What is written, per cluster found ACTIVE (or UPDATING): the cluster entry (named by its ARN,
with its exec extension: cluster, region, profile, role), a context (`--alias` template), and
one shared user entry per (profile, role) (`eksauth`, or `eksauth@PROFILE` with several
profiles, or `--user-alias`). Entries this command creates carry the MARK extension, which is
what `--prune` goes by: a marked cluster or context whose (profile, region) answered this run
and no longer lists its cluster is removed, and then marked users nothing uses. An entry a
person wrote is updated in place at most (server, CA, exec extension), never marked or removed;
a context name a person uses is never taken over. current-context changes only on request.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from eksauth.errors import UsageError
from eksauth.kubeconfig.entries import (
    USABLE_STATES,
    Cluster,
    ClusterError,
    Entries,
    UserOptions,
    cluster_from_description,
    put_extension,
)
from eksauth.kubeconfig.marked import MARK, mark_of, prune
from eksauth.kubeconfig.naming import DEFAULT_ALIAS, unique_names
from eksauth.kubeconfig.shared import DEFAULT_USER, is_shared_user, shared_entries
from eksauth.kubeconfig.survey import Failure, Found, Progress, Survey

KINDS = {"clusters": "cluster", "users": "user", "contexts": "context"}


@dataclass(frozen=True)
class AllRequest:
    path: str
    profiles: tuple[str | None, ...] = (None,)
    regions: tuple[str, ...] = ()
    all_regions: bool = False
    role_arn: str | None = None
    session_name: str | None = None
    command: str = "eksauth"
    alias: str = DEFAULT_ALIAS
    user_alias: str | None = None
    shared_user: str = DEFAULT_USER
    prune: bool = False
    set_context: str | None = None
    dry_run: bool = False
    timeout: float = 60.0


@dataclass(frozen=True)
class Change:
    action: str  # added, changed, unchanged, pruned
    kind: str  # cluster, context, user
    name: str


@dataclass
class Plan:
    path: str
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # clusters not ACTIVE, one line each
    notes: list[str] = field(default_factory=list)
    regions_answered: int = 0
    regions_total: int = 0
    current_context: str | None = None
    current_changed: bool = False
    written: bool = False

    @property
    def modified(self) -> bool:
        return self.current_changed or any(c.action != "unchanged" for c in self.changes)

    def names(self, action: str, kind: str) -> list[str]:
        return [c.name for c in self.changes if c.action == action and c.kind == kind]

    def to_json(self) -> dict[str, Any]:
        entries = {
            action: [{"kind": c.kind, "name": c.name} for c in self.changes if c.action == action]
            for action in ("added", "changed", "unchanged", "pruned")
        }
        return {
            "kubeconfig": self.path,
            "dry_run": self.dry_run,
            "written": self.written,
            **entries,
            "failed": [
                {"profile": f.profile, "region": f.region, "cluster": f.cluster, "error": f.reason}
                for f in self.failures
            ],
            "skipped": self.skipped,
            "notes": self.notes,
            "regions": {"answered": self.regions_answered, "total": self.regions_total},
            "current_context": self.current_context,
        }


def update_all(request: AllRequest, progress: Callable[[Progress], None] | None = None) -> Plan:
    """Ask every profile and region, then merge what answered into the kubeconfig at once."""
    from eksauth.aws import calls
    from eksauth.kubeconfig import files
    from eksauth.kubeconfig.survey import Account, survey

    files.load(request.path)  # an invalid file fails now, before any AWS call
    accounts = [Account(p, *calls.listing_session(p)) for p in request.profiles]
    if not request.regions and not request.all_regions:
        for account in accounts:
            if account.region is None:
                raise UsageError(
                    f"no region for profile {account.profile or 'default'}",
                    hint="give --region (it may repeat) or --all-regions",
                )
            check_regions([account.region])
    found = survey(
        accounts,
        request.regions,
        all_regions=request.all_regions,
        timeout=request.timeout,
        progress=progress,
    )
    if request.dry_run:
        return _plan(files.load(request.path), request, found)
    with files.locked(request.path):  # re-read under kubectl's lock: no concurrent entry lost
        content = files.load(request.path)
        plan = _plan(content, request, found)
        if plan.modified:
            files.write_private(request.path, files.dump(content).encode("utf-8"))
            plan.written = True
    return plan


def check_regions(regions: Sequence[str]) -> None:
    """UsageError for a name that is not a region botocore knows EKS in."""
    from eksauth.aws.boundary import known_regions
    from eksauth.token.endpoints import sts_endpoint

    known = known_regions("eks")
    for name in regions:
        sts_endpoint(name)  # InvalidRegionError for a malformed name
        if name not in known:
            raise UsageError(
                f"no such region: {name}",
                hint="`aws ec2 describe-regions` lists yours (a new one needs a newer botocore)",
            )


# -- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    profile: str | None
    cluster: Cluster
    entries: Entries  # from shared.shared_entries, before naming


def _plan(content: dict[str, Any], request: AllRequest, found: Survey) -> Plan:
    plan = Plan(request.path, request.dry_run, failures=list(found.failures))
    plan.notes.extend(found.notes)
    plan.regions_total = found.regions_total
    plan.regions_answered = len(found.listed)
    targets = _targets(found.found, request, plan)
    contexts = _by_name(content, "contexts")
    rows = [_fields(t) for t in targets]

    def taken(index: int, name: str) -> bool:
        existing = contexts.get(name)
        return existing is not None and not _ours(existing, "context", targets[index].cluster)

    context_names = unique_names(request.alias, rows, taken)
    user_names = [_user_name(request, row) for row in rows]
    _check_users(content, set(user_names))
    for target, context, user in zip(targets, context_names, user_names):
        cluster_entry = copy.deepcopy(target.entries.cluster)
        put_extension(cluster_entry, "cluster", MARK, _mark(target))
        _put_cluster(content, cluster_entry, plan)
        user_entry = {**copy.deepcopy(target.entries.user), "name": user}
        put_extension(user_entry, "user", MARK, _profile_mark(target.profile))
        _put_user(content, user_entry, plan)
        context_entry: dict[str, Any] = {
            "context": {"cluster": target.cluster.entry_name, "user": user},
            "name": context,
        }
        put_extension(context_entry, "context", MARK, _mark(target))  # no YAML alias
        _put_context(content, context_entry, plan)
    if request.prune:
        written = {t.cluster.entry_name for t in targets}
        pruned, notes = prune(content, found.listed, set(context_names), written)
        plan.changes.extend(Change("pruned", kind, name) for kind, name in pruned)
        plan.notes.extend(notes)
    current = content.get("current-context") or None
    if request.set_context is not None:
        if request.set_context not in _by_name(content, "contexts"):
            raise UsageError(
                f"--set-context {request.set_context}: no such context",
                hint="name one this run writes or the file has (`kubectl config get-contexts`)",
            )
        plan.current_changed = request.set_context != current
        content["current-context"] = current = request.set_context
    elif current is not None and current in plan.names("pruned", "context"):
        plan.notes.append(f"current-context {current} was pruned; choose one with --set-context")
    plan.current_context = current
    return plan


def _targets(found: Sequence[Found], request: AllRequest, plan: Plan) -> list[_Target]:
    """The clusters to write: usable ones, each ARN once (the first profile that found it)."""
    order = {p: i for i, p in enumerate(request.profiles)}
    ranked = sorted(
        found, key=lambda f: (order.get(f.profile, 0), f.region, str(f.cluster.get("name")))
    )
    targets: list[_Target] = []
    seen: dict[str, str | None] = {}
    for item in ranked:
        name = str(item.cluster.get("name", ""))
        where = f"profile {item.profile or 'default'}, region {item.region}"
        status = item.cluster.get("status")
        if status not in USABLE_STATES:  # CREATING, FAILED, DELETING...: no usable endpoint
            plan.skipped.append(f"{where}, cluster {name}: {status}")
            continue
        try:
            cluster = cluster_from_description(item.cluster, name)
        except ClusterError as exc:
            plan.failures.append(Failure(item.profile, item.region, name, exc.one_line()))
            continue
        if cluster.entry_name in seen:
            first = seen[cluster.entry_name] or "default"
            plan.notes.append(f"{cluster.entry_name} is also listed by {where}; kept {first}'s")
            continue
        seen[cluster.entry_name] = item.profile
        options = UserOptions(
            profile=item.profile,
            role_arn=request.role_arn,
            session_name=request.session_name,
            command=request.command,
        )
        entries = shared_entries(cluster, options, user=DEFAULT_USER)
        targets.append(_Target(item.profile, cluster, entries))
    return targets


def _fields(target: _Target) -> dict[str, str]:
    arn = target.cluster.entry_name
    return {
        "name": target.cluster.name,
        "region": target.cluster.region,
        "account": arn.split(":")[4],
        "profile": target.profile or "default",
        "arn": arn,
    }


def _user_name(request: AllRequest, row: dict[str, str]) -> str:
    if request.user_alias is not None:
        from eksauth.kubeconfig.naming import render

        return render(request.user_alias, row)
    if len(request.profiles) == 1:
        return request.shared_user
    return f"{request.shared_user}@{row['profile']}"


def _mark(target: _Target) -> dict[str, str]:
    return {
        "cluster": target.cluster.name,
        "region": target.cluster.region,
        **_profile_mark(target.profile),
    }


def _profile_mark(profile: str | None) -> dict[str, str]:
    return {"profile": profile} if profile is not None else {}


# -- entries and their marks ---------------------------------------------------------------------


def _by_name(content: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    listed = content.get(key) or []
    return {e["name"]: e for e in listed if isinstance(e, dict) and isinstance(e.get("name"), str)}


def _ours(entry: dict[str, Any], kind: str, cluster: Cluster) -> bool:
    """A context an earlier --all wrote for this very cluster (so its name is ours to use)."""
    body = entry.get(kind)
    points = isinstance(body, dict) and body.get("cluster") == cluster.entry_name
    return points and mark_of(entry, kind) is not None


def _replace(content: dict[str, Any], key: str, entry: dict[str, Any], plan: Plan) -> None:
    """Put `entry` where its namesake stands (or at the end), recording what changed."""
    listed = content.get(key) or []
    content[key] = listed
    kind = KINDS[key]
    for index, existing in enumerate(listed):
        if isinstance(existing, dict) and existing.get("name") == entry["name"]:
            same = existing == entry
            plan.changes.append(Change("unchanged" if same else "changed", kind, entry["name"]))
            listed[index] = entry
            return
    listed.append(entry)
    plan.changes.append(Change("added", kind, entry["name"]))


def _put_cluster(content: dict[str, Any], entry: dict[str, Any], plan: Plan) -> None:
    existing = _by_name(content, "clusters").get(entry["name"])
    if existing is not None and mark_of(existing, "cluster") is None:
        # A person's entry for this cluster (aws-cli's, say): updated in place, not marked.
        merged = copy.deepcopy(existing)
        body = merged.setdefault("cluster", {})
        body.pop("certificate-authority", None)  # kubectl refuses both it and -data
        for key in ("certificate-authority-data", "server"):
            body[key] = entry["cluster"][key]
        ours = [e for e in entry["cluster"]["extensions"] if e["name"] != MARK]
        for item in ours:
            put_extension(merged, "cluster", item["name"], item["extension"])
        entry = merged
    _replace(content, "clusters", entry, plan)


def _put_user(content: dict[str, Any], entry: dict[str, Any], plan: Plan) -> None:
    if any(c.name == entry["name"] and c.kind == "user" for c in plan.changes):
        return  # already put for another cluster
    existing = _by_name(content, "users").get(entry["name"])
    if existing is not None and mark_of(existing, "user") is None:
        plan.changes.append(Change("unchanged", "user", entry["name"]))  # a shared user: kept
        return
    _replace(content, "users", entry, plan)


def _put_context(content: dict[str, Any], entry: dict[str, Any], plan: Plan) -> None:
    existing = _by_name(content, "contexts").get(entry["name"])
    if existing is not None:  # ours (see `taken`): keep what else it carries (a namespace)
        merged = copy.deepcopy(existing)
        merged["context"].update({k: v for k, v in entry["context"].items() if k != "extensions"})
        put_extension(merged, "context", MARK, entry["context"]["extensions"][0]["extension"])
        entry = merged
    _replace(content, "contexts", entry, plan)


def _check_users(content: dict[str, Any], names: set[str]) -> None:
    users = _by_name(content, "users")
    for name in sorted(names):
        existing = users.get(name)
        if (
            existing is not None
            and mark_of(existing, "user") is None
            and not is_shared_user(existing)
        ):
            raise UsageError(
                f"the kubeconfig has a user {name} that is not a shared eksauth user",
                hint="give --user-alias or --shared-user another NAME",
            )
