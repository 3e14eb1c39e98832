"""`update-kubeconfig` and `migrate-kubeconfig`: adopting eksauth in one command.

stdout carries only the YAML
of --dry-run; what was written or changed is reported on stderr, as `cache clear` does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from eksauth.cli.kubeconfig_all import (
    all_options,
    profiles_option,
    regions_option,
    single,
    update_all,
)
from eksauth.cli.kubeconfig_one import (
    assume_role_arn_option,
    kubeconfig_option,
    note,
    proxy_url_option,
    shared_user_option,
    update_kubeconfig,
)
from eksauth.cli.options import CONTEXT, warn, with_options

if TYPE_CHECKING:
    from eksauth.kubeconfig.migratefiles import FileReport


_dry_run_option = click.option(
    "--dry-run", is_flag=True, default=False, help="Print the resulting YAML; write nothing."
)


@click.command("update-kubeconfig", context_settings=CONTEXT)
@click.option("--name", metavar="NAME", help="The EKS cluster name (or --all).")
@regions_option
@profiles_option
@click.option("--role-arn", metavar="ARN", help="Sign tokens as this IAM role.")
@click.option("--role-session-name", metavar="NAME", help="Session name for --role-arn.")
@click.option(
    "--forward-session-name",
    is_flag=True,
    default=False,
    help="Assume --role-arn with the caller's own session name (nodes).",
)
@click.option(
    "--alias",
    metavar="NAME",
    help="Context name [default: the user's name]. With --all a template of {name},"
    " {region}, {account}, {profile} [default: {name}, made unique where names collide].",
)
@click.option(
    "--user-alias",
    metavar="NAME",
    help="User name [default: the cluster ARN]. With --all a template, as --alias"
    " [default: the --shared-user name, @{profile} added with several profiles].",
)
@shared_user_option(
    "Write the shared form: the cluster's values in its exec extension, and one user entry"
    " NAME (default eksauth) with provideClusterInfo, created once, for every cluster."
)
@kubeconfig_option
@click.option("--endpoint", metavar="URL", help="Write offline: the API server URL.")
@click.option("--ca-data", metavar="BASE64", help="Offline: the CA certificate, base64 PEM.")
@click.option(
    "--ca-file",
    metavar="PATH",
    help="Offline: the CA certificate file. With --kubelet: where the CA is kept.",
)
@click.option(
    "--kubelet",
    is_flag=True,
    default=False,
    help="Node flavour: certificate-authority as a file path, interactiveMode Never.",
)
@assume_role_arn_option
@proxy_url_option
@_dry_run_option
@click.option("--verbose", "-v", is_flag=True, default=False, help="Print the entries written.")
@with_options(all_options)
@click.pass_context
def update_kubeconfig_command(ctx: click.Context, /, **options: Any) -> int | None:
    """Add or update a cluster, user and context that authenticate with eksauth.

    The endpoint and CA come from EKS DescribeCluster, or from --endpoint with --ca-data or
    --ca-file without calling AWS (the entries are then named NAME.REGION instead of by the
    cluster ARN). A profile is written as `env: AWS_PROFILE`. Other entries are kept.
    The exec runs `eksauth` when that is the eksauth on PATH, else this one by its full path.

    With --all: every cluster each --profile can list in each --region (or --all-regions), one
    lock and one write (--dry-run prints the plan instead); exit 0 when every region answered,
    1 when some failed.
    """
    if options["all_clusters"]:
        return update_all(ctx, options)
    update_kubeconfig(ctx, single(ctx, options))
    return None


@click.command("migrate-kubeconfig", context_settings=CONTEXT)
@kubeconfig_option
@shared_user_option(
    "Then move each cluster's values into its exec extension and its users into one user"
    " entry NAME (default eksauth); users nothing uses any more are removed."
)
@_dry_run_option
def migrate_kubeconfig_command(
    kubeconfig: str | None, shared_user: str | None, dry_run: bool
) -> None:
    """Switch users that run `aws eks get-token` or `aws-iam-authenticator token` to eksauth.

    Everything else in the file is kept. The file as it was is kept beside it as
    FILE.eksauth-backup; running the command again changes nothing. Without --kubeconfig,
    each file of KUBECONFIG is migrated in place (missing ones are passed over, as kubectl does).
    """
    from eksauth.kubeconfig.migratefiles import FileFailure, migrate_files

    reports = migrate_files(kubeconfig, os.environ, shared_user=shared_user, dry_run=dry_run)
    for report in reports:  # each file's lines as it is done; a failure is one warning
        if isinstance(report, FileFailure):
            warn(report.line())
        else:
            _print_migrated(report)


def _print_migrated(report: FileReport) -> None:
    for line in report.skipped:
        warn(f"left {line}")
    for line in report.changed:
        click.echo(f"{'would migrate' if report.dry_run else 'migrated'} {line}", err=True)
    if report.dry_run_yaml is not None:  # several files: a YAML stream, one document each, named
        click.echo(f"---\n# {report.path}\n" if report.several else "", nl=False)
        click.echo(report.dry_run_yaml, nl=False)
    elif not report.changed:
        click.echo(f"nothing to migrate in {report.path}", err=True)
    else:
        click.echo(f"wrote {report.path} (the previous file is {report.backup})", err=True)
        note(report.note)
