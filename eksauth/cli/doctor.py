"""`doctor`: why kubectl says Unauthorized, checked link by link (see `eksauth.identity.doctor`)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from eksauth.cli.options import (
    CONTEXT,
    exec_environment,
    explain_options,
    kube_resolved,
    logger,
    now,
    open_cache,
    token_options,
    with_options,
)
from eksauth.errors import EksAuthError

_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}


@click.command("doctor", context_settings=CONTEXT)
@with_options(token_options)
@with_options(explain_options)
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON.")
@click.pass_context
def doctor_command(ctx: click.Context, /, **options: Any) -> None:
    """Check every link from AWS credentials to the Kubernetes user, and say where it breaks.

    With no options, the cluster, region, profile and role are those of the kubeconfig's
    current context (or --context, or the context for --cluster-name), as kubectl runs it;
    options override them. Exit 0 when no check failed, 1 otherwise.
    """
    from eksauth.identity import doctor

    kube = kube_resolved(ctx, options)
    with exec_environment(kube.env):
        inputs = doctor.Inputs(
            request=kube.request,
            env=os.environ,
            now=now(ctx),
            cache=open_cache(options["cache_dir"]),
            kube=kube,
            log=logger(options["verbose"]),
            timeout=options["timeout"],
        )
        checks = doctor.run(inputs)
    if options["as_json"]:
        click.echo(json.dumps({"checks": [c.to_json() for c in checks]}, indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            click.echo(f"[{_MARKS[c.status]}] {c.name:<{width}}  {c.detail}")
            if c.hint and c.status in ("warn", "fail"):
                click.echo(f"       {'':<{width}}  → {c.hint}")
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        raise _Failed(f"doctor: {failed[0]} failed")


class _Failed(EksAuthError):
    """Exit 1 after the checklist; the checklist already says why."""
