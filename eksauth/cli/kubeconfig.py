"""`update-kubeconfig` and `migrate-kubeconfig`: adopting eksauth in one command.

stdout carries only the YAML
of --dry-run; what was written or changed is reported on stderr, as `cache clear` does.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Callable

import click

from eksauth.cli.kubeconfig_all import (
    all_options,
    profiles_option,
    regions_option,
    single,
    update_all,
)
from eksauth.cli.options import CONTEXT, inherited, warn, with_options
from eksauth.errors import UsageError

if TYPE_CHECKING:
    from eksauth.kubeconfig.command import ExecCommand
    from eksauth.kubeconfig.entries import Cluster, Entries, UserOptions


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


def shared_user_option(help_text: str) -> Callable[[Any], Any]:
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


def update_kubeconfig(ctx: click.Context, options: dict[str, Any]) -> None:
    """update-kubeconfig, for eksauth's own spelling and aws-cli's (`eks update-kubeconfig`)."""
    from eksauth.aws import profile_name
    from eksauth.kubeconfig import entries as kubeconfig
    from eksauth.kubeconfig import files, selector
    from eksauth.request import check_cluster_name

    check_cluster_name(options["name"])  # it names entries and, with --kubelet, a file
    env = os.environ
    paths = selector.candidate_paths(options["kubeconfig"], env)
    if len(paths) == 1:
        files.load(paths[0])  # an invalid file fails here, before any AWS call
    user = kubeconfig.UserOptions(
        profile=profile_name(inherited(ctx, "profile", options["profile"]), env),
        role_arn=options["role_arn"],
        session_name=options["role_session_name"],
        forward_session_name=options["forward_session_name"],
        kubelet=options["kubelet"],
        command=(chosen := _exec_command()).command,
    )
    user.request(options["name"])  # refuses now what `eksauth token` would refuse later
    if options["shared_user"] is not None:
        for excluded in ("user_alias", "kubelet", "forward_session_name"):
            if options[excluded]:
                flag = "--" + excluded.replace("_", "-")
                raise UsageError(f"--shared-user excludes {flag}")
    cluster = _cluster(ctx, options, user.profile)
    path = selector.choose(paths, cluster.entry_name, warn)  # aws-cli's file: see `selector`
    ca_path, pem = None, None
    if options["kubelet"]:
        ca_path, pem = kubeconfig.kubelet_ca(cluster, path, options["ca_file"])

    def merged(into: dict[str, Any]) -> tuple[Entries, bool]:
        if options["shared_user"] is not None:
            return _shared(into, cluster, user, options)
        entries = kubeconfig.build_entries(
            cluster, user, alias=options["alias"], user_alias=options["user_alias"], ca_path=ca_path
        )
        return entries, kubeconfig.merge(into, entries)

    if options["dry_run"]:
        merged(content := files.load(path))
        click.echo(files.dump(content), nl=False)
        return
    if ca_path is not None and pem is not None:
        files.write_beside(ca_path, pem, kubeconfig=path)
    with files.locked(path):  # re-read under the lock: a concurrent writer's entries stay
        content = files.load(path)
        entries, existed = merged(content)
        files.write_private(path, files.dump(content).encode("utf-8"))
    _report(entries, path, existed=existed, verbose=options["verbose"])
    _note(chosen)


def _shared(
    content: dict[str, Any], cluster: Cluster, user: UserOptions, options: dict[str, Any]
) -> tuple[Entries, bool]:
    """The shared form's entries merged into `content`: (entries, the cluster was there)."""
    from eksauth.kubeconfig import shared

    entries = shared.shared_entries(
        cluster, user, user=options["shared_user"], alias=options["alias"]
    )
    existed, created = shared.merge_shared(content, entries)
    if created:
        click.echo(f"Added the shared user {options['shared_user']}", err=True)
    return entries, existed


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
        cluster = kubeconfig.describe_cluster(
            options["name"],
            region=region,
            profile=profile,
            assume_role_arn=options["assume_role_arn"],
        )
        return dataclasses.replace(cluster, proxy_url=options["proxy_url"])
    if options["assume_role_arn"]:
        raise UsageError("--assume-role-arn is for DescribeCluster; --endpoint calls no AWS API")
    if region is None:
        raise UsageError("--endpoint needs a region", hint="give --region or set AWS_REGION")
    cluster = kubeconfig.offline_cluster(
        options["name"],
        region=region,
        endpoint=options["endpoint"],
        ca_data=options["ca_data"],
        ca_file=options["ca_file"],
    )
    return dataclasses.replace(cluster, proxy_url=options["proxy_url"])


def _exec_command() -> ExecCommand:
    """The command the written exec runs: one kubectl finds (see `kubeconfig.command`)."""
    from eksauth.kubeconfig.command import exec_command

    return exec_command()


def _note(chosen: ExecCommand) -> None:
    """Why the exec written names a path rather than `eksauth`: said once it was written."""
    if chosen.note:
        click.echo(f"eksauth: note: {chosen.note}", err=True)


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
    from eksauth.errors import KubeconfigError
    from eksauth.kubeconfig import selector

    paths = list(dict.fromkeys(selector.candidate_paths(kubeconfig, os.environ)))
    if len(paths) == 1:
        _migrate_one(paths[0], shared_user=shared_user, dry_run=dry_run)
        return
    found, failed = 0, 0
    for path in paths:
        try:
            found += _migrate_one(path, shared_user=shared_user, dry_run=dry_run, several=True)
        except KubeconfigError as exc:  # one broken file does not keep the others unmigrated
            warn(exc.message + (f" ({exc.hint})" if exc.hint else ""))
            found, failed = found + 1, failed + 1
    if not found:
        raise KubeconfigError("no file of KUBECONFIG exists", hint="give --kubeconfig FILE")
    if failed:
        raise KubeconfigError(f"{failed} of the {found} files of KUBECONFIG were left as they were")


def _migrate_one(
    path: str, *, shared_user: str | None, dry_run: bool, several: bool = False
) -> bool:
    """Migrate one file, under kubectl's lock unless dry; False if it is missing and `several`."""
    from eksauth.kubeconfig import files

    if several and not os.path.lexists(path):
        return False  # no lock either: taking one would create the file's folder
    if dry_run:
        return _migrate(path, shared_user=shared_user, dry_run=True, several=several)
    with files.locked(path):  # no concurrent writer's change is lost between read and write
        return _migrate(path, shared_user=shared_user, dry_run=False, several=several)


def _migrate(path: str, *, shared_user: str | None, dry_run: bool, several: bool) -> bool:
    from eksauth.errors import KubeconfigError
    from eksauth.kubeconfig import files
    from eksauth.kubeconfig.migrate import migrate

    text = files.read_text(path)
    if text is None and several:
        return False
    if text is None:
        raise KubeconfigError(f"no kubeconfig at {path}", hint="give --kubeconfig FILE")
    chosen = _exec_command()
    migration = migrate(files.parse(text, path), chosen.command)
    if shared_user is not None:
        from eksauth.kubeconfig.shared import share

        changed, skipped = share(migration.content, shared_user, chosen.command)
        migration.changed.extend(changed)
        migration.skipped.extend(skipped)
    backup = files.backup_path(path)
    if migration.changed and not dry_run:  # written first: a refusal is then the only line
        files.write_beside(backup, text.encode("utf-8"), kubeconfig=path)
        files.write_private(path, files.dump(migration.content).encode("utf-8"))
    for line in migration.skipped:
        warn(f"left {line}")
    for line in migration.changed:
        click.echo(f"{'would migrate' if dry_run else 'migrated'} {line}", err=True)
    if dry_run:  # several files: a YAML stream, one document per file, each named
        click.echo(f"---\n# {path}\n" if several else "", nl=False)
        click.echo(files.dump(migration.content), nl=False)
    elif not migration.changed:
        click.echo(f"nothing to migrate in {path}", err=True)
    else:
        click.echo(f"wrote {path} (the previous file is {backup})", err=True)
        _note(chosen)
    return True
