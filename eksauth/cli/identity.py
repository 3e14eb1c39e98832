"""`decode` and `verify`: what EKS sees in a token, and who it says you are (and the helpers
`whoami` shares).

As everywhere, stdout carries
only the answer; warnings and notes go to stderr, and a refusal is one `eksauth: error:` line
(exit 1) after the identity has been printed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

import click

from eksauth.cli.options import (
    CONTEXT,
    logger,
    now,
    warn,
    with_options,
)
from eksauth.errors import EksAuthError, UsageError, VerificationError
from eksauth.request import STS_URL_VARIABLE

if TYPE_CHECKING:
    from eksauth.awsauth import AwsAuth, IdentityMapping
    from eksauth.replay import CallerIdentity
    from eksauth.token import PresignedUrl

_NOT_IN_AWS_AUTH = (
    "the cluster creator and EKS access entries can grant access that aws-auth does not show: "
    "see `aws eks list-access-entries --cluster-name NAME`"
)

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
    from eksauth import token

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
    from eksauth import token

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
    # Read aws-auth before any request: a bad file should fail without touching STS.
    tables = None if aws_auth is None else load_tables(read_file(aws_auth))
    caller = replay_caller(ctx, bearer, cluster=cluster, sts_url=sts_url, log=log)
    mapping = None if tables is None else map_caller(caller, tables, region, profile)
    show_aws_auth_answer(caller, mapping, as_json)


def show_aws_auth_answer(
    caller: CallerIdentity,
    mapping: IdentityMapping | None,
    as_json: bool,
    *,
    unmapped_fails: bool = True,
) -> None:
    """The identity and what aws-auth makes of it; an unmapped identity raises after it
    (unless the caller has another error to raise)."""
    for note in mapping.notes if mapping else ():
        warn(note)
    _show(caller, mapping, as_json)
    if unmapped_fails and mapping is not None and mapping.username is None:
        hint = _NOT_IN_AWS_AUTH if mapping.source is None else None
        raise VerificationError(mapping.reason or "aws-auth does not map the identity", hint)


def load_tables(text: str) -> AwsAuth:
    """aws-auth's tables; what EKS skips in them is a warning."""
    from eksauth import awsauth

    tables = awsauth.load_aws_auth(text)
    for problem in tables.problems:
        warn(f"aws-auth: {problem}")
    return tables


def replay_caller(
    ctx: click.Context,
    bearer: str,
    *,
    cluster: str,
    sts_url: str | None,
    log: Callable[[str], None],
    timeout: float | None = None,
    profile: str | None = None,
) -> CallerIdentity:
    """STS's answer for the token; `profile` (when known) is named in a refusal's hint."""
    from eksauth import replay

    return replay.verify(
        bearer,
        cluster=cluster,
        now=now(ctx),
        sts_url=sts_url,
        log=log,
        timeout=timeout or replay.STS_TIMEOUT_SECONDS,
        profile=profile,
    )


def map_caller(
    caller: CallerIdentity, tables: AwsAuth, region: str | None, profile: str | None
) -> IdentityMapping:
    """aws-auth's answer for `caller`, asking EC2 for {{EC2PrivateDNSName}} when needed."""
    from eksauth import awsauth

    def resolve(instance_id: str) -> str:
        # {{EC2PrivateDNSName}}: ask EC2 with the caller's profile, in the region given
        # (flag, then the environment's) or else the token's.
        from eksauth import aws, awscalls

        ec2_region = aws.region(region, os.environ, None) or caller.region
        return awscalls.ec2_private_dns_name(instance_id, region_name=ec2_region, profile=profile)

    return awsauth.map_identity(caller, tables, resolve_dns=resolve)


def identity_fields(caller: CallerIdentity) -> dict[str, Any]:
    return {
        "arn": caller.arn,
        "canonical_arn": caller.canonical_arn,
        "account": caller.account,
        "user_id": caller.user_id,
        "session_name": caller.session_name,
        "access_key_id": caller.access_key_id,
    }


def _show(caller: CallerIdentity, mapping: IdentityMapping | None, as_json: bool) -> None:
    fields = identity_fields(caller)
    if mapping is not None:
        fields["mapped"] = mapping.username is not None
        if mapping.username is not None:
            fields.update(
                username=mapping.username, groups=list(mapping.groups), mapped_by=mapping.mapped_by
            )
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    rows = [(name.replace("_", " "), value) for name, value in fields.items() if name != "mapped"]
    echo_table([(k, ", ".join(v) if isinstance(v, list) else v) for k, v in rows])


def echo_table(rows: list[tuple[str, Any]]) -> None:
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        shown = "-" if value in (None, "") else value
        click.echo(f"{label + ':':<{width}} {shown}")


def _token_arg(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def read_file(path: str) -> str:
    """An --aws-auth file, read like a kubeconfig (`boundedread`); `-` is stdin, bounded too."""
    from eksauth.boundedread import MAX_BYTES, read_text

    if path == "-":
        text = sys.stdin.read(MAX_BYTES + 1)
        if len(text) > MAX_BYTES:
            raise EksAuthError(
                f"the aws-auth ConfigMap on stdin is larger than {MAX_BYTES >> 20} MiB"
            )
        return text
    found = read_text(path, what="the aws-auth file")
    if found is None:
        raise EksAuthError(f"cannot read the aws-auth file {path}: it does not exist")
    return found
