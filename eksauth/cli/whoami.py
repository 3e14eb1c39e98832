"""`whoami`: which Kubernetes user kubectl will be, as EKS decides it.

The token is made (or reused) and replayed to STS; then EKS is asked for the cluster's
authentication mode and the caller's access entry, and aws-auth (a file, stdin, or the live
ConfigMap) is weighed against it as EKS does (`access.decide`). With no options, the cluster,
region and profile are the kubeconfig's (see `kubeconfig.inputs`). With --no-eks, or when no
region is known to ask EKS in, only aws-auth is consulted.

It degrades rather than going silent: the identity STS confirmed is always printed (also in
--json); when EKS cannot be reached or refuses, what is known (aws-auth's answer) is printed
with `determined: false`, a note names what could not be asked, and the exit status is 1.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

from eksauth.cli.caller import (
    echo_table,
    identity_fields,
    load_tables,
    replay_caller,
    show_aws_auth_answer,
)
from eksauth.cli.options import (
    CONTEXT,
    exec_environment,
    explain_options,
    issue_token,
    kube_resolved,
    logger,
    token_options,
    warn,
    with_options,
)
from eksauth.errors import EksAuthError

if TYPE_CHECKING:
    from eksauth.identity.access import ClusterAccess, Verdict
    from eksauth.identity.aws_auth import IdentityMapping
    from eksauth.identity.replay import CallerIdentity
    from eksauth.request import TokenRequest


@click.command("whoami", context_settings=CONTEXT)
@with_options(token_options)
@click.option(
    "--aws-auth",
    metavar="FILE|-|cluster",
    help="Map the identity through this aws-auth ConfigMap (as `kubectl get configmap aws-auth "
    "-n kube-system -o yaml` prints it, or just its data); - reads stdin, `cluster` reads it "
    "from the cluster's API server with the token.",
)
@click.option(
    "--no-eks", is_flag=True, default=False, help="Do not ask EKS (aws-auth alone, offline)."
)
@with_options(explain_options)
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON.")
@click.pass_context
def whoami_command(ctx: click.Context, /, **options: Any) -> None:
    """Which Kubernetes user kubectl will be: make (or reuse) the token, verify it, and ask EKS
    (authentication mode, access entry, policies) and aws-auth.

    With no options, the cluster, region, profile and role are those of the kubeconfig's
    current context (or --context, or the context for --cluster-name). Takes every `token`
    option, so a kubeconfig's args can be pasted; --output, --token-only and --api-version are
    accepted and ignored. Exit 0 when the answer is determined (mapped or not), 1 when not.
    """
    from eksauth.identity import kubeapi
    from eksauth.identity.aws_auth import map_caller, read_source

    source = options["aws_auth"]
    # Read an aws-auth file before any request: a bad file fails without touching STS.
    tables = None if source in (None, "cluster") else load_tables(read_source(source))
    kube = kube_resolved(ctx, options)
    request = kube.request
    log = logger(options["verbose"])
    timeout = options["timeout"]
    with exec_environment(kube.env):
        issued = issue_token(ctx, request, options, exec_interactive=False)
        caller = replay_caller(
            ctx,
            issued.token,
            cluster=request.cluster,
            sts_url=request.sts_url,
            log=log,
            timeout=timeout,
            profile=_profile(request),
        )
        access = None if options["no_eks"] else _ask_eks(request, caller, timeout)
        problem = None
        if source == "cluster":
            try:
                tables = load_tables(
                    kubeapi.live_aws_auth(
                        kube.merged,
                        kube.context,
                        given=kube.given_context,
                        cluster=request.cluster,
                        access=access,
                        bearer=issued.token,
                        timeout=timeout,
                        log=log,
                    )
                )
            except EksAuthError as exc:
                problem = exc  # reported after the identity
        mapping = None
        if tables is not None:
            mapping = map_caller(caller, tables, request.region, request.profile)
    if access is None:
        show_aws_auth_answer(caller, mapping, options["as_json"], unmapped_fails=problem is None)
        if problem is not None:
            raise problem
        return
    from eksauth.identity import access as weigh

    verdict = weigh.decide(caller, access, mapping)
    if problem is not None:  # without aws-auth, EKS's answer may stay open (`determined`)
        verdict = verdict._replace(notes=(*verdict.notes, f"aws-auth: {problem.message}"))
    _show_verdict(caller, verdict, mapping, options["as_json"])
    if not verdict.determined:
        raise problem or weigh.undetermined(verdict, access)


def _profile(request: TokenRequest) -> str | None:
    from eksauth.aws.boundary import profile_name

    return profile_name(request.profile, os.environ)


def _ask_eks(request: TokenRequest, caller: CallerIdentity, timeout: float) -> ClusterAccess | None:
    """EKS's answer (`access_fetch.ask`); None, said, when there is no region to ask in."""
    from eksauth.identity import eksapi

    access = eksapi.ask(
        request.cluster, caller, profile=request.profile, region=request.region, timeout=timeout
    )
    if access is None:
        warn("no region to ask EKS in, so only aws-auth is consulted (give --region)")
    return access


def _show_verdict(
    caller: CallerIdentity,
    verdict: Verdict,
    mapping: IdentityMapping | None,
    as_json: bool,
) -> None:
    for permission in verdict.missing_permissions:
        warn(f"EKS refused {permission} (AccessDenied): what it would tell is missing")
    for note in verdict.notes:
        click.echo(f"eksauth: note: {note}", err=True)
    aws_auth = _aws_auth_answer(mapping)
    fields = {**identity_fields(caller), **verdict.to_json(), "aws_auth": aws_auth}
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    entry = verdict.access_entry
    policies = [
        p.policy_arn.rsplit("/", 1)[-1]
        + (f" (namespaces {', '.join(p.namespaces)})" if p.scope_type == "namespace" else "")
        for p in verdict.access_policies
    ]
    rows = [(name.replace("_", " "), value) for name, value in identity_fields(caller).items()]
    rows += [
        ("authentication mode", verdict.authentication_mode or "unknown"),
        ("access entry", None if entry is None else f"{entry.principal_arn} ({entry.type})"),
        ("access policies", ", ".join(policies)),
        ("mapped by", verdict.mapped_by if verdict.mapped else "not mapped"),
        ("username", verdict.username),
        ("groups", ", ".join(verdict.groups)),
        ("cluster creator", "yes" if verdict.cluster_creator else "no"),
    ]
    if aws_auth is not None:
        shown = "not mapped"
        if aws_auth["mapped_by"]:
            groups = ", ".join(aws_auth["groups"]) or "no groups"
            shown = f"{aws_auth['username']} ({groups}) via {aws_auth['mapped_by']}"
        rows.append(("aws-auth says", shown))
    if not verdict.determined:
        rows.append(("determined", "no"))
    echo_table(rows)


def _aws_auth_answer(mapping: IdentityMapping | None) -> dict[str, Any] | None:
    """aws-auth's own answer, whatever EKS's mode makes of it (None: aws-auth was not read)."""
    if mapping is None:
        return None
    return {
        "mapped_by": mapping.mapped_by,
        "username": mapping.username,
        "groups": list(mapping.groups),
        "reason": mapping.reason,
    }
