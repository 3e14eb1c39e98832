"""Which kubeconfig file update-kubeconfig writes a cluster into: aws-cli's rule.

aws-cli (`KubeconfigSelector.choose_kubeconfig` in awscli/customizations/eks/update_kubeconfig.py)
reads `--kubeconfig` alone when it is given, else every path of KUBECONFIG in order (else
~/.kube/config), and writes to the first file that already holds a cluster entry of that name,
so that an entry is updated where it stands rather than duplicated. A file that cannot be read
or parsed is passed over with a warning. When no file holds the cluster, the first file is the
one written, and if it is the unreadable one, its error is the command's error.

This answers "where do this cluster's entries go"; it is not kubectl's merged view of the
files (first file wins per name), which is what reads of a multi-file KUBECONFIG use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from eksauth.errors import KubeconfigError
from eksauth.kubeconfig import files


def candidate_paths(option: str | None, env: Mapping[str, str]) -> list[str]:
    """`--kubeconfig` alone when given, else every path of KUBECONFIG, else ~/.kube/config."""
    return [files.expand(option)] if option else files.kubeconfig_paths(env)


def holds_cluster(content: Mapping[str, Any], entry_name: str) -> bool:
    """Whether `content` has a cluster entry named `entry_name` (aws-cli's `has_cluster`)."""
    return any(entry.get("name") == entry_name for entry in content.get("clusters") or [])


def choose(paths: list[str], entry_name: str, warn: Callable[[str], None]) -> str:
    """The file of `paths` that holds cluster `entry_name`, else the first.

    Each unreadable file passed over is one `warn` line; KubeconfigError when the first file
    is the one to write and cannot be read (as aws-cli, the file is then left as it is).
    """
    first_error: KubeconfigError | None = None
    for index, path in enumerate(paths):
        try:
            content = files.load(path)
        except KubeconfigError as exc:
            if index == 0:
                first_error = exc
            else:
                warn(f"{exc.message} (skipped)")
            continue
        if holds_cluster(content, entry_name):
            if first_error is not None:
                warn(f"{first_error.message} (skipped)")
            return path
    if first_error is not None:
        raise first_error
    return paths[0]
