"""`eksauth eks update-kubeconfig`: aws-cli's spelling and meaning, an eksauth exec.

The options are aws-cli's own, with aws-cli's meaning: `--role-arn` is the role tokens are
signed as (written into the user entry), `--assume-role-arn` a role assumed only to call
DescribeCluster (not written), `--proxy-url` written into the cluster entry. eksauth's own
`update-kubeconfig` takes the same options with the same meaning, plus its offline and node
options; an option aws-cli does not have is refused here with the list of those it does.
"""

from __future__ import annotations

from typing import Any

import click

from eksauth.cli.kubeconfig_one import (
    assume_role_arn_option,
    kubeconfig_option,
    proxy_url_option,
    update_kubeconfig,
)
from eksauth.cli.options import CONTEXT, profile_option, region_option

# aws eks update-kubeconfig's options (aws-cli v1 and v2), all of which this command takes.
AWS_OPTIONS = (
    "--name",
    "--region",
    "--profile",
    "--kubeconfig",
    "--role-arn",
    "--assume-role-arn",
    "--alias",
    "--user-alias",
    "--proxy-url",
    "--dry-run",
    "--verbose",
)
# eksauth's own update-kubeconfig options that aws-cli's spelling has no word for.
_EKSAUTH_ONLY = {
    "role_session_name": None,
    "forward_session_name": False,
    "kubelet": False,
    "endpoint": None,
    "ca_data": None,
    "ca_file": None,
    "shared_user": None,
}


class _AwsCommand(click.Command):
    """A command whose unknown options get one line naming the options aws-cli has."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            raise click.UsageError(
                f"{exc.option_name} is not an option of `aws eks update-kubeconfig` that "
                f"eksauth takes; it takes {', '.join(AWS_OPTIONS)}",
                ctx,
            ) from exc


@click.command("update-kubeconfig", cls=_AwsCommand, context_settings=CONTEXT)
@click.option("--name", required=True, metavar="NAME", help="The EKS cluster name.")
@region_option
@profile_option
@kubeconfig_option
@click.option("--role-arn", metavar="ARN", help="Sign tokens as this IAM role (written).")
@assume_role_arn_option
@click.option("--alias", metavar="NAME", help="Context name [default: the cluster ARN].")
@click.option("--user-alias", metavar="NAME", help="User name [default: the cluster ARN].")
@proxy_url_option
@click.option(
    "--dry-run", is_flag=True, default=False, help="Print the resulting YAML; write nothing."
)
@click.option("--verbose", is_flag=True, default=False, help="Print the entries written.")
@click.pass_context
def aws_update_kubeconfig_command(ctx: click.Context, /, **options: Any) -> None:
    """aws-cli's `eks update-kubeconfig`, writing an exec that runs eksauth."""
    update_kubeconfig(ctx, {**_EKSAUTH_ONLY, **options})
