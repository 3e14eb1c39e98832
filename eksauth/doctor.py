"""`eksauth doctor`: walk the chain from credentials to the Kubernetes user, link by link.

Each check answers ok, warn, fail or skip, with a detail and a hint (what to do). The walk stops
explaining at the first broken link: once a check fails, every later one is skipped and says
which failure it waits on. Every network step is bounded (AWS clients' timeouts, STS and API
server GETs with timeouts). No click here; `cli/doctor.py` prints the result.
"""

from __future__ import annotations

import email.utils
import os
import shutil
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

from eksauth.errors import EksAuthError
from eksauth.execcred import V1, V1ALPHA1, V1BETA1

MAX_TOKEN_BYTES = 4096  # aws-iam-authenticator refuses longer tokens
SKEW_WARN_SECONDS = 60.0
PROBE_TIMEOUT_SECONDS = 10.0
Log = Callable[[str], None]


class Check(NamedTuple):
    name: str
    status: str  # "ok", "warn", "fail" or "skip"
    detail: str
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self._asdict())


class Inputs(NamedTuple):
    """What doctor is given: the token request and where kubectl's view of the cluster is."""

    request: Any  # request.TokenRequest
    env: Mapping[str, str]
    now: float
    cache: Any  # cache.Cache
    kubeconfig: str | None
    context: str | None
    log: Log


class _State:
    """What earlier checks learnt, for the later ones."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.source: Any = None
        self.token: str | None = None
        self.caller: Any = None
        self.access: Any = None
        self.target: Any = None
        self.tables: Any = None
        self.mapping: Any = None
        self.aws_auth_problem: str | None = None


def run(inputs: Inputs) -> list[Check]:
    """Every check, in the order kubectl's request depends on them."""
    state = _State(inputs)
    checks: list[Check] = []
    broken: str | None = None
    for name, step in _STEPS:
        if broken is not None:
            checks.append(Check(name, "skip", f"skipped: {broken} failed"))
            continue
        try:
            check = step(state)
        except EksAuthError as exc:
            check = Check(name, "fail", exc.message, exc.hint)
        checks.append(check._replace(name=name))
        if check.status == "fail":
            broken = name
    return checks


# -- AWS side ------------------------------------------------------------------------------------

_METHODS = {
    "env": "environment variables",
    "shared-credentials-file": "the shared credentials file",
    "config-file": "the AWS config file",
    "sso": "IAM Identity Center (SSO)",
    "custom-process": "a credential_process",
    "assume-role": "an assume-role profile",
    "assume-role-with-web-identity": "web identity (IRSA/OIDC)",
    "iam-role": "the instance metadata service (IMDS)",
    "container-role": "the container credentials endpoint",
}


def _credentials(state: _State) -> Check:
    from eksauth import signer, token

    inputs = state.inputs
    state.source = source = signer.resolve(inputs.request, env=inputs.env, interactive=False)
    found = source.session.get_credentials()
    method = getattr(found, "method", None) or "unknown"
    detail = f"{str(source.credentials.access_key)[:4]}… from {_METHODS.get(method, method)}"
    if source.profile:
        detail += f" (profile {source.profile})"
    if source.expiry is None:
        return Check("", "ok", detail + "; long-lived keys")
    left = source.expiry - inputs.now
    if left <= 0:
        hint = "refresh them (e.g. `aws sso login`)"
        return Check("", "fail", detail + f"; expired at {token.rfc3339(source.expiry)}", hint)
    status = "warn" if left < 300 else "ok"
    return Check("", status, detail + f"; expire {token.rfc3339(source.expiry)}")


def _region(state: _State) -> Check:
    source = state.source
    if source.region is None:
        hint = "give --region or set AWS_REGION: EKS and regional STS need one"
        return Check("", "warn", f"none: the global STS endpoint {source.endpoint.host}", hint)
    return Check("", "ok", f"{source.region} (STS {source.endpoint.host})")


def _sts_clock(state: _State) -> Check:
    base = state.inputs.request.sts_url or f"https://{state.source.endpoint.host}"
    date = _probe_date(base)
    if date is None:
        return Check("", "warn", f"{base} answered without a Date header")
    skew = state.inputs.now - date
    detail = f"{base} reachable; clock skew {skew:+.0f}s"
    if abs(skew) > SKEW_WARN_SECONDS:
        hint = "sync the clock (NTP): STS refuses signatures more than 5 minutes off"
        return Check("", "warn" if abs(skew) < 300 else "fail", detail, hint)
    return Check("", "ok", detail)


def _probe_date(base: str) -> float | None:
    """GET `base` unsigned; STS's Date header, whatever the status."""
    import ssl
    import urllib.error
    import urllib.request

    loopback = base.split("://", 1)[-1].split(":", maxsplit=1)[0] in ("127.0.0.1", "localhost")
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({} if loopback else None),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
    )
    try:
        with opener.open(base + "/", timeout=PROBE_TIMEOUT_SECONDS) as reply:
            date = reply.headers.get("Date")
    except urllib.error.HTTPError as exc:
        with exc:
            date = exc.headers.get("Date")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EksAuthError(
            f"could not reach STS at {base}: {getattr(exc, 'reason', exc)}",
            hint="check the network, proxy settings and --sts-url",
        ) from None
    parsed = email.utils.parsedate_to_datetime(date) if date else None
    return parsed.timestamp() if parsed is not None else None


def _token(state: _State) -> Check:
    from eksauth import api

    inputs = state.inputs
    issued = api.get_token(
        inputs.request, env=inputs.env, now=inputs.now, cache=inputs.cache, log=inputs.log
    )
    state.token = issued.token
    size = len(issued.token.encode())
    if size > MAX_TOKEN_BYTES:
        hint = "EKS refuses tokens over 4 KiB: long session tokens or session tags cause this"
        return Check("", "fail", f"{size} bytes", hint)
    return Check("", "ok", f"{size} bytes, expires {issued.expiration}")


def _sts_accepts(state: _State) -> Check:
    from eksauth import replay

    request = state.inputs.request
    state.caller = caller = replay.verify(
        state.token or "", cluster=request.cluster, now=state.inputs.now, sts_url=request.sts_url
    )
    return Check("", "ok", f"{caller.arn} (signed for cluster {request.cluster})")


def _cluster(state: _State) -> Check:
    from eksauth import access_fetch, awscalls

    request = state.inputs.request
    client = awscalls.eks_client(request.profile, state.source.region)
    if client is None:
        return Check("", "fail", "no region to look the cluster up in", "give --region")
    state.access = access = access_fetch.gather(client, request.cluster, state.caller)
    if "eks:DescribeCluster" in access.missing_permissions:
        hint = "grant eks:DescribeCluster to see the authentication mode"
        return Check("", "warn", "cannot tell: EKS refused eks:DescribeCluster", hint)
    return Check("", "ok", f"{request.cluster} in {state.source.region}")


# -- the cluster's side --------------------------------------------------------------------------


def _endpoint(state: _State) -> Check:
    from eksauth import kubeapi

    inputs = state.inputs
    cluster = inputs.request.cluster
    state.target = where = kubeapi.target(inputs.kubeconfig, inputs.context, cluster)
    status, _ = kubeapi.get(where, "/version", state.token)
    detail = f"{where.server} (context {where.context}): TLS verified, /version answered {status}"
    if where.insecure:
        hint = "remove insecure-skip-tls-verify and give the cluster's CA"
        return Check("", "warn", detail.replace("TLS verified", "TLS NOT verified"), hint)
    if status == 401:
        hint = "the token is not accepted by this API server: see the mapping below"
        return Check("", "warn", detail + " (Unauthorized)", hint)
    return Check("", "ok", detail)


def _mode(state: _State) -> Check:
    mode = state.access.authentication_mode
    if mode is None:
        return Check("", "warn", "unknown", "grant eks:DescribeCluster")
    meaning = {
        "CONFIG_MAP": "only aws-auth is consulted",
        "API_AND_CONFIG_MAP": "access entries first, then aws-auth",
        "API": "only access entries are consulted; aws-auth is ignored",
    }
    return Check("", "ok", f"{mode}: {meaning.get(mode, 'unknown mode')}")


def _mapping(state: _State) -> Check:
    from eksauth import access

    notes = [state.aws_auth_problem] if state.aws_auth_problem else []
    verdict = access.decide(state.caller, state.access, state.mapping)
    if verdict.mapped and verdict.username:
        groups = ", ".join(verdict.groups) or "no groups"
        policies = ", ".join(p.policy_arn.rsplit("/", 1)[-1] for p in verdict.access_policies)
        detail = f"{verdict.username} ({groups}) via {verdict.mapped_by}"
        detail += f"; policies {policies}" if policies else ""
        detail += "; the cluster creator's entry" if verdict.cluster_creator else ""
        return Check("", "ok", detail)
    if not verdict.determined:
        missing = ", ".join(verdict.missing_permissions)
        why = "; ".join(notes) or (f"missing {missing}" if missing else "aws-auth not read")
        return Check("", "warn", f"undetermined: {why}", "run `eksauth whoami --aws-auth FILE`")
    arn = state.caller.canonical_arn
    hint = (
        f"aws eks create-access-entry --cluster-name {state.inputs.request.cluster} "
        f"--principal-arn {arn} (and associate an access policy)"
        if verdict.authentication_mode != "CONFIG_MAP"
        else f"add {arn} to aws-auth's mapRoles/mapUsers"
    )
    return Check("", "fail", f"{arn} is mapped by nothing: Unauthorized", hint)


def _role_path(state: _State) -> Check:
    from eksauth import awsauth, kubeapi

    if state.access.authentication_mode == "API":
        return Check("", "skip", "skipped: the API mode ignores aws-auth")
    try:
        text = kubeapi.read_aws_auth(state.target, state.token or "")
    except EksAuthError as exc:
        state.aws_auth_problem = exc.message
        return Check("", "skip", f"skipped: {exc.message}")
    state.tables = awsauth.load_aws_auth(text)
    state.mapping = awsauth.map_identity(state.caller, state.tables)
    caller = state.caller.canonical_arn.lower()
    for entry in state.tables.roles:
        if entry.arn != awsauth.strip_role_path(entry.arn) and (
            awsauth.strip_role_path(entry.arn).lower() == caller
        ):
            hint = f"write rolearn: {awsauth.strip_role_path(entry.arn)}"
            return Check("", "warn", f"{entry.where} names {entry.arn}: never matches", hint)
    return Check("", "ok", "no aws-auth role ARN with a path names you")


def _exec_entry(state: _State) -> Check:
    from eksauth import kubeapi

    where = state.target
    exec_ = where.user.get("exec") if where is not None else None
    if not isinstance(exec_, Mapping):
        return Check("", "warn", f"context {where.context} has no exec entry", None)
    problems: list[str] = []
    command = str(exec_.get("command") or "")
    if _resolve_command(command, where.path) is None:
        problems.append(f"command {command!r} is not found on PATH")
    version = exec_.get("apiVersion")
    if version == V1ALPHA1:
        problems.append(f"apiVersion {version} was removed in kubectl 1.24")
    elif version not in (V1, V1BETA1):
        problems.append(f"apiVersion {version!r} is not a client.authentication.k8s.io version")
    mode = exec_.get("interactiveMode")
    if version == V1 and mode not in ("Never", "IfAvailable", "Always"):
        problems.append("interactiveMode is required with apiVersion v1")
    args = [str(a) for a in exec_.get("args") or ()]
    program = os.path.basename(command)
    if program in ("aws", "eksauth") and not kubeapi.names_cluster(
        where.user, state.inputs.request.cluster, where.cluster_info
    ):
        problems.append(f"args {args} do not name cluster {state.inputs.request.cluster}")
    detail = f"{command} {' '.join(args)} ({version}, interactiveMode {mode or 'unset'})"
    if problems:
        hint = "rewrite it with `eksauth update-kubeconfig` or `eksauth migrate-kubeconfig`"
        return Check("", "fail", "; ".join(problems), hint)
    return Check("", "ok", detail)


def _resolve_command(command: str, kubeconfig_path: str) -> str | None:
    """Where kubectl finds an exec command: a path with a separator is relative to the
    kubeconfig's folder; a bare name is looked up on PATH."""
    if not command:
        return None
    if os.sep in command:
        path = os.path.join(os.path.dirname(kubeconfig_path), os.path.expanduser(command))
        return path if os.access(path, os.X_OK) else None
    return shutil.which(command)


_STEPS: list[tuple[str, Callable[[_State], Check]]] = [
    ("credentials", _credentials),
    ("region", _region),
    ("sts reachable", _sts_clock),
    ("token built", _token),
    ("token accepted by sts", _sts_accepts),
    ("cluster found", _cluster),
    ("endpoint", _endpoint),
    ("authentication mode", _mode),
    ("aws-auth role path", _role_path),
    ("mapping", _mapping),
    ("kubeconfig exec entry", _exec_entry),
]
