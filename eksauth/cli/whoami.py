"""`whoami`: which Kubernetes user kubectl will be, as EKS decides it.

The token is made (or reused) and replayed to STS; then EKS is asked for the cluster's
authentication mode and the caller's access entry, and aws-auth (a file, stdin, or the live
ConfigMap) is weighed against it as EKS does (`access.decide`). With --no-eks, or when no
region is known to ask EKS in, only aws-auth is consulted, as before.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from eksauth.cli.identity import (
    echo_table,
    identity_fields,
    load_tables,
    map_caller,
    read_file,
    replay_caller,
    show_aws_auth_answer,
)
from eksauth.cli.options import (
    CONTEXT,
    issue_token,
    logger,
    token_options,
    token_request,
    warn,
    with_options,
)
from eksauth.errors import EksAuthError

if TYPE_CHECKING:
    from eksauth.access import Verdict
    from eksauth.replay import CallerIdentity

kube_options = [
    click.option(
        "--kubeconfig", metavar="FILE", help="The kubeconfig (default: KUBECONFIG's first file)."
    ),
    click.option("--context", "kube_context", metavar="NAME", help="The kubeconfig context."),
]


@click.command("whoami", context_settings=CONTEXT)
@with_options(token_options)
@click.option(
    "--aws-auth",
    metavar="FILE|-|cluster",
    help="Map the identity through this aws-auth ConfigMap (as `kubectl get configmap aws-auth "
    "-n kube-system -o yaml` prints it, or just its data); - reads stdin, `cluster` reads it "
    "from the API server of the kubeconfig's context with the token.",
)
@click.option(
    "--no-eks", is_flag=True, default=False, help="Do not ask EKS (aws-auth alone, offline)."
)
@with_options(kube_options)
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON.")
@click.pass_context
def whoami_command(ctx: click.Context, /, **options: Any) -> None:
    """Which Kubernetes user kubectl will be: make (or reuse) the token, verify it, and ask EKS
    (authentication mode, access entry, policies) and aws-auth.

    Takes every `token` option, so a kubeconfig's args can be pasted; --output, --token-only
    and --api-version are accepted and ignored. Exit 0 when the answer is determined (mapped
    or not), 1 when it is not.
    """
    request = token_request(ctx, options)
    log = logger(options["verbose"])
    source = options["aws_auth"]
    # Read an aws-auth file before any request: a bad file fails without touching STS.
    tables = None if source in (None, "cluster") else load_tables(read_file(source))
    issued = issue_token(ctx, request, options, exec_interactive=False)
    caller = replay_caller(
        ctx, issued.token, cluster=request.cluster, sts_url=request.sts_url, log=log
    )
    if source == "cluster":
        from eksauth import kubeapi

        where = kubeapi.target(options["kubeconfig"], options["kube_context"], request.cluster)
        log(f"reading kube-system/aws-auth from {where.server} (context {where.context})")
        tables = load_tables(kubeapi.read_aws_auth(where, issued.token))
    mapping = (
        None if tables is None else map_caller(caller, tables, request.region, request.profile)
    )
    client = None if options["no_eks"] else _eks_client(request.profile, request.region)
    if client is None:
        show_aws_auth_answer(caller, mapping, options["as_json"])
        return
    from eksauth import access, access_fetch

    verdict = access.decide(caller, access_fetch.gather(client, request.cluster, caller), mapping)
    _show_verdict(caller, verdict, options["as_json"])
    if not verdict.determined:
        missing = ", ".join(verdict.missing_permissions)
        raise EksAuthError(
            "could not determine which Kubernetes user you are"
            + (f": missing {missing}" if missing else ""),
            hint=f"grant {missing}, or give --aws-auth" if missing else "give --aws-auth",
        )


def _eks_client(profile: str | None, region: str | None) -> Any:
    """The `eks` client, or None (with a warning) when no region is known to ask EKS in."""
    from eksauth import awscalls

    client = awscalls.eks_client(profile, region)
    if client is None:
        warn("no region to ask EKS in, so only aws-auth is consulted (give --region)")
    return client


def _show_verdict(caller: CallerIdentity, verdict: Verdict, as_json: bool) -> None:
    for permission in verdict.missing_permissions:
        warn(f"EKS refused {permission} (AccessDenied): what it would tell is missing")
    for note in verdict.notes:
        click.echo(f"eksauth: note: {note}", err=True)
    fields = {**identity_fields(caller), **verdict.to_json()}
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
    echo_table(rows)
