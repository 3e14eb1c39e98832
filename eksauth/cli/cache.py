"""`cache path|list|clear`: inspect or clear the token cache.

The cache folder options are taken by the group and by every subcommand alike
(`eksauth cache list --cache-dir X` and `eksauth cache --cache-dir X list`).
"""

from __future__ import annotations

import json
from typing import Any

import click

from eksauth.cli.options import CONTEXT, cache_options, inherited, now, open_cache, with_options
from eksauth.errors import EksAuthError


@click.group("cache", context_settings=CONTEXT)
@with_options(cache_options)
def cache_group(cache_dir: str | None) -> None:
    """Inspect or clear the token cache."""


def _cache(ctx: click.Context, options: dict[str, Any]) -> Any:
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
    """List cached tokens (never the tokens themselves)."""
    from eksauth.api import list_cache

    rows = list_cache(_cache(ctx, options), now(ctx))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no cached tokens", err=True)
        return
    columns = ("cluster", "region", "profile", "role_arn", "expiration", "time_left")
    table = [[str(row[c] if row[c] is not None else "-") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row_text in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row_text, widths)).rstrip())


@cache_group.command("clear", context_settings=CONTEXT)
@with_options(cache_options)
@click.option("--cluster-name", "-c", metavar="NAME", help="Only the tokens of this cluster.")
@click.pass_context
def cache_clear(ctx: click.Context, /, cluster_name: str | None, **options: Any) -> None:
    """Delete cached tokens (and, without --cluster-name, cached role credentials)."""
    from eksauth.api import clear_cache

    removed = clear_cache(_cache(ctx, options), cluster_name)
    click.echo(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}", err=True)
