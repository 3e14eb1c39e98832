"""`update-kubeconfig` and `migrate-kubeconfig`: adopting eksauth in one command.

stdout carries only the YAML
of --dry-run; what was written or changed is reported on stderr, as `cache clear` does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from eksauth.cli.options import CONTEXT, inherited, profile_option, region_option, warn
from eksauth.errors import UsageError

if TYPE_CHECKING:
    from eksauth.kubeconfig.entries import Cluster, Entries


_kubeconfig_option = click.option(
    "--kubeconfig",
    metavar="FILE",
    help="The kubeconfig file [default: the first path of KUBECONFIG, else ~/.kube/config].",
)
_dry_run_option = click.option(
    "--dry-run", is_flag=True, default=False, help="Print the resulting YAML; write nothing."
)


@click.command("update-kubeconfig", context_settings=CONTEXT)
@click.option("--name", required=True, metavar="NAME", help="The EKS cluster name.")
@region_option
@profile_option
@click.option("--role-arn", metavar="ARN", help="Sign tokens as this IAM role.")
@click.option("--role-session-name", metavar="NAME", help="Session name for --role-arn.")
@click.option(
    "--forward-session-name",
    is_flag=True,
    default=False,
    help="Assume --role-arn with the caller's own session name (nodes).",
)
@click.option("--alias", metavar="NAME", help="Context name [default: the user's name].")
@click.option("--user-alias", metavar="NAME", help="User name [default: the cluster ARN].")
@_kubeconfig_option
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
@_dry_run_option
@click.option("--verbose", "-v", is_flag=True, default=False, help="Print the entries written.")
@click.pass_context
def update_kubeconfig_command(ctx: click.Context, /, **options: Any) -> None:
    """Add or update a cluster, user and context that authenticate with eksauth.

    The endpoint and CA come from EKS DescribeCluster, or from --endpoint with --ca-data or
    --ca-file without calling AWS (the entries are then named NAME.REGION instead of by the
    cluster ARN). A profile is written as `env: AWS_PROFILE`. Other entries are kept.
    """
    from eksauth.aws import profile_name
    from eksauth.kubeconfig import entries as kubeconfig
    from eksauth.kubeconfig import files
    from eksauth.request import check_cluster_name

    check_cluster_name(options["name"])  # it names entries and, with --kubelet, a file
    env = os.environ
    path = files.expand(options["kubeconfig"] or files.default_path(env))
    content = files.load(path)  # an invalid file fails here, before any AWS call
    user = kubeconfig.UserOptions(
        profile=profile_name(inherited(ctx, "profile", options["profile"]), env),
        role_arn=options["role_arn"],
        session_name=options["role_session_name"],
        forward_session_name=options["forward_session_name"],
        kubelet=options["kubelet"],
    )
    user.request(options["name"])  # refuses now what `eksauth token` would refuse later
    cluster = _cluster(ctx, options, user.profile)
    ca_path, pem = None, None
    if options["kubelet"]:
        ca_path, pem = kubeconfig.kubelet_ca(cluster, path, options["ca_file"])
    entries = kubeconfig.build_entries(
        cluster, user, alias=options["alias"], user_alias=options["user_alias"], ca_path=ca_path
    )
    if options["dry_run"]:
        kubeconfig.merge(content, entries)
        click.echo(files.dump(content), nl=False)
        return
    if ca_path is not None and pem is not None:
        files.write_beside(ca_path, pem)
    with files.locked(path):  # re-read under the lock: a concurrent writer's entries stay
        content = files.load(path)
        existed = kubeconfig.merge(content, entries)
        files.write_private(path, files.dump(content).encode("utf-8"))
    _report(entries, path, existed=existed, verbose=options["verbose"])


def _report(entries: Entries, path: str, *, existed: bool, verbose: bool) -> None:
    """aws-cli's messages, on stderr: stdout is only for --dry-run's YAML."""
    from eksauth.kubeconfig.files import dump

    verb = "Updated context {} in {}" if existed else "Added new context {} to {}"
    click.echo(verb.format(entries.context["name"], path), err=True)
    if verbose:
        for entry in (entries.context, entries.user, entries.cluster):
            click.echo(dump(entry), err=True)


def _cluster(ctx: click.Context, options: dict[str, Any], profile: str | None) -> Cluster:
    """The cluster from --endpoint (offline) or DescribeCluster."""
    from eksauth import aws
    from eksauth.kubeconfig import entries as kubeconfig

    # The profile's own region, if any, is found by DescribeCluster's session.
    region = aws.region(inherited(ctx, "region", options["region"]), os.environ, None)
    if options["endpoint"] is None:
        if options["ca_data"] is not None or (options["ca_file"] and not options["kubelet"]):
            raise UsageError("--ca-data and --ca-file describe a cluster given by --endpoint")
        return kubeconfig.describe_cluster(options["name"], region=region, profile=profile)
    if region is None:
        raise UsageError("--endpoint needs a region", hint="give --region or set AWS_REGION")
    return kubeconfig.offline_cluster(
        options["name"],
        region=region,
        endpoint=options["endpoint"],
        ca_data=options["ca_data"],
        ca_file=options["ca_file"],
    )


@click.command("migrate-kubeconfig", context_settings=CONTEXT)
@_kubeconfig_option
@_dry_run_option
def migrate_kubeconfig_command(kubeconfig: str | None, dry_run: bool) -> None:
    """Switch users that run `aws eks get-token` or `aws-iam-authenticator token` to eksauth.

    Everything else in the file is kept. The file as it was is kept beside it as
    FILE.eksauth-backup; running the command again changes nothing.
    """
    from eksauth.kubeconfig import files

    path = files.expand(kubeconfig or files.default_path(os.environ))
    if dry_run:
        _migrate(path, dry_run=True)
        return
    with files.locked(path):  # no concurrent writer's change is lost between read and write
        _migrate(path, dry_run=False)


def _migrate(path: str, *, dry_run: bool) -> None:
    from eksauth.errors import KubeconfigError
    from eksauth.kubeconfig import files
    from eksauth.kubeconfig.migrate import migrate

    text = files.read_text(path)
    if text is None:
        raise KubeconfigError(f"no kubeconfig at {path}", hint="give --kubeconfig FILE")
    migration = migrate(files.parse(text, path))
    backup = files.backup_path(path)
    if migration.changed and not dry_run:  # written first: a refusal is then the only line
        files.write_beside(backup, text.encode("utf-8"))
        files.write_private(path, files.dump(migration.content).encode("utf-8"))
    for line in migration.skipped:
        warn(f"left {line}")
    for line in migration.changed:
        click.echo(f"{'would migrate' if dry_run else 'migrated'} {line}", err=True)
    if dry_run:
        click.echo(files.dump(migration.content), nl=False)
    elif not migration.changed:
        click.echo(f"nothing to migrate in {path}", err=True)
    else:
        click.echo(f"wrote {path} (the previous file is {backup})", err=True)
