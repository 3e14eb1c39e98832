"""doctor's checks on the cluster's side: the kubeconfig, the API server, aws-auth, the
mapping EKS makes, and the exec entry kubectl runs.

The API server is only ever one `kubeapi.target` allows: the run's context when it is for the
cluster, or the server EKS named as the cluster's endpoint. Anything else is reported and no
request is made.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Callable

from eksauth.errors import EksAuthError
from eksauth.execcred import V1, V1ALPHA1, V1BETA1
from eksauth.identity.doctor_state import Check, State


def kubeconfig(state: State) -> Check:
    kube = state.inputs.kube
    cluster = state.inputs.request.cluster
    if kube.problem is not None:
        return Check("", "fail", kube.problem, "fix or remove that file: kubectl cannot read it")
    merged, context = kube.merged, kube.context
    if merged is None or not merged.paths:
        hint = f"write one: {state.update_kubeconfig_command()}"
        return Check("", "warn", "no kubeconfig file", hint)
    if context is None:
        hint = f"add one: {state.update_kubeconfig_command()}"
        return Check("", "warn", f"no context in {merged.where()} is for cluster {cluster}", hint)
    how = "given with --context" if kube.given_context else "for the cluster"
    if not kube.given_context and merged.current_context == context.name:
        how = "the current context"
    detail = f"context {context.name} in {context.path} ({how})"
    if not kube.given_context and merged.current_context != context.name:
        hint = f"kubectl uses {merged.current_context}: `kubectl config use-context {context.name}`"
        return Check(
            "", "warn", detail + f"; the current context is {merged.current_context}", hint
        )
    return Check("", "ok", detail)


def endpoint(state: State) -> Check:
    from eksauth.identity import kubeapi

    inputs = state.inputs
    access = state.access
    eks_endpoint = access.endpoint if access is not None else None
    try:
        where = kubeapi.target(
            inputs.kube.merged,
            inputs.kube.context,
            given=inputs.kube.given_context,
            cluster=inputs.request.cluster,
            endpoint=eks_endpoint,
            ca_data=access.ca_data if access is not None else None,
        )
    except kubeapi.WrongServer as exc:
        state.aws_auth_problem = "no API server of the cluster is known"
        return Check("", "warn", exc.message, exc.hint)
    status, _ = kubeapi.get(where, "/version", state.token, inputs.timeout)
    state.target = where
    detail = f"{where.server} (context {where.context}): TLS verified, /version answered {status}"
    if where.insecure:
        hint = "remove insecure-skip-tls-verify and give the cluster's CA"
        return Check("", "warn", detail.replace("TLS verified", "TLS NOT verified"), hint)
    if eks_endpoint and kubeapi.host_of(eks_endpoint) != kubeapi.host_of(where.server):
        hint = f"kubectl sends its token there; rewrite it: {state.update_kubeconfig_command()}"
        return Check("", "warn", detail + f"; EKS says the endpoint is {eks_endpoint}", hint)
    if status == 401:
        hint = "the token is not accepted by this API server: see the mapping below"
        return Check("", "warn", detail + " (Unauthorized)", hint)
    return Check("", "ok", detail)


def role_path(state: State) -> Check:
    from eksauth.identity import aws_auth, kubeapi

    if state.access is not None and state.access.authentication_mode == "API":
        return Check("", "skip", "skipped: the API mode ignores aws-auth")
    if state.target is None or state.caller is None:
        return Check("", "skip", f"skipped: {state.aws_auth_problem or 'no API server to ask'}")
    try:
        text = kubeapi.read_aws_auth(state.target, state.token or "", state.inputs.timeout)
    except EksAuthError as exc:
        state.aws_auth_problem = exc.message
        return Check("", "skip", f"skipped: {exc.message}")
    state.tables = tables = aws_auth.load_aws_auth(text)
    state.mapping = aws_auth.map_identity(state.caller, tables)
    caller = state.caller.canonical_arn.lower()
    for entry in tables.roles:
        bare = aws_auth.strip_role_path(entry.arn)
        if entry.arn != bare and bare.lower() == caller:
            detail = f"{entry.where} names {entry.arn}: never matches"
            return Check("", "warn", detail, f"write rolearn: {bare}")
    return Check("", "ok", "no aws-auth role ARN with a path names you")


def mapping(state: State) -> Check:
    from eksauth.identity import access
    from eksauth.identity.access import ClusterAccess

    caller = state.caller
    if caller is None:
        return Check("", "skip", "skipped: STS did not say who signed the token")
    cluster = state.inputs.request.cluster
    known = state.access or ClusterAccess(cluster, None, notes=("EKS could not be asked",))
    verdict = access.decide(caller, known, state.mapping)
    if verdict.mapped and verdict.username:
        groups = ", ".join(verdict.groups) or "no groups"
        policies = ", ".join(p.policy_arn.rsplit("/", 1)[-1] for p in verdict.access_policies)
        detail = f"{verdict.username} ({groups}) via {verdict.mapped_by}"
        detail += f"; policies {policies}" if policies else ""
        detail += "; the cluster creator's entry" if verdict.cluster_creator else ""
        return Check("", "ok", detail)
    if not verdict.determined:
        missing = ", ".join(verdict.missing_permissions)
        notes = [state.aws_auth_problem] if state.aws_auth_problem else []
        why = "; ".join(notes) or (f"missing {missing}" if missing else "aws-auth not read")
        return Check("", "warn", f"undetermined: {why}", "run `eksauth whoami --aws-auth FILE`")
    arn = caller.canonical_arn
    hint = (
        f"aws eks create-access-entry --cluster-name {cluster} --principal-arn {arn} "
        "(and associate an access policy)"
        if verdict.authentication_mode != "CONFIG_MAP"
        else f"add {arn} to aws-auth's mapRoles/mapUsers"
    )
    return Check("", "fail", f"{arn} is mapped by nothing: Unauthorized", hint)


def exec_entry(state: State) -> Check:
    from eksauth.kubeconfig.inputs import asked
    from eksauth.kubeconfig.merged import relative_to

    context = state.inputs.kube.context
    if context is None:
        return Check("", "skip", "skipped: no context for the cluster (see kubeconfig)")
    user = context.user
    exec_ = user.body.get("exec") if user is not None else None
    if user is None or not isinstance(exec_, Mapping):
        hint = f"rewrite it: {state.update_kubeconfig_command()}"
        return Check("", "fail", f"context {context.name} has no user with an exec entry", hint)
    problems: list[str] = []
    command = str(exec_.get("command") or "")
    if not _found(command, lambda c: relative_to(user, c)):
        problems.append(f"command {command!r} is not found on PATH")
    version = exec_.get("apiVersion")
    if version == V1ALPHA1:
        problems.append(f"apiVersion {version} was removed in kubectl 1.24")
    elif version not in (V1, V1BETA1):
        problems.append(f"apiVersion {version!r} is not a client.authentication.k8s.io version")
    interactive = exec_.get("interactiveMode")
    if version == V1 and interactive not in ("Never", "IfAvailable", "Always"):
        problems.append("interactiveMode is required with apiVersion v1")
    args = [str(a) for a in exec_.get("args") or ()]
    cluster = state.inputs.request.cluster
    found = asked(context)
    if found.problem is not None:
        problems.append(found.problem)
    elif found.cluster() != cluster:
        problems.append(f"it asks for a token for cluster {found.cluster()}, not {cluster}")
    detail = f"{command} {' '.join(args)} ({version}, interactiveMode {interactive or 'unset'})"
    if problems:
        hint = "rewrite it with `eksauth update-kubeconfig` or `eksauth migrate-kubeconfig`"
        return Check("", "fail", "; ".join(problems), hint)
    return Check("", "ok", detail)


def _found(command: str, relative: Callable[[str], str]) -> bool:
    """Whether kubectl finds the exec command: a path with a separator is relative to the
    kubeconfig file; a bare name is looked up on PATH."""
    if not command:
        return False
    if os.sep in command or "/" in command:
        return os.access(relative(command), os.X_OK)
    return shutil.which(command) is not None
