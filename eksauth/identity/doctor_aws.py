"""doctor's checks on the AWS side: credentials, region, STS, the token, and what EKS says
about the cluster (mode, endpoint, the caller's access entry).

Each check takes the run's `State`, returns a `Check` (or raises `EksAuthError`, which the
runner turns into a failed check with the error's hint), and records what later checks use.
Every network step is bounded as a whole by the run's timeout.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from eksauth.errors import AwsError, EksAuthError
from eksauth.identity.doctor_state import Check, State

T = TypeVar("T")
SKEW_WARN_SECONDS = 60.0
MAX_TOKEN_BYTES = 4096  # aws-iam-authenticator refuses longer tokens

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


def bounded(state: State, what: str, work: Callable[[], T]) -> T:
    """`work()` (a botocore call), or an error once the run's timeout has passed."""
    from eksauth.token.httpget import within

    seconds = state.inputs.timeout

    def late() -> EksAuthError:
        return AwsError(f"{what} did not answer within {seconds:g} s", hint="check the network")

    return within(seconds, work, late)


def credentials(state: State) -> Check:
    from eksauth.sso.session import source as resolve
    from eksauth.token import bearer

    inputs = state.inputs
    state.source = source = resolve(inputs.request, env=inputs.env, interactive=False)
    found = source.session.get_credentials()
    method = getattr(found, "method", None) or "unknown"
    key = str(source.credentials.access_key)
    detail = f"{key[:4]}… from {_METHODS.get(method, method)}"
    if source.profile:
        detail += f" (profile {source.profile})"
    temporary = key.startswith("ASIA") or bool(source.credentials.token)
    if source.expiry is None:
        kind = "temporary session keys, expiry unknown" if temporary else "long-lived keys"
        return Check("", "ok", f"{detail}; {kind}")
    left = source.expiry - inputs.now
    if left <= 0:
        from eksauth.aws.refusals import hint

        expired = f"{detail}; expired at {bearer.rfc3339(source.expiry)}"
        return Check("", "fail", expired, hint("ExpiredToken", profile=source.profile))
    status = "warn" if left < 300 else "ok"
    return Check("", status, detail + f"; temporary, expire {bearer.rfc3339(source.expiry)}")


def region(state: State) -> Check:
    from eksauth.aws import boundary, signer

    profile, found, endpoint = signer.locate(state.inputs.request, env=state.inputs.env)
    state.profile, state.region, state.sts_host = profile, found, endpoint.host
    if found is None:
        hint = "give --region or set AWS_REGION: EKS and regional STS need one"
        return Check("", "warn", f"none: the global STS endpoint {endpoint.host}", hint)
    detail = f"{found} (STS {endpoint.host})"
    unknown = boundary.unknown_region(found)
    if unknown:
        return Check("", "warn", f"{detail}: {unknown}", "check --region and AWS_REGION")
    return Check("", "ok", detail)


def sts_clock(state: State) -> Check:
    from eksauth.token import httpget

    base = state.inputs.request.sts_url or f"https://{state.sts_host}"
    reply = httpget.get(
        base + "/",
        headers={},
        timeout=state.inputs.timeout,
        what=f"STS at {base}",
        hint="check the network, proxy settings and --sts-url",
    )
    raw = next((v for k, v in reply.headers.items() if k.lower() == "date"), None)
    if raw is None:
        return Check("", "warn", f"{base} answered without a Date header")
    date = _http_date(raw)
    if date is None:
        return Check("", "warn", f"{base} answered with a Date header that is no date: {raw!r}")
    skew = state.inputs.now - date
    detail = f"{base} reachable; clock skew {skew:+.0f}s"
    if abs(skew) > SKEW_WARN_SECONDS:
        hint = "sync the clock (NTP): STS refuses signatures more than 5 minutes off"
        return Check("", "warn" if abs(skew) < 300 else "fail", detail, hint)
    return Check("", "ok", detail)


def _http_date(value: str) -> float | None:
    """An HTTP Date header as epoch seconds, or None when it is not a date."""
    import email.utils
    from datetime import timezone

    try:
        parsed = email.utils.parsedate_to_datetime(value[:200])
        if parsed.tzinfo is None:  # "-0000": UTC, as RFC 5322 says
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def token_built(state: State) -> Check:
    from eksauth import orchestrator

    inputs = state.inputs
    issued = orchestrator.get_token(
        inputs.request, env=inputs.env, now=inputs.now, cache=inputs.cache, log=inputs.log
    )
    state.token = issued.token
    size = len(issued.token.encode())
    if size > MAX_TOKEN_BYTES:
        hint = "EKS refuses tokens over 4 KiB: long session tokens or session tags cause this"
        return Check("", "fail", f"{size} bytes", hint)
    return Check("", "ok", f"{size} bytes, expires {issued.expiration}")


def sts_accepts(state: State) -> Check:
    from eksauth.aws import boundary
    from eksauth.identity import replay

    inputs = state.inputs
    request = inputs.request
    state.caller = caller = replay.verify(
        state.token or "",
        cluster=request.cluster,
        now=inputs.now,
        sts_url=request.sts_url,
        timeout=inputs.timeout,
        profile=boundary.profile_name(request.profile, inputs.env),
    )
    return Check("", "ok", f"{caller.arn} (signed for cluster {request.cluster})")


def cluster(state: State) -> Check:
    from eksauth.aws import calls
    from eksauth.identity import eksapi

    request = state.inputs.request
    client = None if state.region is None else calls.eks_client(request.profile, state.region)
    if client is None:
        return Check("", "fail", "no region to look the cluster up in", "give --region")
    state.client = client
    what = f"EKS in {state.region}"
    found = bounded(state, what, lambda: eksapi.describe(client, request.cluster))
    state.access = found
    if "eks:DescribeCluster" in found.missing_permissions:
        hint = "grant eks:DescribeCluster to see the mode, endpoint and status"
        return Check("", "warn", "cannot tell: EKS refused eks:DescribeCluster", hint)
    detail = f"{request.cluster} in {state.region}"
    if found.status not in (None, "ACTIVE", "UPDATING"):
        return Check("", "warn", f"{detail} is {found.status}", "retry once it is ACTIVE")
    return Check("", "ok", f"{detail}, {found.status or 'no status given'}, {found.endpoint}")


_MEANING = {
    "CONFIG_MAP": "only aws-auth is consulted",
    "API_AND_CONFIG_MAP": "access entries first, then aws-auth",
    "API": "only access entries are consulted; aws-auth is ignored",
}


def mode(state: State) -> Check:
    found = state.access.authentication_mode if state.access is not None else None
    if found is None:
        return Check("", "warn", "unknown", "grant eks:DescribeCluster")
    return Check("", "ok", f"{found}: {_MEANING.get(found, 'unknown mode')}")


def access_entry(state: State) -> Check:
    from eksauth.identity import eksapi

    access, caller, client = state.access, state.caller, state.client
    if access is None or caller is None or client is None:  # the client came with `access`
        return Check("", "skip", "skipped: nothing is known of the cluster")
    if access.authentication_mode == "CONFIG_MAP":
        return Check("", "skip", "skipped: CONFIG_MAP clusters do not consult access entries")
    what = f"EKS in {state.region}"
    known = access
    access = bounded(state, what, lambda: eksapi.entries(client, known, caller))
    state.access = access
    arn = caller.canonical_arn
    if access.principal_arns is None:
        missing = ", ".join(p for p in access.missing_permissions if "Access" in p)
        hint = f"grant {missing or 'eks:ListAccessEntries'}"
        return Check("", "warn", f"cannot tell: EKS refused {missing or 'the listing'}", hint)
    if access.entry is not None:
        names = [p.policy_arn.rsplit("/", 1)[-1] for p in access.policies or ()]
        policies = f"; policies {', '.join(names)}" if names else "; no access policies"
        groups = ", ".join(access.entry.kubernetes_groups)
        groups_text = f"; groups {groups}" if groups else ""
        entry = f"{access.entry.principal_arn} ({access.entry.type})"
        return Check("", "ok", entry + policies + groups_text)
    if access.authentication_mode is None:
        return Check("", "warn", f"none for {arn}; whether aws-auth decides depends on the mode")
    if access.authentication_mode == "API":
        cluster_name = state.inputs.request.cluster
        hint = (
            f"aws eks create-access-entry --cluster-name {cluster_name} --principal-arn {arn}, "
            f"then aws eks associate-access-policy --cluster-name {cluster_name} "
            f"--principal-arn {arn} --policy-arn POLICY --access-scope type=cluster"
        )
        detail = f"no access entry for {arn}: in API mode EKS answers Unauthorized"
        return Check("", "fail", detail, hint)
    return Check("", "ok", f"none for {arn}: aws-auth decides")
