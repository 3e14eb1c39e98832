"""`doctor`: why kubectl says Unauthorized, checked link by link (see `eksauth.doctor`)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from eksauth.cli.options import (
    CONTEXT,
    logger,
    now,
    open_cache,
    token_options,
    token_request,
    with_options,
)
from eksauth.errors import EksAuthError

_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}


@click.command("doctor", context_settings=CONTEXT)
@with_options(token_options)
@click.option(
    "--kubeconfig", metavar="FILE", help="The kubeconfig (default: KUBECONFIG's first file)."
)
@click.option("--context", "kube_context", metavar="NAME", help="The kubeconfig context.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON.")
@click.pass_context
def doctor_command(ctx: click.Context, /, **options: Any) -> None:
    """Check every link from AWS credentials to the Kubernetes user, and say where it breaks.

    Exit 0 when no check failed, 1 otherwise.
    """
    from eksauth import doctor

    inputs = doctor.Inputs(
        request=token_request(ctx, options),
        env=os.environ,
        now=now(ctx),
        cache=open_cache(options["cache_dir"]),
        kubeconfig=options["kubeconfig"],
        context=options["kube_context"],
        log=logger(options["verbose"]),
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
