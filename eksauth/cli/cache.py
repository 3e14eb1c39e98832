"""`cache path|list|clear`: inspect or clear the token cache (and aws-cli's role sessions).

The cache folder options are taken by the group and by every subcommand alike
(`eksauth cache list --cache-dir X` and `eksauth cache --cache-dir X list`).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

from eksauth.cli.options import CONTEXT, cache_options, inherited, now, open_cache, with_options
from eksauth.errors import EksAuthError

if TYPE_CHECKING:
    from eksauth.cache import Cache


@click.group("cache", context_settings=CONTEXT)
@with_options(cache_options)
def cache_group(cache_dir: str | None) -> None:
    """Inspect or clear the token cache."""


def _cache(ctx: click.Context, options: dict[str, Any]) -> Cache:
    """The folder named on the subcommand, else on the group, else by the environment."""
    from click.core import ParameterSource

    value = options["cache_dir"]
    if ctx.get_parameter_source("cache_dir") is not ParameterSource.COMMANDLINE:
        value = inherited(ctx, "cache_dir", None) if ctx.parent else value
    return open_cache(value)


@cache_group.command("path", context_settings=CONTEXT)
@with_options(cache_options)
@click.pass_context
def cache_path(ctx: click.Context, /, **options: Any) -> None:
    """Print the cache folder."""
    folder = _cache(ctx, options).folder
    if folder is None:
        raise EksAuthError("no cache folder: no home folder and no --cache-dir")
    click.echo(folder)


@cache_group.command("list", context_settings=CONTEXT)
@with_options(cache_options)
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON.")
@click.pass_context
def cache_list(ctx: click.Context, /, as_json: bool, **options: Any) -> None:
    """List cached tokens and role sessions (never the tokens or keys themselves).

    Role sessions are those of role profiles, in aws-cli's cache (~/.aws/cli/cache), which
    eksauth shares with aws-cli on purpose.
    """
    from eksauth.inventory import list_cache, list_role_sessions

    rows = list_cache(_cache(ctx, options), now(ctx))
    sessions = list_role_sessions(os.environ, now(ctx))
    if as_json:
        listed = [{"kind": "token", **r} for r in rows]
        listed += [{"kind": "role-session", **r} for r in sessions]
        click.echo(json.dumps(listed, indent=2))
        return
    if not rows and not sessions:
        click.echo("no cached tokens", err=True)
        return
    if rows:
        _table(rows, ("cluster", "region", "profile", "role_arn", "expiration", "time_left"))
    if sessions:
        if rows:
            click.echo()
        _table(sessions, ("profile", "role_arn", "session", "expiration", "time_left"))


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    table = [[str(row[c] if row[c] is not None else "-") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row_text in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row_text, widths)).rstrip())


@cache_group.command("clear", context_settings=CONTEXT)
@with_options(cache_options)
@click.option("--cluster-name", "-c", metavar="NAME", help="Only the tokens of this cluster.")
@click.option(
    "--include-aws-cli",
    is_flag=True,
    default=False,
    help="Also delete the role sessions in aws-cli's cache (~/.aws/cli/cache).",
)
@click.pass_context
def cache_clear(
    ctx: click.Context, /, cluster_name: str | None, include_aws_cli: bool, **options: Any
) -> None:
    """Delete cached tokens (and, without --cluster-name, cached role credentials).

    aws-cli's cache is left alone unless --include-aws-cli is given.
    """
    from eksauth.inventory import clear_cache, clear_role_sessions

    if include_aws_cli and cluster_name is not None:
        raise click.UsageError("--include-aws-cli cannot be combined with --cluster-name")
    removed = clear_cache(_cache(ctx, options), cluster_name)
    if include_aws_cli:
        removed += clear_role_sessions(os.environ)
    click.echo(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}", err=True)
