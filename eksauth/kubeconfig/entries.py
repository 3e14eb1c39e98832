"""The entries update-kubeconfig writes: the cluster (from DescribeCluster or the command line),
the user whose exec runs `eksauth token`, and the context; merged as aws-cli merges them.

`update-kubeconfig` writes the entries `aws eks update-kubeconfig` writes (a cluster, a user and
a context, all named by the cluster ARN; a same-named entry is replaced where it stands, a new
one appended; current-context set), with an eksauth exec instead of `aws eks get-token`.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eksauth.errors import EksAuthError, UsageError
from eksauth.kubeconfig.command import INSTALL_HINT
from eksauth.kubeconfig.files import expand
from eksauth.request import check_cluster_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from eksauth.request import TokenRequest

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
# DescribeCluster states in which the endpoint and CA are usable (aws-cli accepts the same two).
USABLE_STATES = ("ACTIVE", "UPDATING")


class ClusterError(EksAuthError):
    """DescribeCluster failed, or the cluster is not usable yet."""


@dataclass(frozen=True)
class Cluster:
    """What a kubeconfig needs to know about one cluster."""

    name: str
    region: str
    entry_name: str  # the cluster ARN, as aws-cli names the entries
    endpoint: str
    ca_data: str  # base64 PEM, kubeconfig's certificate-authority-data
    cluster_id: str | None = None  # Outposts local clusters: the token names the id
    ca_file: str | None = None  # an offline --ca-file, for the kubelet flavour to point at
    proxy_url: str | None = None  # written as the cluster's proxy-url, as aws-cli v2 does


def describe_cluster(
    name: str, *, region: str | None, profile: str | None, assume_role_arn: str | None = None
) -> Cluster:
    """The cluster's endpoint and CA from EKS DescribeCluster (AWS_ENDPOINT_URL_EKS honoured),
    called as `assume_role_arn` when given (aws-cli's cross-account --assume-role-arn)."""
    from eksauth.aws import calls

    described = calls.describe_cluster(
        name, region_name=region, profile=profile, assume_role_arn=assume_role_arn
    )
    return cluster_from_description(described, name)


def cluster_from_description(description: Mapping[str, Any], name: str) -> Cluster:
    """A `Cluster` from DescribeCluster's `cluster`, with aws-cli's rules for region and id."""
    status = description.get("status")
    if status not in USABLE_STATES:
        state = f"is {status}" if status else "has no status in EKS's answer"
        raise ClusterError(f"cluster {name} {state}", hint="retry once it is ACTIVE")
    arn = str(description.get("arn", ""))
    endpoint = description.get("endpoint")
    if arn.count(":") < 5 or not endpoint:
        raise ClusterError(f"DescribeCluster gave no ARN or endpoint for cluster {name}")
    outpost = description.get("outpostConfig")
    # aws-cli's rule: a local cluster on Outposts (no etcdInstanceType) is named by its id.
    local = outpost is not None and outpost.get("etcdInstanceType") is None
    return Cluster(
        name=name,
        region=arn.split(":")[3],
        entry_name=arn,
        endpoint=str(endpoint),
        ca_data=str(description.get("certificateAuthority", {}).get("data", "")),
        cluster_id=str(description.get("id")) if local else None,
    )


def offline_cluster(
    name: str, *, region: str, endpoint: str, ca_data: str | None, ca_file: str | None
) -> Cluster:
    """A `Cluster` from --endpoint and --ca-data or --ca-file, checked before anything is written.

    Without DescribeCluster there is no ARN: the entries are named `NAME.REGION`.
    """
    from eksauth.token.endpoints import sts_endpoint

    sts_endpoint(region)  # InvalidRegionError now rather than a kubeconfig that cannot sign
    if not endpoint.startswith("https://") or len(endpoint) <= len("https://"):
        raise UsageError(f"--endpoint {endpoint!r} is not an https URL")
    if (ca_data is None) == (ca_file is None):
        raise UsageError("--endpoint needs exactly one of --ca-data or --ca-file")
    if ca_file is not None:
        ca_file = expand(ca_file)
        pem = _read_ca_file(ca_file)
    else:
        pem = _decode_ca(ca_data or "")
    return Cluster(
        name=name,
        region=region,
        entry_name=f"{name}.{region}",
        endpoint=endpoint,
        ca_data=base64.b64encode(pem).decode("ascii"),
        ca_file=ca_file,
    )


def _read_ca_file(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            pem = stream.read()
    except OSError as exc:
        raise UsageError(f"cannot read --ca-file {path}: {exc.strerror or exc}") from exc
    _check_pem(pem, f"--ca-file {path}")
    return pem


def _decode_ca(data: str) -> bytes:
    try:
        pem = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UsageError("--ca-data is not base64", hint="give the PEM encoded as base64") from exc
    _check_pem(pem, "--ca-data")
    return pem


def _check_pem(pem: bytes, what: str) -> None:
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise UsageError(f"{what} holds no PEM certificate")


# -- the entries update-kubeconfig writes --------------------------------------------------------


@dataclass(frozen=True)
class UserOptions:
    """How the written exec signs: profile, role, and the kubelet (node) flavour."""

    profile: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    forward_session_name: bool = False
    kubelet: bool = False
    command: str = "eksauth"  # what the exec runs: see `kubeconfig.command.exec_command`

    def request(
        self, cluster_name: str, *, cluster_id: str | None = None, region: str | None = None
    ) -> TokenRequest:
        """The token request the exec makes (the profile goes into its env, not its args);
        UsageError now, offline, for anything `eksauth token` would refuse later."""
        from eksauth.request import validated_request

        if self.profile is not None and not self.profile.strip():
            raise UsageError("--profile must not be empty")
        return validated_request(
            cluster_name=None if cluster_id is not None else cluster_name,
            cluster_id=cluster_id,
            region=region,
            role_arn=self.role_arn,
            session_name=self.session_name,
            forward_session_name=self.forward_session_name,
        )


@dataclass(frozen=True)
class Entries:
    """The cluster, user and context entries update-kubeconfig puts into a kubeconfig."""

    cluster: dict[str, Any]
    user: dict[str, Any]
    context: dict[str, Any]


def build_entries(
    cluster: Cluster,
    options: UserOptions,
    *,
    alias: str | None = None,
    user_alias: str | None = None,
    ca_path: str | None = None,
) -> Entries:
    """aws-cli's three entries, keys in aws-cli's order.

    As aws-cli names them: the cluster by its ARN, the user `user_alias` or the ARN, the context
    `alias` or the user's name. `ca_path` (kubelet) replaces certificate-authority-data.
    """
    authority = (
        {"certificate-authority": ca_path}
        if ca_path
        else {"certificate-authority-data": cluster.ca_data}
    )
    settings: dict[str, Any] = {**authority, "server": cluster.endpoint}
    if cluster.proxy_url is not None:
        settings["proxy-url"] = cluster.proxy_url
    cluster_entry = {"cluster": settings, "name": cluster.entry_name}
    user_entry = {
        "name": user_alias or cluster.entry_name,
        "user": {"exec": exec_entry(cluster, options)},
    }
    context = {
        "context": {"cluster": cluster.entry_name, "user": user_entry["name"]},
        "name": alias or user_entry["name"],
    }
    return Entries(cluster_entry, user_entry, context)


def exec_entry(cluster: Cluster, options: UserOptions) -> dict[str, Any]:
    """The `exec` of the user entry: aws-cli's layout, running `eksauth token`."""
    exec_: dict[str, Any] = {
        "apiVersion": EXEC_API_VERSION,
        "args": options.request(
            cluster.name, cluster_id=cluster.cluster_id, region=cluster.region
        ).argv(),
        "command": options.command,
        "installHint": INSTALL_HINT,
    }
    if options.profile:
        exec_["env"] = [{"name": "AWS_PROFILE", "value": options.profile}]
    # A node has nobody to answer an MFA prompt; a person at kubectl may.
    exec_["interactiveMode"] = "Never" if options.kubelet else "IfAvailable"
    return exec_


def kubelet_ca(
    cluster: Cluster, kubeconfig_path: str, ca_file: str | None
) -> tuple[str, bytes | None]:
    """Where a kubelet kubeconfig's certificate-authority points, and the PEM to put there.

    An offline --ca-file is used where it is. Otherwise the CA goes to --ca-file, or to
    `NAME-ca.crt` beside the kubeconfig (one file per cluster, as eksctl keeps /etc/eksctl/ca.crt).
    """
    if cluster.ca_file is not None:
        return cluster.ca_file, None
    check_cluster_name(cluster.name)  # it becomes a file name
    path = (
        expand(ca_file)
        if ca_file
        else os.path.join(os.path.dirname(kubeconfig_path), f"{cluster.name}-ca.crt")
    )
    try:
        pem = base64.b64decode(cluster.ca_data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ClusterError(f"the CA data of cluster {cluster.name} is not base64") from exc
    return path, pem


def merge(content: dict[str, Any], entries: Entries) -> bool:
    """Put `entries` into `content` (in place) and make the context current.

    As aws-cli: an entry with the same name is replaced where it stands, a new one appended.
    Returns whether the cluster entry was already there (an update rather than an addition).
    """
    existed = any(e.get("name") == entries.cluster["name"] for e in content.get("clusters") or [])
    for key, entry in (
        ("clusters", entries.cluster),
        ("users", entries.user),
        ("contexts", entries.context),
    ):
        _put(content, key, entry)
    content["current-context"] = entries.context["name"]
    return existed


def _put(content: dict[str, Any], key: str, entry: dict[str, Any]) -> None:
    listed = content.get(key) or []
    content[key] = listed
    for index, existing in enumerate(listed):
        if existing.get("name") == entry["name"]:
            listed[index] = _keeping_extensions(existing, entry)
            return
    listed.append(entry)


def _keeping_extensions(existing: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """`entry`, keeping the `extensions` the entry it replaces carried: a cluster's exec
    extension (`--shared-user`) serves other contexts, which must keep working."""
    for kind in ("cluster", "user", "context"):
        old, new = existing.get(kind), entry.get(kind)
        if isinstance(old, dict) and isinstance(new, dict) and "extensions" in old:
            return {**entry, kind: {**new, "extensions": new.get("extensions", old["extensions"])}}
    return entry


# -- named extensions (kubectl keeps `extensions` on clusters, users and contexts) ---------------


def extension_named(entry: Mapping[str, Any], kind: str, name: str) -> object:
    """The value of the extension `name` on a `kind` ("cluster", "user", "context") entry,
    or None when it has none."""
    body = entry.get(kind)
    for item in (body.get("extensions") if isinstance(body, Mapping) else None) or []:
        if isinstance(item, Mapping) and item.get("name") == name:
            return item.get("extension")
    return None


def put_extension(entry: dict[str, Any], kind: str, name: str, value: object) -> None:
    """Set the extension `name` on a `kind` entry to `value`, replacing it where it stands."""
    body = entry.setdefault(kind, {})
    listed = body.get("extensions") or []
    body["extensions"] = listed
    item = {"extension": value, "name": name}
    for index, existing in enumerate(listed):
        if isinstance(existing, dict) and existing.get("name") == name:
            listed[index] = item
            return
    listed.append(item)
