"""Talk to a cluster's Kubernetes API server as kubectl would, and only to the cluster's own.

- `target()` chooses the server a token for a cluster may be sent to. A bearer token is a
  credential for that cluster, so the server must be one of: the context named with
  `--context`; a context whose exec (or shared-user extension) names the cluster; or a server
  whose host is the endpoint EKS's DescribeCluster returned (a kubeconfig context with that
  host, else the endpoint itself with EKS's CA). Anything else is refused (`WrongServer`)
  before a connection is opened: kubectl's current context is not evidence.
- `get()` is one GET with `Authorization: Bearer <token>`, trusting only the context's CA (or
  the system's when it names none), bounded as a whole and never redirected (`httpget`).
- `read_aws_auth()` fetches kube-system/aws-auth for `whoami --aws-auth cluster` and doctor.

Stdlib only; the kubeconfig is read through `kubeconfig.merged` (which loads yaml).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, NamedTuple
from urllib.parse import urlsplit

from eksauth.errors import EksAuthError, KubeconfigError

if TYPE_CHECKING:
    from eksauth.identity.access import ClusterAccess
    from eksauth.kubeconfig.merged import Context, Merged

API_TIMEOUT_SECONDS = 10.0
_MAX_REPLY_BYTES = 1 << 20
AWS_AUTH_PATH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
ENDPOINT_CONTEXT = "(EKS's endpoint)"  # Target.context when no kubeconfig context is used


class Target(NamedTuple):
    """Where the API server is and how to trust it."""

    path: str  # the kubeconfig file of the context ("" for EKS's endpoint)
    context: str
    server: str
    ca_pem: str | None  # None: the system's trust store
    insecure: bool
    user: Mapping[str, Any]  # the kubeconfig user (exec, token, ...); {} for EKS's endpoint
    cluster_info: Mapping[str, Any]  # the kubeconfig cluster (server, CA, extensions)


class WrongServer(EksAuthError):
    """No server is known to be the cluster's: the token is not sent anywhere."""


def host_of(server: str) -> str | None:
    """`host:port` of an https URL (port 443 when none is written), for comparing servers."""
    try:
        parts = urlsplit(server)
        port = parts.port or 443
    except ValueError:  # a port that is no number
        return None
    return f"{parts.hostname}:{port}" if parts.hostname else None


def target(
    merged: Merged | None,
    context: Context | None,
    *,
    given: bool,
    cluster: str,
    endpoint: str | None = None,
    ca_data: str | None = None,
) -> Target:
    """The API server a token for `cluster` may go to (see the module's docstring).

    `context` is the run's context (`kubeconfig.inputs.choose`), `given` when it was named with
    --context; `endpoint` and `ca_data` are DescribeCluster's, when EKS was asked.
    """
    from eksauth.kubeconfig.inputs import names

    if context is not None and (given or names(context, cluster)):
        return from_context(context)
    if endpoint:
        host = host_of(endpoint)
        candidates = [merged.context(name) for name in merged.contexts] if merged else []
        for candidate in candidates:
            server = _server(candidate)
            if candidate is not None and server and host and host_of(server) == host:
                return from_context(candidate)
        return from_endpoint(endpoint, ca_data)
    raise _refusal(merged, cluster)


def _refusal(merged: Merged | None, cluster: str) -> WrongServer:
    hint = "give --context NAME for the cluster's context, or a region so EKS can be asked"
    current = merged.context(merged.current_context) if merged and merged.current_context else None
    server = _server(current)
    if current is None or not server:
        return WrongServer(
            f"no kubeconfig context names cluster {cluster}, and EKS was not asked for its "
            "endpoint: there is no API server to ask",
            hint=hint,
        )
    return WrongServer(
        f"not sending a token for cluster {cluster} to {server} (context {current.name}): no "
        "context names the cluster, and EKS was not asked for its endpoint",
        hint=hint,
    )


def _server(context: Context | None) -> str | None:
    if context is None or context.cluster is None:
        return None
    server = context.cluster.body.get("server")
    return str(server) if server else None


def from_context(context: Context) -> Target:
    """The context's cluster entry: server, CA (relative to its own file) and user."""
    from eksauth.kubeconfig.merged import relative_to

    entry = context.cluster
    if entry is None or not entry.body.get("server"):
        raise KubeconfigError(f"context {context.name!r} names no cluster with a server")
    body = entry.body
    ca_pem: str | None = None
    if body.get("certificate-authority-data"):
        ca_pem = _pem(str(body["certificate-authority-data"]), f"in {entry.path}")
    elif body.get("certificate-authority"):
        ca_pem = _ca_file(relative_to(entry, str(body["certificate-authority"])))
    user = context.user.body if context.user is not None else {}
    insecure = bool(body.get("insecure-skip-tls-verify"))
    return Target(context.path, context.name, str(body["server"]), ca_pem, insecure, user, body)


def from_endpoint(endpoint: str, ca_data: str | None) -> Target:
    """EKS's endpoint for the cluster, trusted through the CA DescribeCluster returned."""
    ca_pem = _pem(ca_data, "from eks:DescribeCluster") if ca_data else None
    return Target("", ENDPOINT_CONTEXT, endpoint, ca_pem, False, {}, {"server": endpoint})


def _pem(data: str, where: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise KubeconfigError(f"the certificate-authority-data {where} is not base64 PEM") from exc


def _ca_file(path: str) -> str:
    from eksauth.files.boundedread import read_text

    text = read_text(path, what="the CA file", error=KubeconfigError, limit=1 << 20)
    if text is None:
        raise KubeconfigError(f"the CA file {path} does not exist")
    return text


def get(
    where: Target, path: str, bearer: str | None, timeout: float = API_TIMEOUT_SECONDS
) -> tuple[int, bytes]:
    """One GET of `path` on the API server, within `timeout` seconds in all; (status, body).
    Unreachable, TLS failures and the deadline: EksAuthError."""
    import ssl

    from eksauth.token import httpget

    if not where.server.startswith("https://"):
        raise EksAuthError(f"the API server {where.server} is not https")
    try:
        context = ssl.create_default_context(cadata=where.ca_pem or None)
    except (ssl.SSLError, ValueError) as exc:
        raise KubeconfigError(
            f"the CA of context {where.context!r} is not a PEM certificate: {exc}"
        ) from exc
    if where.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    headers = {"Accept": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    reply = httpget.get(
        where.server.rstrip("/") + path,
        headers=headers,
        timeout=timeout,
        what=f"the API server {where.server}",
        ssl_context=context,
        use_proxy=False,  # as before: kubectl's proxy settings live in the kubeconfig
        limit=_MAX_REPLY_BYTES,
        hint="check the kubeconfig's server and certificate-authority",
    )
    return reply.status, reply.body


def read_aws_auth(where: Target, bearer: str, timeout: float = API_TIMEOUT_SECONDS) -> str:
    """kube-system/aws-auth as JSON text, read with the caller's token."""
    status, body = get(where, AWS_AUTH_PATH, bearer, timeout)
    if status == 200:
        return body.decode("utf-8", "replace")
    if status == 404:
        return json.dumps({"data": {}})  # no aws-auth: nothing is mapped through it
    reasons = {401: "the API server refused the token (Unauthorized)", 403: "RBAC forbids it"}
    raise EksAuthError(
        f"cannot read kube-system/aws-auth from {where.server}: HTTP {status}"
        + (f", {reasons[status]}" if status in reasons else ""),
        hint="give the ConfigMap with --aws-auth FILE instead",
    )


def live_aws_auth(
    merged: Merged | None,
    context: Context | None,
    *,
    given: bool,
    cluster: str,
    access: ClusterAccess | None,
    bearer: str,
    timeout: float,
    log: Callable[[str], None],
) -> str:
    """kube-system/aws-auth from the cluster's own API server (never another one): the
    `target` for the kubeconfig's context, or for the endpoint EKS gave in `access`."""
    where = target(
        merged,
        context,
        given=given,
        cluster=cluster,
        endpoint=access.endpoint if access is not None else None,
        ca_data=access.ca_data if access is not None else None,
    )
    log(f"reading kube-system/aws-auth from {where.server} (context {where.context})")
    return read_aws_auth(where, bearer, timeout)
