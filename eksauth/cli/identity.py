"""`decode` and `verify`: what EKS sees in a token, and who it says you are (what `whoami`
shares with `verify` is `cli/caller.py`).

As everywhere, stdout carries only the answer; warnings and notes go to stderr, and a refusal
is one `eksauth: error:` line (exit 1) after the identity has been printed.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Callable

import click

from eksauth.cli.caller import echo_table, load_tables, replay_caller, show_aws_auth_answer
from eksauth.cli.options import (
    CONTEXT,
    logger,
    now,
    warn,
    with_options,
)
from eksauth.errors import UsageError, VerificationError
from eksauth.request import STS_URL_VARIABLE

if TYPE_CHECKING:
    from eksauth.token.bearer import PresignedUrl

_identity_options = [
    click.option(
        "--aws-auth",
        metavar="FILE",
        help="Map the identity through this aws-auth ConfigMap, as `kubectl get configmap "
        "aws-auth -n kube-system -o yaml` prints it, or just its data (- for stdin).",
    ),
    click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON."),
]


# -- decode --------------------------------------------------------------------------------------


@click.command("decode", context_settings=CONTEXT)
@click.argument("bearer", metavar="TOKEN")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON.")
@click.pass_context
def decode_command(ctx: click.Context, bearer: str, as_json: bool) -> None:
    """Show the presigned URL inside TOKEN and its parts, offline (- reads stdin)."""
    from eksauth.token import bearer as token

    moment = now(ctx)
    bearer = _token_arg(bearer)
    presigned = token.parse_presigned(token.decode(bearer))
    try:
        token.check_token(bearer, moment)
    except VerificationError as exc:  # decoding still answers; say what EKS would make of it
        warn(f"EKS would reject this token: {exc.one_line()}")
    fields = _decoded(presigned, moment)
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    left = fields["seconds_left"]
    accepted = "-" if left is None else f"{fields['expires_at']} ({_relative(left)})"
    echo_table(
        [
            ("url", fields["url"]),
            ("host", fields["host"]),
            ("region", fields["region"]),
            ("access key id", fields["access_key_id"]),
            ("signed at", fields["signed_at"]),
            ("X-Amz-Expires", fields["x_amz_expires"]),
            ("EKS accepts until", accepted),
            ("signed headers", ", ".join(fields["signed_headers"])),
            ("session token", "yes" if fields["session_token"] else "no"),
        ]
    )


def _decoded(presigned: PresignedUrl, now: float) -> dict[str, Any]:
    from eksauth.token import bearer as token

    signed_at = presigned.signed_at
    deadline = None if signed_at is None else signed_at + token.SERVER_ACCEPTS_SECONDS
    return {
        "url": presigned.url,
        "host": presigned.host,
        "region": presigned.region,
        "service": presigned.service,
        "action": presigned.param("Action"),
        "access_key_id": presigned.access_key_id,
        "signed_at": None if signed_at is None else token.rfc3339(signed_at),
        "x_amz_expires": presigned.expires,
        "expires_at": None if deadline is None else token.rfc3339(deadline),
        "seconds_left": None if deadline is None else int(deadline - now),
        "signed_headers": list(presigned.signed_headers),
        "session_token": presigned.has_session_token,
    }


def _relative(seconds: int) -> str:
    span = abs(seconds)
    if span < 3600:
        text = f"{span // 60}m{span % 60:02d}s"
    elif span < 86400:
        text = f"{span // 3600}h{span % 3600 // 60:02d}m"
    else:
        text = f"{span // 86400}d"
    return f"in {text}" if seconds >= 0 else f"expired {text} ago"


# -- verify --------------------------------------------------------------------------------------


@click.command("verify", context_settings=CONTEXT)
@click.argument("bearer", metavar="TOKEN")
@click.option("--cluster-name", "-c", metavar="NAME", help="The cluster the token must be for.")
@click.option("--cluster-id", "-i", metavar="ID", help="The cluster id (Outposts local clusters).")
@with_options(_identity_options)
@click.option(
    "--sts-url",
    envvar=STS_URL_VARIABLE,
    metavar="URL",
    help="Also accept tokens for this non-standard STS base URL [env: EKSAUTH_STS_URL].",
)
@click.option("-v", "--verbose", is_flag=True, default=False, help="Diagnostics on stderr.")
@click.pass_context
def verify_command(ctx: click.Context, /, bearer: str, **options: Any) -> None:
    """Check TOKEN as EKS does: its offline rules, then STS (- reads stdin).

    Exit 0 only when STS confirms the identity and, with --aws-auth, aws-auth maps it.
    """
    from eksauth.request import one_cluster

    cluster = one_cluster(options["cluster_name"], options["cluster_id"])
    if bearer == "-" and options["aws_auth"] == "-":
        raise UsageError("TOKEN and --aws-auth cannot both be read from stdin")
    _verify_and_show(
        ctx,
        _token_arg(bearer),
        cluster=cluster,
        sts_url=options["sts_url"] or None,
        aws_auth=options["aws_auth"],
        as_json=options["as_json"],
        region=None,
        profile=None,
        log=logger(options["verbose"]),
    )


# -- shared --------------------------------------------------------------------------------------


def _verify_and_show(
    ctx: click.Context,
    bearer: str,
    *,
    cluster: str,
    sts_url: str | None,
    aws_auth: str | None,
    as_json: bool,
    region: str | None,
    profile: str | None,
    log: Callable[[str], None],
) -> None:
    """Verify, map through aws-auth if given, print; a refusal raises after the identity."""
    from eksauth.identity.aws_auth import map_caller, read_source

    # Read aws-auth before any request: a bad file should fail without touching STS.
    tables = None if aws_auth is None else load_tables(read_source(aws_auth))
    caller = replay_caller(ctx, bearer, cluster=cluster, sts_url=sts_url, log=log)
    mapping = None if tables is None else map_caller(caller, tables, region, profile)
    show_aws_auth_answer(caller, mapping, as_json)


def _token_arg(value: str) -> str:
    return sys.stdin.read() if value == "-" else value
