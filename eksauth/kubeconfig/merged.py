"""kubectl's view of the kubeconfig: every file of KUBECONFIG, merged as kubectl merges them.

Read-only, for the commands that explain (doctor, whoami, `--aws-auth cluster`). The rules are
client-go's (clientcmd `ClientConfigLoadingRules.Load`), as facts:

- `--kubeconfig FILE` is the only file read, and it must exist;
- otherwise KUBECONFIG's files in order (empty elements and repeats skipped, missing files
  skipped silently), else `~/.kube/config`;
- per name, the first file that defines a cluster, user or context wins;
- `current-context` comes from the first file that sets it;
- relative paths in an entry (a CA file, an exec command with a separator) are relative to the
  file that entry came from.

Every file is read bounded (`boundedread`) and parsed with the bounded YAML loader.
Writing stays in `files.py`, which follows aws-cli's choice of file instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from eksauth.errors import KubeconfigError
from eksauth.kubeconfig import files


class Named(NamedTuple):
    """One cluster, user or context entry: its name, its body, and the file it came from."""

    name: str
    body: Mapping[str, Any]
    path: str


class Context(NamedTuple):
    """A context with the cluster and user entries it names (None where the name is missing)."""

    name: str
    path: str
    cluster: Named | None
    user: Named | None


class Merged(NamedTuple):
    paths: tuple[str, ...]  # the files that exist and were read, in order
    current_context: str | None
    contexts: dict[str, Named]  # in the order kubectl lists them
    clusters: dict[str, Named]
    users: dict[str, Named]

    def where(self) -> str:
        """The files, for messages."""
        return ", ".join(self.paths) if self.paths else "no kubeconfig file"

    def context(self, name: str) -> Context | None:
        found = self.contexts.get(name)
        if found is None:
            return None
        cluster = self.clusters.get(str(found.body.get("cluster")))
        user = self.users.get(str(found.body.get("user")))
        return Context(name, found.path, cluster, user)


def paths(option: str | None, env: Mapping[str, str]) -> list[str]:
    """The files kubectl reads, in precedence order."""
    from eksauth.kubeconfig.selector import candidate_paths

    return list(dict.fromkeys(candidate_paths(option, env)))  # a repeated file is read once


def load(option: str | None, env: Mapping[str, str]) -> Merged:
    """The merged kubeconfig; KubeconfigError for a file that cannot be read or parsed."""
    read: list[str] = []
    current: str | None = None
    sections: dict[str, dict[str, Named]] = {"clusters": {}, "users": {}, "contexts": {}}
    for path in paths(option, env):
        text = files.read_text(path)
        if text is None:
            if option:
                raise KubeconfigError(f"the kubeconfig {path} does not exist")
            continue
        try:
            content = files.parse(text, path)
        except KubeconfigError as exc:
            # Not about writing: no hint. No cause: exc is this same error with the hint, and
            # its own cause is cut (a YAML error quotes the file's lines, which hold secrets).
            raise KubeconfigError(exc.message) from None
        read.append(path)
        if not current and isinstance(content.get("current-context"), str):
            current = content["current-context"] or None
        for key, known in sections.items():
            for item in content.get(key) or ():
                name, body = item.get("name"), item.get(key[:-1])
                if isinstance(name, str) and name not in known:
                    known[name] = Named(name, body if isinstance(body, Mapping) else {}, path)
    return Merged(
        tuple(read), current, sections["contexts"], sections["clusters"], sections["users"]
    )


def relative_to(entry: Named, value: str) -> str:
    """A path written in `entry`, as kubectl resolves it: relative to the entry's file."""
    return os.path.join(os.path.dirname(entry.path), os.path.expanduser(value))
