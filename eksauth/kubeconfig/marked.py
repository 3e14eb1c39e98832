"""The mark update-kubeconfig --all leaves on the entries it creates, and --prune, which goes
by it: only marked entries are ever removed, and only for regions that answered.

A cluster's or context's mark says which cluster, region and profile it was written for
(`{cluster: demo, region: eu-west-1, profile: dev}`); a user's, which profile. kubectl keeps
`extensions` on clusters, users and contexts when it rewrites the file.
"""

from __future__ import annotations

from typing import Any, Optional

from eksauth.kubeconfig.entries import extension_named

MARK = "eksauth/update-kubeconfig-all"
# (profile, region) that answered ListClusters -> the cluster names it listed.
Listed = dict[tuple[Optional[str], str], set[str]]


def mark_of(entry: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The MARK extension's value on `entry` (an earlier --all wrote it), or None."""
    value = extension_named(entry, kind, MARK)
    if value is None:
        return None
    return value if isinstance(value, dict) else {}


# -- --prune -------------------------------------------------------------------------------------


def _gone(mark: dict[str, Any] | None, listed: Listed) -> bool:
    """Marked for a cluster that its (profile, region), answering this run, no longer lists."""
    if mark is None:
        return False
    key = (mark.get("profile"), mark.get("region"))
    names = listed.get(key)  # type: ignore[arg-type]
    return names is not None and mark.get("cluster") not in names


def prune(
    content: dict[str, Any], listed: Listed, contexts: set[str], clusters: set[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Remove, in place, the marked entries of clusters gone from regions that answered
    (`listed`), except `contexts` and `clusters` written this run and clusters a remaining
    context uses; then marked users no context uses. Returns ((kind, name) removed, notes)."""
    pruned: list[tuple[str, str]] = []
    notes: list[str] = []
    kept = []
    for entry in content.get("contexts") or []:
        if entry.get("name") not in contexts and _gone(mark_of(entry, "context"), listed):
            pruned.append(("context", str(entry.get("name"))))
        else:
            kept.append(entry)
    content["contexts"] = kept
    used = {(c.get("context") or {}).get("cluster") for c in kept if isinstance(c, dict)}
    users = {(c.get("context") or {}).get("user") for c in kept if isinstance(c, dict)}
    remaining = []
    for entry in content.get("clusters") or []:
        name = entry.get("name")
        if name in clusters or not _gone(mark_of(entry, "cluster"), listed):
            remaining.append(entry)
        elif name in used:
            notes.append(f"kept cluster {name}: its cluster is gone, but a context uses it")
            remaining.append(entry)
        else:
            pruned.append(("cluster", str(name)))
    content["clusters"] = remaining
    left = []
    for entry in content.get("users") or []:
        if mark_of(entry, "user") is not None and entry.get("name") not in users:
            pruned.append(("user", str(entry.get("name"))))
        else:
            left.append(entry)
    content["users"] = left
    return pruned, notes
