"""Ask EKS for a cluster's access configuration, through an `eks` client from `awscalls.eks_client`.

AccessDenied on any call is recorded as the missing IAM permission (`eks:ListAccessEntries`)
and the rest still runs, so `whoami`/`doctor` can say what they learnt and what they could not.
Any other failure (no such cluster, throttling, a timeout) is an `EksAuthError`. The client's
own Config bounds every call (connect/read timeouts, retries); botocore's exceptions are mapped
at the AWS boundary (`aws.call`, `aws.errors`), so this module never imports botocore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from eksauth.aws import boundary
from eksauth.errors import AwsError, EksAuthError
from eksauth.identity.access import AccessEntry, AccessPolicy, ClusterAccess, match_entry
from eksauth.identity.replay import CallerIdentity

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient  # the stubs' name for what `awscalls.eks_client` makes

MAX_PAGES = 100  # 100 pages of 100: EKS's quota on entries per cluster is far below this
_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})


class _Denied(Exception):
    """An AccessDenied answer to `operation`."""


def ask(
    cluster_name: str,
    caller: CallerIdentity,
    *,
    profile: str | None,
    region: str | None,
    timeout: float,
) -> ClusterAccess | None:
    """What EKS says about the cluster and the caller, all within `timeout`; None when there is
    no region to ask in; when EKS cannot be reached, an unknown answer with a note saying so."""
    from eksauth.aws import calls
    from eksauth.token import httpget

    try:
        client = calls.eks_client(profile, region)
        if client is None:
            return None
        where = client.meta.region_name

        def late() -> EksAuthError:
            return AwsError(f"EKS in {where} did not answer within {timeout:g} s")

        return httpget.within(timeout, lambda: gather(client, cluster_name, caller), late)
    except EksAuthError as exc:
        note = f"could not ask EKS: {exc.message}"
        return ClusterAccess(cluster_name, None, notes=(note,))


def gather(client: EKSClient, cluster_name: str, caller: CallerIdentity) -> ClusterAccess:
    """DescribeCluster, then (outside CONFIG_MAP) ListAccessEntries, and for the caller's
    entry DescribeAccessEntry and ListAssociatedAccessPolicies."""
    return entries(client, describe(client, cluster_name), caller)


def describe(client: EKSClient, cluster_name: str) -> ClusterAccess:
    """DescribeCluster alone: the authentication mode, endpoint, CA and status."""
    try:
        cluster = _call(client, "DescribeCluster", cluster_name, name=cluster_name)["cluster"]
    except _Denied:
        return ClusterAccess(cluster_name, None, missing_permissions=("eks:DescribeCluster",))
    config = cluster.get("accessConfig") or {}
    notes: tuple[str, ...] = ()
    if "authenticationMode" not in config:
        notes = ("DescribeCluster reports no authentication mode: taken as CONFIG_MAP",)
    return ClusterAccess(
        cluster_name,
        config.get("authenticationMode") or "CONFIG_MAP",
        config.get("bootstrapClusterCreatorAdminPermissions"),
        _epoch(cluster.get("createdAt")),
        notes=notes,
        endpoint=cluster.get("endpoint") or None,
        ca_data=(cluster.get("certificateAuthority") or {}).get("data") or None,
        status=cluster.get("status") or None,
    )


def entries(client: EKSClient, access: ClusterAccess, caller: CallerIdentity) -> ClusterAccess:
    """`access` (from `describe`) with the caller's access entry and its policies, outside
    CONFIG_MAP; AccessDenied is recorded as the missing permission."""
    missing = list(access.missing_permissions)
    notes = list(access.notes)
    mode = access.authentication_mode
    cluster_name = access.cluster
    if mode == "CONFIG_MAP":
        return access
    principal_arns: tuple[str, ...] | None = None
    try:
        principal_arns = tuple(_pages(client, "ListAccessEntries", cluster_name, "accessEntries"))
    except _Denied:
        missing.append("eks:ListAccessEntries")
    except AwsError as exc:
        if exc.code != "InvalidRequestException" or mode is not None:
            raise
        # EKS refuses access-entry calls on a CONFIG_MAP cluster: that tells us the mode.
        mode = "CONFIG_MAP"
        notes.append("ListAccessEntries says access entries are off: the mode is CONFIG_MAP")
    access = access._replace(authentication_mode=mode, principal_arns=principal_arns)
    matched = match_entry(caller, principal_arns) if principal_arns is not None else None
    if matched is not None:
        access = _describe_entry(client, access, matched, missing)
    return access._replace(missing_permissions=tuple(missing), notes=tuple(notes))


def _describe_entry(
    client: EKSClient, access: ClusterAccess, principal_arn: str, missing: list[str]
) -> ClusterAccess:
    name = access.cluster
    try:
        raw = _call(
            client, "DescribeAccessEntry", name, clusterName=name, principalArn=principal_arn
        )["accessEntry"]
    except _Denied:
        missing.append("eks:DescribeAccessEntry")
    else:
        entry = AccessEntry(
            principal_arn=str(raw.get("principalArn") or principal_arn),
            username=raw.get("username") or None,
            kubernetes_groups=tuple(str(g) for g in raw.get("kubernetesGroups") or ()),
            type=str(raw.get("type") or "STANDARD"),
            created_at=_epoch(raw.get("createdAt")),
        )
        access = access._replace(entry=entry)
    try:
        items = _pages(
            client,
            "ListAssociatedAccessPolicies",
            name,
            "associatedAccessPolicies",
            principalArn=principal_arn,
        )
    except _Denied:
        missing.append("eks:ListAssociatedAccessPolicies")
        return access
    policies = tuple(
        AccessPolicy(
            str(item.get("policyArn", "")),
            str((item.get("accessScope") or {}).get("type", "cluster")),
            tuple(str(n) for n in (item.get("accessScope") or {}).get("namespaces") or ()),
        )
        for item in items
    )
    return access._replace(policies=policies)


def _pages(client: EKSClient, operation: str, cluster: str, key: str, **params: Any) -> list[Any]:
    """Every item of a paginated list call (nextToken), up to MAX_PAGES pages."""
    items: list[Any] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        extra = {"nextToken": token} if token else {}
        page = _call(client, operation, cluster, clusterName=cluster, **params, **extra)
        items.extend(page.get(key) or ())
        token = page.get("nextToken")
        if not token:
            return items
    raise EksAuthError(f"eks:{operation} for cluster {cluster!r} returned over {MAX_PAGES} pages")


def _call(client: EKSClient, operation: str, cluster: str, **params: Any) -> Any:
    """One EKS call; AccessDenied becomes `_Denied`, everything else an `EksAuthError`."""
    method: Callable[..., Any] = getattr(client, _snake(operation))
    what = f"eks:{operation} for cluster {cluster!r}"
    try:
        with boundary.errors(None, service="EKS", action=f"eks:{operation}"):
            return boundary.call(lambda: method(**params), what)
    except AwsError as exc:
        if exc.code in _DENIED:
            raise _Denied(operation) from exc
        if exc.code == "ResourceNotFoundException" and operation == "DescribeCluster":
            region = getattr(getattr(client, "meta", None), "region_name", None)
            raise EksAuthError(
                f"EKS has no cluster {cluster!r} in region {region}",
                hint="check the cluster name and --region",
            ) from exc
        raise


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _epoch(value: object) -> float | None:
    """botocore parses timestamps to aware datetimes; keep epoch seconds."""
    timestamp = getattr(value, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else None
