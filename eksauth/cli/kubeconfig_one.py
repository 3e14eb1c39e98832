"""update-kubeconfig for one cluster: the options both spellings share (eksauth's own and
aws-cli's `eks update-kubeconfig`), and the one run they both make, printed.

The work is `kubeconfig.update.update`; this module turns options into its request and its
report into aws-cli's lines on stderr (stdout carries only --dry-run's YAML).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from eksauth.cli.options import inherited, warn

if TYPE_CHECKING:
    from eksauth.cli.options import Decorator
    from eksauth.kubeconfig.update import OneReport

kubeconfig_option = click.option(
    "--kubeconfig",
    metavar="FILE",
    help="The kubeconfig file [default: the files of KUBECONFIG, else ~/.kube/config].",
)
assume_role_arn_option = click.option(
    "--assume-role-arn",
    metavar="ARN",
    help="Call DescribeCluster as this role (e.g. cross-account); not written into the entry.",
)
proxy_url_option = click.option(
    "--proxy-url", metavar="URL", help="Written as the cluster's proxy-url for kubectl."
)


def shared_user_option(help_text: str) -> Decorator:
    """`--shared-user [NAME]`: the shared user entry's name, `eksauth` when NAME is left out."""
    from eksauth.kubeconfig.shared import DEFAULT_USER

    return click.option(
        "--shared-user",
        is_flag=False,
        flag_value=DEFAULT_USER,
        default=None,
        metavar="[NAME]",
        help=help_text,
    )


def update_kubeconfig(ctx: click.Context, options: dict[str, Any]) -> None:
    """update-kubeconfig, for eksauth's own spelling and aws-cli's (`eks update-kubeconfig`)."""
    from eksauth.kubeconfig.update import OneRequest, update

    request = OneRequest(
        name=options["name"],
        kubeconfig=options["kubeconfig"],
        region=inherited(ctx, "region", options["region"]),
        profile=inherited(ctx, "profile", options["profile"]),
        role_arn=options["role_arn"],
        session_name=options["role_session_name"],
        forward_session_name=options["forward_session_name"],
        kubelet=options["kubelet"],
        alias=options["alias"],
        user_alias=options["user_alias"],
        shared_user=options["shared_user"],
        endpoint=options["endpoint"],
        ca_data=options["ca_data"],
        ca_file=options["ca_file"],
        assume_role_arn=options["assume_role_arn"],
        proxy_url=options["proxy_url"],
        dry_run=options["dry_run"],
    )
    _print(update(request, os.environ, warn=warn), verbose=options["verbose"])


def _print(report: OneReport, *, verbose: bool) -> None:
    """aws-cli's messages, on stderr: stdout is only for --dry-run's YAML."""
    from eksauth.kubeconfig.files import dump

    if report.shared_user_added is not None:
        click.echo(f"Added the shared user {report.shared_user_added}", err=True)
    if report.dry_run_yaml is not None:
        click.echo(report.dry_run_yaml, nl=False)
        return
    entries = report.entries
    verb = "Updated context {} in {}" if report.existed else "Added new context {} to {}"
    click.echo(verb.format(entries.context["name"], report.path), err=True)
    if verbose:
        for entry in (entries.context, entries.user, entries.cluster):
            click.echo(dump(entry), err=True)
    note(report.note)


def note(text: str | None) -> None:
    """Why the exec written names a path rather than `eksauth`: said once it was written."""
    if text:
        click.echo(f"eksauth: note: {text}", err=True)
