"""A loopback stand-in for the EKS control-plane API (REST-JSON), as botocore's `eks` client
calls it: DescribeCluster, ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies.

Facts it reproduces (botocore's eks service-2.json, 2017-11-01, and the EKS API reference):

- Every call is a GET signed with SigV4 (service `eks`) in an Authorization header; this
  server checks it with `sigv4.verify_header_auth` against the World's keys. botocore puts the
  principal ARN in the path percent-encoded (`arn%3Aaws%3Aiam%3A%3A...%3Arole%2Fteams%2Fx`).
- Errors: the HTTP status, an `x-amzn-ErrorType` header naming the error, and a JSON body
  `{"message": ...}`. ResourceNotFoundException 404, AccessDeniedException 403,
  InvalidRequestException 400, InvalidParameterException 400; signature failures are 403s
  (InvalidSignatureException, UnrecognizedClientException, MissingAuthenticationTokenException).
- Timestamps are JSON numbers (epoch seconds). List calls page with `maxResults` (1..100,
  default 100) and an opaque `nextToken`.
- Access entries store the principal's IAM ARN with its path (`role/teams/eks-admins`). Access
  entry calls on a CONFIG_MAP cluster answer InvalidRequestException.
- With `bootstrapClusterCreatorAdminPermissions` (default true) EKS gives the creator a STANDARD
  entry with AmazonEKSClusterAdminPolicy at cluster scope, created with the cluster.

Test knobs: `deny(operation, principal_arn=None)` answers AccessDenied for an operation,
`calls` counts operations, `delay` sleeps before answering, `hang = True` accepts connections
and never answers (until the server stops), for timeout tests.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from ._server import DEFAULT_MAX_LIFETIME, StandInHandler, StandInServer
from .sigv4 import SigV4Failure, verify_header_auth
from .world import World

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
_SIGV4_ERRORS = {
    "MissingAuthenticationToken": "MissingAuthenticationTokenException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "ExpiredToken": "ExpiredTokenException",
    "IncompleteSignature": "IncompleteSignatureException",
}


class EksError(Exception):
    """An EKS error answer: status, error type and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class Policy:
    policy_arn: str
    scope: str = "cluster"  # or "namespace"
    namespaces: tuple[str, ...] = ()
    associated_at: float = 0.0


@dataclass
class Entry:
    principal_arn: str
    username: str
    groups: tuple[str, ...]
    type: str
    created_at: float
    policies: list[Policy] = field(default_factory=list)


@dataclass
class Cluster:
    name: str
    region: str
    account: str
    mode: str
    bootstrap_admin: bool
    creator_arn: str | None
    endpoint: str
    ca_data: str
    created_at: float
    status: str = "ACTIVE"
    version: str = "1.31"
    entries: dict[str, Entry] = field(default_factory=dict)  # insertion order = list order

    @property
    def arn(self) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:cluster/{self.name}"


def default_username(principal_arn: str, entry_type: str) -> str:
    """What EKS fills in when an entry is created without a username."""
    if entry_type in ("EC2_LINUX", "EC2_WINDOWS"):
        return "system:node:{{EC2PrivateDNSName}}"
    if entry_type in ("FARGATE_LINUX", "HYBRID_LINUX"):
        return "system:node:{{SessionName}}"
    _, partition, _, _, account, resource = principal_arn.split(":", 5)
    if resource.startswith("role/"):
        name = resource.rsplit("/", 1)[1]
        return f"arn:{partition}:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}"
    return principal_arn


class _Handler(StandInHandler):
    def do_GET(self) -> None:
        server: EksControlServer = self.standin
        if server.hang:
            server.released.wait(server.max_lifetime)
            return
        if server.delay:
            time.sleep(server.delay)
        path, query = self.split_path()
        status, payload, headers = server.handle("GET", path, query, self.headers)
        self.respond_json(status, payload, headers)

    def do_POST(self) -> None:
        self.respond_json(405, {"message": "only the read operations are served"})


class EksControlServer(StandInServer):
    """The EKS API on ``http://127.0.0.1:<port>`` (set ``AWS_ENDPOINT_URL_EKS`` to ``url``)."""

    handler_class = _Handler

    def __init__(
        self,
        world: World,
        *,
        region: str = "us-west-2",
        max_lifetime: float = DEFAULT_MAX_LIFETIME,
    ) -> None:
        super().__init__(max_lifetime=max_lifetime)
        self.world = world
        self.region = region
        self.clusters: dict[str, Cluster] = {}
        self.calls: Counter[str] = Counter()
        self.denied: dict[str, set[str] | None] = {}  # operation -> principals (None: all)
        self.delay = 0.0
        self.hang = False
        self.released = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self.released.set()  # let hanging handlers go
        super().stop()

    # -- data ------------------------------------------------------------------------------

    def add_cluster(
        self,
        name: str,
        *,
        mode: str = "API_AND_CONFIG_MAP",
        creator_arn: str | None = None,
        bootstrap_admin: bool = True,
        endpoint: str = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
        ca_data: str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
    ) -> Cluster:
        """A cluster; with `creator_arn` and `bootstrap_admin`, the creator's admin entry too
        (in CONFIG_MAP mode that access exists but is not an entry anyone can list)."""
        if mode not in MODES:
            raise ValueError(mode)
        created = self.world.now().timestamp()
        cluster = Cluster(
            name,
            self.region,
            self.world.account,
            mode,
            bootstrap_admin,
            creator_arn,
            endpoint,
            ca_data,
            created,
        )
        with self._lock:
            self.clusters[name] = cluster
        if creator_arn and bootstrap_admin and mode != "CONFIG_MAP":
            self.add_entry(name, creator_arn, policies=[Policy(CLUSTER_ADMIN_POLICY)])
        return cluster

    def add_entry(
        self,
        cluster: str,
        principal_arn: str,
        *,
        username: str | None = None,
        groups: tuple[str, ...] = (),
        type: str = "STANDARD",  # EKS calls the field `type`
        policies: list[Policy] | None = None,
    ) -> Entry:
        if type in ("EC2_LINUX", "EC2_WINDOWS") and not groups:
            groups = ("system:nodes",)
        now = self.world.now().timestamp()
        entry = Entry(
            principal_arn,
            username if username is not None else default_username(principal_arn, type),
            tuple(groups),
            type,
            now,
            [Policy(p.policy_arn, p.scope, p.namespaces, now) for p in policies or []],
        )
        with self._lock:
            self.clusters[cluster].entries[principal_arn] = entry
        return entry

    def deny(self, operation: str, principal_arn: str | None = None) -> None:
        """Answer AccessDeniedException to `operation` (e.g. "ListAccessEntries") for the
        caller whose identity ARN is `principal_arn`, or for everyone."""
        with self._lock:
            if principal_arn is None:
                self.denied[operation] = None
            else:
                current = self.denied.setdefault(operation, set())
                if current is not None:
                    current.add(principal_arn)

    # -- requests --------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: str, headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        operation = "unknown"
        try:
            operation, args = _route(path)
            with self._lock:
                self.calls[operation] += 1
            caller = self._authenticate(method, path, query, headers)
            self._authorize(operation, caller, args)
            payload = self._dispatch(operation, args, dict(parse_qsl(query)))
        except EksError as exc:
            self.world.record(f"eks:{operation}", result=exc.code)
            return exc.status, {"message": exc.message}, {"x-amzn-ErrorType": exc.code}
        self.world.record(f"eks:{operation}", result="ok", caller=caller)
        return 200, payload, {}

    def _authenticate(self, method: str, path: str, query: str, headers: Any) -> str:
        try:
            verified = verify_header_auth(
                method,
                path,
                query,
                headers,
                b"",
                self.world.lookup,
                self.world.now(),
                service="eks",
                expected_region=self.region,
            )
        except SigV4Failure as exc:
            code = _SIGV4_ERRORS.get(exc.code, "InvalidSignatureException")
            raise EksError(403, code, exc.message) from None
        principal = self.world.lookup(verified.access_key_id)
        if principal is None:
            raise EksError(403, "UnrecognizedClientException", "The security token is invalid.")
        return principal.arn

    def _authorize(self, operation: str, caller: str, args: dict[str, str]) -> None:
        with self._lock:
            denied = operation in self.denied and (
                self.denied[operation] is None or caller in (self.denied[operation] or ())
            )
        if denied:
            resource = f"arn:aws:eks:{self.region}:{self.world.account}:cluster/{args['name']}"
            raise EksError(
                403,
                "AccessDeniedException",
                f"User: {caller} is not authorized to perform: eks:{operation} on resource: "
                f"{resource}",
            )

    def _dispatch(self, operation: str, args: dict[str, str], params: dict[str, str]) -> Any:
        with self._lock:
            cluster = self.clusters.get(args["name"])
            if cluster is None:
                raise EksError(
                    404, "ResourceNotFoundException", f"No cluster found for name: {args['name']}."
                )
            if operation == "DescribeCluster":
                return {"cluster": _cluster_json(cluster)}
            if cluster.mode == "CONFIG_MAP":
                raise EksError(
                    400,
                    "InvalidRequestException",
                    "The cluster's authentication mode must be set to one of "
                    "[API, API_AND_CONFIG_MAP] to perform this operation.",
                )
            if operation == "ListAccessEntries":
                items, token = _page(list(cluster.entries), params)
                return {"accessEntries": items, "nextToken": token}
            entry = cluster.entries.get(args["principal"])
            if entry is None:
                raise EksError(
                    404,
                    "ResourceNotFoundException",
                    f"The specified principalArn could not be found: {args['principal']}.",
                )
            if operation == "DescribeAccessEntry":
                return {"accessEntry": _entry_json(cluster, entry)}
            policies, token = _page([_policy_json(p) for p in entry.policies], params)
            return {
                "clusterName": cluster.name,
                "principalArn": entry.principal_arn,
                "associatedAccessPolicies": policies,
                "nextToken": token,
            }


def _route(path: str) -> tuple[str, dict[str, str]]:
    """The operation a path names, and its (percent-decoded) path arguments."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1] != "clusters" or not parts[2]:
        raise EksError(404, "UnknownOperationException", f"No route for {path}")
    args = {"name": unquote(parts[2])}
    rest = parts[3:]
    if not rest:
        return "DescribeCluster", args
    if rest == ["access-entries"]:
        return "ListAccessEntries", args
    if len(rest) in (2, 3) and rest[0] == "access-entries" and rest[1]:
        args["principal"] = unquote(rest[1])
        if len(rest) == 2:
            return "DescribeAccessEntry", args
        if rest[2] == "access-policies":
            return "ListAssociatedAccessPolicies", args
    raise EksError(404, "UnknownOperationException", f"No route for {path}")


def _page(items: list[Any], params: dict[str, str]) -> tuple[list[Any], str | None]:
    raw_max = params.get("maxResults", "100")
    if not raw_max.isdigit() or not 1 <= int(raw_max) <= 100:
        raise EksError(400, "InvalidParameterException", "maxResults must be between 1 and 100")
    start = 0
    if "nextToken" in params:
        try:
            start = int(base64.urlsafe_b64decode(params["nextToken"]).decode())
        except (binascii.Error, ValueError):
            raise EksError(400, "InvalidParameterException", "Invalid nextToken") from None
    end = start + int(raw_max)
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], token


def _cluster_json(cluster: Cluster) -> dict[str, Any]:
    return {
        "name": cluster.name,
        "arn": cluster.arn,
        "createdAt": cluster.created_at,
        "version": cluster.version,
        "endpoint": cluster.endpoint,
        "status": cluster.status,
        "certificateAuthority": {"data": cluster.ca_data},
        "platformVersion": "eks.1",
        "accessConfig": {
            "authenticationMode": cluster.mode,
            "bootstrapClusterCreatorAdminPermissions": cluster.bootstrap_admin,
        },
    }


def _entry_json(cluster: Cluster, entry: Entry) -> dict[str, Any]:
    resource = entry.principal_arn.split(":", 5)[5]
    return {
        "clusterName": cluster.name,
        "principalArn": entry.principal_arn,
        "kubernetesGroups": list(entry.groups),
        "accessEntryArn": (
            f"arn:aws:eks:{cluster.region}:{cluster.account}:access-entry/{cluster.name}/"
            f"{resource.split('/', 1)[0]}/{cluster.account}/{resource.rsplit('/', 1)[-1]}/"
            "00000000-0000-0000-0000-000000000000"
        ),
        "createdAt": entry.created_at,
        "modifiedAt": entry.created_at,
        "tags": {},
        "username": entry.username,
        "type": entry.type,
    }


def _policy_json(policy: Policy) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": policy.scope}
    if policy.scope == "namespace":
        scope["namespaces"] = list(policy.namespaces)
    return {
        "policyArn": policy.policy_arn,
        "accessScope": scope,
        "associatedAt": policy.associated_at,
        "modifiedAt": policy.associated_at,
    }
