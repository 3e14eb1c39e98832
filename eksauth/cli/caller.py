"""The caller STS confirmed, as `verify` and `whoami` show it: the token replayed, aws-auth's
tables read (what EKS skips in them a warning), the identity printed, an unmapped one refused.

The library side is `replay.verify`, `awsauth.load_aws_auth` and `awsauth.map_caller`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

import click

from eksauth.cli.options import now, warn
from eksauth.errors import VerificationError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from eksauth.identity.aws_auth import AwsAuth, IdentityMapping
    from eksauth.identity.replay import CallerIdentity

_NOT_IN_AWS_AUTH = (
    "the cluster creator and EKS access entries can grant access that aws-auth does not show: "
    "see `aws eks list-access-entries --cluster-name NAME`"
)


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
    from eksauth.identity import aws_auth

    tables = aws_auth.load_aws_auth(text)
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
    from eksauth.identity import replay

    return replay.verify(
        bearer,
        cluster=cluster,
        now=now(ctx),
        sts_url=sts_url,
        log=log,
        timeout=timeout or replay.STS_TIMEOUT_SECONDS,
        profile=profile,
    )


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


def echo_table(rows: Sequence[tuple[str, object]]) -> None:
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        shown = "-" if value in (None, "") else value
        click.echo(f"{label + ':':<{width}} {shown}")
