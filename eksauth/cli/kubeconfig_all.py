"""`update-kubeconfig --all`: its options, their checks, and the plan printed.

The work is `kubeconfig.everything.update_all`. stdout carries only the plan of --dry-run (or
the JSON of --json); the summary is one block on stderr; the live progress line is drawn on
stderr only when stderr is a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from eksauth.cli.options import _complete_profiles, _complete_regions
from eksauth.errors import UsageError

if TYPE_CHECKING:
    from eksauth.cli.options import Decorator
    from eksauth.kubeconfig.everything import Plan
    from eksauth.kubeconfig.survey import Progress

DEFAULT_TIMEOUT = 60.0

regions_option: Decorator = click.option(
    "--region",
    multiple=True,
    metavar="REGION",
    shell_complete=_complete_regions,
    help="AWS region; with --all it may repeat.",
)
profiles_option: Decorator = click.option(
    "--profile",
    multiple=True,
    metavar="PROFILE",
    shell_complete=_complete_profiles,
    help="AWS profile; with --all it may repeat (one account or role each).",
)
all_options: list[Decorator] = [
    click.option(
        "--all",
        "all_clusters",
        is_flag=True,
        default=False,
        help="Add every cluster each --profile can list in each --region, in the shared form.",
    ),
    click.option(
        "--all-regions",
        is_flag=True,
        default=False,
        help="With --all: every region enabled for the account (EC2 DescribeRegions).",
    ),
    click.option(
        "--prune",
        is_flag=True,
        default=False,
        help="With --all: remove what an earlier --all wrote for clusters that are gone.",
    ),
    click.option("--set-context", metavar="NAME", help="With --all: make NAME current."),
    click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        metavar="SECONDS",
        help=f"With --all: the whole run's deadline [default: {DEFAULT_TIMEOUT:g}].",
    ),
    click.option(
        "--json", "as_json", is_flag=True, default=False, help="With --all: print the plan as JSON."
    ),
]
_ALL_ONLY = {
    "all_regions": "--all-regions",
    "prune": "--prune",
    "set_context": "--set-context",
    "timeout": "--timeout",
    "as_json": "--json",
}
# What `single` takes out before update-kubeconfig's one-cluster body runs.
ALL_PARAMS = frozenset({"all_clusters", *_ALL_ONLY})
_EXCLUDED = {
    "name": "--name",
    "endpoint": "--endpoint",
    "ca_data": "--ca-data",
    "ca_file": "--ca-file",
    "kubelet": "--kubelet",
    "forward_session_name": "--forward-session-name",
    "assume_role_arn": "--assume-role-arn",
    "proxy_url": "--proxy-url",
}


def single(ctx: click.Context, options: dict[str, Any]) -> dict[str, Any]:
    """update-kubeconfig's options for one cluster: none of --all's, one region, one profile."""
    for key, flag in _ALL_ONLY.items():
        if options[key] not in (None, False):
            raise UsageError(f"{flag} needs --all")
    if options["name"] is None:
        raise click.UsageError("Missing option '--name' (or --all for every cluster)", ctx)
    rest = {k: v for k, v in options.items() if k not in ALL_PARAMS}
    for key in ("region", "profile"):  # given twice, the last wins, as before (and in aws-cli)
        rest[key] = options[key][-1] if options[key] else None
    return rest


def update_all(ctx: click.Context, options: dict[str, Any]) -> int:
    """Write every cluster; exit 0 when every region answered, 1 when some failed."""
    from eksauth.aws.boundary import profile_name
    from eksauth.kubeconfig import everything, files
    from eksauth.kubeconfig.command import exec_command
    from eksauth.kubeconfig.entries import UserOptions
    from eksauth.kubeconfig.naming import DEFAULT_ALIAS, check_template
    from eksauth.kubeconfig.shared import DEFAULT_USER

    for key, flag in _EXCLUDED.items():
        if options[key] not in (None, False):
            raise UsageError(f"--all excludes {flag}")
    regions = tuple(dict.fromkeys(options["region"])) or _given(ctx, "region")
    if options["all_regions"] and regions:
        raise UsageError("--all-regions excludes --region")
    alias = options["alias"] or DEFAULT_ALIAS
    check_template(alias, "--alias")
    if options["user_alias"] is not None:
        check_template(options["user_alias"], "--user-alias")
    given = tuple(dict.fromkeys(options["profile"])) or _given(ctx, "profile") or (None,)
    profiles = tuple(dict.fromkeys(profile_name(p, os.environ) for p in given))
    if any(p is not None and not p.strip() for p in given):
        raise UsageError("--profile must not be empty")
    UserOptions(role_arn=options["role_arn"], session_name=options["role_session_name"]).request(
        "any"
    )  # a malformed --role-arn is refused before any call
    everything.check_regions(regions)
    chosen = exec_command()
    request = everything.AllRequest(
        path=files.expand(options["kubeconfig"] or files.default_path(os.environ)),
        profiles=profiles,
        regions=regions,
        all_regions=options["all_regions"],
        role_arn=options["role_arn"],
        session_name=options["role_session_name"],
        command=chosen.command,
        alias=alias,
        user_alias=options["user_alias"],
        shared_user=options["shared_user"] or DEFAULT_USER,
        prune=options["prune"],
        set_context=options["set_context"],
        dry_run=options["dry_run"],
        timeout=options["timeout"] or DEFAULT_TIMEOUT,
    )
    live = _Live() if sys.stderr.isatty() else None
    try:
        plan = everything.update_all(request, progress=live)
    finally:
        if live is not None:
            live.clear()
    if options["as_json"]:
        click.echo(json.dumps(plan.to_json(), indent=2))
    elif options["dry_run"] or options["verbose"]:
        click.echo("\n".join(_plan_lines(plan)), err=not options["dry_run"])
    click.echo("\n".join(summary(plan)), err=True)
    if plan.written and chosen.note:
        click.echo(f"eksauth: note: {chosen.note}", err=True)
    return 1 if plan.failures else 0


def _given(ctx: click.Context, name: str) -> tuple[Any, ...]:
    """A global option given before the command (`eksauth --region R update-kubeconfig`)."""
    from eksauth.cli.options import inherited

    value = inherited(ctx, name, None)  # the command's own tuple is not looked at
    return (value,) if value is not None else ()


def _plan_lines(plan: Plan) -> list[str]:
    lines = [f"{c.action:<9} {c.kind:<7} {c.name}" for c in plan.changes]
    lines += [f"failed    {f.line()}" for f in plan.failures]
    lines += [f"skipped   {line}" for line in plan.skipped]
    return lines


def summary(plan: Plan) -> list[str]:
    """The block on stderr: what was found, what was (or would be) written, what failed."""
    contexts = sum(1 for c in plan.changes if c.kind == "context" and c.action != "pruned")
    head = f"eksauth: {_count(contexts, 'cluster')} from {plan.regions_answered} of"
    head += f" {_count(plan.regions_total, 'region')}"
    if plan.failures:
        head += f"; {len(plan.failures)} failed"
    counts = []
    for kind in ("context", "cluster", "user"):
        numbers = [
            f"{n} {action}"
            for action in ("added", "changed", "unchanged", "pruned")
            if (n := len(plan.names(action, kind)))
        ]
        if numbers:
            counts.append(f"{kind}s {', '.join(numbers)}")
    if plan.written:
        verb = "wrote"
    elif plan.dry_run and plan.modified:
        verb = "would write"
    else:
        verb = "nothing to change in"
    lines = [head, f"  {verb} {plan.path}" + (f": {'; '.join(counts)}" if counts else "")]
    lines += [f"  failed: {f.line()}" for f in plan.failures]
    lines += [f"  skipped (not ACTIVE): {line}" for line in plan.skipped]
    lines += [f"  note: {line}" for line in plan.notes]
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


class _Live:
    """The one progress line, redrawn in place on a terminal's stderr."""

    def __call__(self, progress: Progress) -> None:
        sys.stderr.write(f"\r\x1b[K{progress.line()}")
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
