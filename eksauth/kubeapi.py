"""Talk to a cluster's Kubernetes API server as kubectl would: its kubeconfig context, its CA.

- `target()` resolves a kubeconfig context (server, CA, user) without running anything.
- `get()` is one bounded HTTPS GET with `Authorization: Bearer <token>`, trusting only the
  kubeconfig's CA (or the system's when it names none), never following redirects.
- `read_aws_auth()` fetches kube-system/aws-auth for `whoami --aws-auth cluster`.

Stdlib only (urllib, ssl); yaml is loaded through `kubeconfig.files` when a kubeconfig is read.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from eksauth.errors import EksAuthError, KubeconfigError

API_TIMEOUT_SECONDS = 10.0
_MAX_REPLY_BYTES = 1 << 20
AWS_AUTH_PATH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"


class Target(NamedTuple):
    """One kubeconfig context, resolved."""

    path: str
    context: str
    server: str
    ca_pem: str | None  # None: the system's trust store
    insecure: bool
    user: Mapping[str, Any]  # the kubeconfig user (exec, token, ...)
    cluster_info: Mapping[str, Any]  # the kubeconfig cluster (server, CA, extensions)


def _named(content: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any] | None:
    for item in content.get(key) or ():
        if isinstance(item, Mapping) and item.get("name") == name:
            inner = item.get(key[:-1])
            return inner if isinstance(inner, Mapping) else {}
    return None


def names_cluster(
    user: Mapping[str, Any], cluster: str, cluster_info: Mapping[str, Any] | None = None
) -> bool:
    """Whether a kubeconfig user's exec asks for a token for `cluster`: by its args, read as
    `eksauth token` reads them, or, for a shared user (`provideClusterInfo: true`, args naming
    no cluster), by the exec extension of the context's cluster (`cluster_info`)."""
    from eksauth.execcred import EXEC_EXTENSION
    from eksauth.tokenargs import parse

    exec_ = user.get("exec")
    if not isinstance(exec_, Mapping):
        return False
    args = [str(a) for a in exec_.get("args") or ()]
    values = parse(args, {})
    if values is not None:
        named = values.get("cluster_name") or values.get("cluster_id")
        if named or exec_.get("provideClusterInfo") is not True or cluster_info is None:
            return named == cluster
        for item in cluster_info.get("extensions") or ():
            if isinstance(item, Mapping) and item.get("name") == EXEC_EXTENSION:
                extension = item.get("extension")
                return isinstance(extension, Mapping) and cluster in (
                    extension.get("clusterName"),
                    extension.get("clusterId"),
                )
        return False
    # Args eksauth's reader does not know (aws-iam-authenticator's own flags, say).
    for flag in ("--cluster-name", "-c", "--cluster-id", "-i"):
        if f"{flag}={cluster}" in args:
            return True
        if any(a == flag and b == cluster for a, b in zip(args, args[1:])):
            return True
    return False


def target(path: str | None, context: str | None, cluster: str | None = None) -> Target:
    """The context `context`, else one whose exec names `cluster`, else the current one."""
    from eksauth.kubeconfig import files

    where = files.expand(path) if path else files.default_path(os.environ)
    content = files.load(where)
    chosen = context
    if chosen is None and cluster is not None:
        for item in content.get("contexts") or ():
            ctx = item.get("context") if isinstance(item, Mapping) else None
            if not isinstance(ctx, Mapping):
                continue
            user = _named(content, "users", str(ctx.get("user")))
            info = _named(content, "clusters", str(ctx.get("cluster")))
            if user is not None and names_cluster(user, cluster, info):
                chosen = str(item.get("name"))
                break
    chosen = chosen or content.get("current-context") or None
    if not chosen:
        raise KubeconfigError(f"{where} has no current context", hint="give --context")
    ctx = _named(content, "contexts", chosen)
    if ctx is None:
        raise KubeconfigError(f"{where} has no context {chosen!r}")
    cluster_entry = _named(content, "clusters", str(ctx.get("cluster")))
    if cluster_entry is None or not cluster_entry.get("server"):
        raise KubeconfigError(f"context {chosen!r} in {where} names no cluster with a server")
    user = _named(content, "users", str(ctx.get("user"))) or {}
    return Target(
        where,
        chosen,
        str(cluster_entry["server"]),
        _ca_pem(cluster_entry, where),
        bool(cluster_entry.get("insecure-skip-tls-verify")),
        user,
        cluster_entry,
    )


def _ca_pem(cluster: Mapping[str, Any], where: str) -> str | None:
    data = cluster.get("certificate-authority-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise KubeconfigError(
                f"certificate-authority-data in {where} is not base64 PEM"
            ) from None
    name = cluster.get("certificate-authority")
    if name:
        ca_path = os.path.join(os.path.dirname(where), os.path.expanduser(str(name)))
        try:
            with open(ca_path, encoding="ascii") as handle:
                return handle.read(1 << 20)
        except (OSError, UnicodeDecodeError) as exc:
            raise KubeconfigError(f"cannot read the CA file {ca_path}: {exc}") from None
    return None


def get(
    where: Target, path: str, bearer: str | None, timeout: float = API_TIMEOUT_SECONDS
) -> tuple[int, bytes]:
    """One GET of `path` on the API server; (status, body). Unreachable/TLS: EksAuthError."""
    import ssl
    import urllib.error
    import urllib.request

    try:
        context = ssl.create_default_context(cadata=where.ca_pem or None)
    except (ssl.SSLError, ValueError) as exc:
        raise KubeconfigError(
            f"the CA of context {where.context!r} in {where.path} is not a PEM certificate: {exc}"
        ) from None
    if where.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    headers = {"Accept": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    url = where.server.rstrip("/") + path
    if not url.startswith("https://"):
        raise EksAuthError(f"the API server {where.server} is not https")
    request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310
    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(request, timeout=timeout) as reply:
            return int(reply.status), bytes(reply.read(_MAX_REPLY_BYTES))
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(_MAX_REPLY_BYTES)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EksAuthError(
            f"could not reach the API server {where.server}: {reason}",
            hint="check the kubeconfig's server and certificate-authority",
        ) from None


def read_aws_auth(where: Target, bearer: str) -> str:
    """kube-system/aws-auth as JSON text, read with the caller's token."""
    status, body = get(where, AWS_AUTH_PATH, bearer)
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
