"""`token` (alias `get-token`, also as aws-cli's `eks get-token`): print the ExecCredential."""

from __future__ import annotations

import os
from typing import Any

import click

from eksauth.cli.options import (
    CONTEXT,
    inherited,
    issue_token,
    token_options,
    token_request,
    warn,
    with_options,
)


@click.command("token", context_settings=CONTEXT)
@with_options(token_options)
@click.pass_context
def token_command(ctx: click.Context, /, **options: Any) -> None:
    """Print an ExecCredential with a bearer token for an EKS cluster (alias: get-token)."""
    from eksauth.execcred import exec_credential, read_exec_info

    info = read_exec_info(os.environ, options["api_version"])
    if info.warning:
        warn(info.warning)
    issued = issue_token(ctx, token_request(ctx, options), options, info.interactive)
    if options["verbose"]:
        _check_region(issued.token)
    output = inherited(ctx, "output", options["output"])
    if options["token_only"] or output == "token":
        click.echo(issued.token)
    else:
        click.echo(exec_credential(info.api_version, issued.token, issued.expiration), nl=False)


def _check_region(bearer: str) -> None:
    """Under -v, a warning when the token's region is unknown to botocore (a typo signs)."""
    from eksauth.aws import boundary
    from eksauth.token import bearer as token

    region = token.parse_presigned(token.decode(bearer)).region
    problem = boundary.unknown_region(region) if region else None
    if problem:
        warn(problem)


# `get-token` is the same command under aws-cli's name; hidden so help lists it once.
get_token_command = click.Command(
    "get-token",
    callback=token_command.callback,
    params=token_command.params,
    help=token_command.help,
    hidden=True,
    context_settings=CONTEXT,
)
