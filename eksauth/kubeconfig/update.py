"""update-kubeconfig for one cluster: check, describe, lock, re-read, merge, write; `update`
returns what it did, and the command prints that (aws-cli's words, on stderr).

Both spellings run this: eksauth's `update-kubeconfig` and aws-cli's `eks update-kubeconfig`.
Every refusal comes before anything is written, in the order the checks are listed here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from eksauth.errors import UsageError

if TYPE_CHECKING:
    from eksauth.kubeconfig.entries import Cluster, Entries, UserOptions


@dataclass(frozen=True)
class OneRequest:
    """update-kubeconfig's options for one cluster, as given (profile and region unresolved)."""

    name: str
    kubeconfig: str | None = None
    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    forward_session_name: bool = False
    kubelet: bool = False
    alias: str | None = None
    user_alias: str | None = None
    shared_user: str | None = None
    endpoint: str | None = None
    ca_data: str | None = None
    ca_file: str | None = None
    assume_role_arn: str | None = None
    proxy_url: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class OneReport:
    """What `update` did: the file, the entries, whether the cluster was there already."""

    path: str
    entries: Entries
    existed: bool  # the cluster entry was there: updated rather than added
    shared_user_added: str | None = None  # the shared user entry this run created
    dry_run_yaml: str | None = None  # --dry-run: the file as it would be; nothing was written
    note: str | None = None  # why the exec names a path rather than `eksauth`


def update(
    request: OneRequest, env: Mapping[str, str], *, warn: Callable[[str], None]
) -> OneReport:
    """Write (or, dry, show) the cluster's entries; an unreadable file passed over is one
    `warn` line (aws-cli's choice of file, see `selector`)."""
    from eksauth.aws.boundary import profile_name
    from eksauth.kubeconfig import entries as kubeconfig
    from eksauth.kubeconfig import files, selector
    from eksauth.kubeconfig.command import exec_command
    from eksauth.request import check_cluster_name

    check_cluster_name(request.name)  # it names entries and, with --kubelet, a file
    paths = selector.candidate_paths(request.kubeconfig, env)
    if len(paths) == 1:
        files.load(paths[0])  # an invalid file fails here, before any AWS call
    user = kubeconfig.UserOptions(
        profile=profile_name(request.profile, env),
        role_arn=request.role_arn,
        session_name=request.session_name,
        forward_session_name=request.forward_session_name,
        kubelet=request.kubelet,
        command=(chosen := exec_command()).command,
    )
    user.request(request.name)  # refuses now what `eksauth token` would refuse later
    if request.shared_user is not None:
        for excluded in ("user_alias", "kubelet", "forward_session_name"):
            if getattr(request, excluded):
                flag = "--" + excluded.replace("_", "-")
                raise UsageError(f"--shared-user excludes {flag}")
    cluster = _cluster(request, env, user.profile)
    path = selector.choose(paths, cluster.entry_name, warn)  # aws-cli's file: see `selector`
    ca_path, pem = None, None
    if request.kubelet:
        ca_path, pem = kubeconfig.kubelet_ca(cluster, path, request.ca_file)

    def merged(into: dict[str, Any]) -> tuple[Entries, bool, str | None]:
        if request.shared_user is not None:
            return _shared(into, cluster, user, request.shared_user, request.alias)
        entries = kubeconfig.build_entries(
            cluster, user, alias=request.alias, user_alias=request.user_alias, ca_path=ca_path
        )
        return entries, kubeconfig.merge(into, entries), None

    if request.dry_run:
        entries, existed, added = merged(content := files.load(path))
        yaml = files.dump(content)
        return OneReport(path, entries, existed, added, dry_run_yaml=yaml, note=chosen.note)
    if ca_path is not None and pem is not None:
        files.write_beside(ca_path, pem, kubeconfig=path)
    with files.locked(path):  # re-read under the lock: a concurrent writer's entries stay
        content = files.load(path)
        entries, existed, added = merged(content)
        files.write_private(path, files.dump(content).encode("utf-8"))
    return OneReport(path, entries, existed, added, note=chosen.note)


def _shared(
    content: dict[str, Any], cluster: Cluster, user: UserOptions, name: str, alias: str | None
) -> tuple[Entries, bool, str | None]:
    """The shared form merged into `content`: (entries, the cluster was there, user created)."""
    from eksauth.kubeconfig import shared

    entries = shared.shared_entries(cluster, user, user=name, alias=alias)
    existed, created = shared.merge_shared(content, entries)
    return entries, existed, name if created else None


def _cluster(request: OneRequest, env: Mapping[str, str], profile: str | None) -> Cluster:
    """The cluster from --endpoint (offline) or DescribeCluster."""
    from eksauth.aws import boundary
    from eksauth.kubeconfig import entries as kubeconfig

    # The profile's own region, if any, is found by DescribeCluster's session.
    region = boundary.region(request.region, env, None)
    if request.endpoint is None:
        if request.ca_data is not None or (request.ca_file and not request.kubelet):
            raise UsageError("--ca-data and --ca-file describe a cluster given by --endpoint")
        cluster = kubeconfig.describe_cluster(
            request.name,
            region=region,
            profile=profile,
            assume_role_arn=request.assume_role_arn,
        )
        return dataclasses.replace(cluster, proxy_url=request.proxy_url)
    if request.assume_role_arn:
        raise UsageError("--assume-role-arn is for DescribeCluster; --endpoint calls no AWS API")
    if region is None:
        raise UsageError("--endpoint needs a region", hint="give --region or set AWS_REGION")
    cluster = kubeconfig.offline_cluster(
        request.name,
        region=region,
        endpoint=request.endpoint,
        ca_data=request.ca_data,
        ca_file=request.ca_file,
    )
    return dataclasses.replace(cluster, proxy_url=request.proxy_url)
