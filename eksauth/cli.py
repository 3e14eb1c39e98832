"""The click command line: options in, one library call, output out.

stdout carries only the answer (the ExecCredential, a token, a listing); everything else goes to
stderr. Errors are one line, `eksauth: error: …`, exit 2 for usage and 1 for the rest; a
traceback only with -v. Heavy modules are imported inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

import click

from eksauth import __version__
from eksauth.errors import EksAuthError
from eksauth.execcred import V1, V1ALPHA1, V1BETA1

if TYPE_CHECKING:
    from eksauth.api import IssuedToken
    from eksauth.request import TokenRequest

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# aws-cli global options that an `aws … eks get-token` kubeconfig might carry, and that eksauth
# deliberately does not take: naming them makes the usage error say why.
AWS_GLOBALS = frozenset(
    {
        "--debug",
        "--endpoint-url",
        "--no-verify-ssl",
        "--no-paginate",
        "--query",
        "--color",
        "--no-sign-request",
        "--ca-bundle",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
        "--no-cli-pager",
        "--cli-auto-prompt",
        "--no-cli-auto-prompt",
    }
)


def run(args: Sequence[str], now: float | None = None) -> int:
    """Run the CLI on `args` and return the exit status (the fast path's fall-through)."""
    verbose = any(a in ("-v", "--verbose") for a in args)
    try:
        result = main.main(
            args=list(args),
            prog_name="eksauth",
            standalone_mode=False,
            obj={"now": time.time() if now is None else now},
        )
    except click.exceptions.NoSuchOption as exc:
        _error_line(_no_such_option(exc))
        return 2
    except click.UsageError as exc:
        _error_line(f"{exc.format_message()} (see `{_help_of(exc)}`)")
        return 2
    except click.ClickException as exc:
        _error_line(exc.format_message())
        return exc.exit_code
    except EksAuthError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        _error_line(exc.one_line())
        return exc.exit_code
    except click.exceptions.Abort:
        _error_line("aborted")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    return int(result or 0)


def _error_line(message: str) -> None:
    click.echo(f"eksauth: error: {message}", err=True)


def _help_of(exc: click.UsageError) -> str:
    path = exc.ctx.command_path if exc.ctx is not None else "eksauth"
    return f"{path} --help"


def _no_such_option(exc: click.exceptions.NoSuchOption) -> str:
    if exc.option_name in AWS_GLOBALS:
        return (
            f"the aws global option {exc.option_name} is not supported by eksauth "
            "(remove it from the kubeconfig args; use -v for diagnostics)"
        )
    return f"{exc.format_message()} (see `{_help_of(exc)}`)"


def _warn(message: str) -> None:
    click.echo(f"eksauth: warning: {message}", err=True)


def _logger(verbose: bool) -> Callable[[str], None]:
    if not verbose:
        return lambda _: None
    return lambda message: click.echo(f"eksauth: {message}", err=True)


def _now(ctx: click.Context) -> float:
    obj = ctx.find_root().obj
    return float(obj["now"]) if isinstance(obj, dict) and "now" in obj else time.time()


def _inherited(ctx: click.Context, name: str, value: Any) -> Any:
    """A command's own option value, else the one given before the command (aws-cli style)."""
    if value is not None:
        return value
    parent = ctx.parent
    while parent is not None:
        if parent.params.get(name) is not None:
            return parent.params[name]
        parent = parent.parent
    return None


# -- the group -----------------------------------------------------------------------------------


def _complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Profile names from the AWS config and credentials files, as botocore would find them."""
    import configparser

    from eksauth.cache import aws_files

    names: set[str] = set()
    for path in aws_files(os.environ):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except configparser.Error:
            continue
        for section in parser.sections():
            name = section[len("profile ") :] if section.startswith("profile ") else section
            if not section.startswith(("sso-session ", "services ")):
                names.add(name.strip())
    return sorted(n for n in names if n.startswith(incomplete))


def _complete_regions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Every region botocore knows for STS, in every partition."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("sts", partition))
    return sorted(r for r in regions if r.startswith(incomplete))


_region_option: Callable[[Any], Any] = click.option(
    "--region", metavar="REGION", shell_complete=_complete_regions, help="AWS region."
)
_profile_option: Callable[[Any], Any] = click.option(
    "--profile", metavar="PROFILE", shell_complete=_complete_profiles, help="AWS profile."
)

_aws_global_options = [
    _region_option,
    _profile_option,
    click.option(
        "--output",
        type=click.Choice(["json", "token"]),
        help="json: the ExecCredential (default); token: the bare token.",
    ),
]


def _with(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def apply(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f

    return apply


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="eksauth")
@_with(_aws_global_options)
def main(region: str | None, profile: str | None, output: str | None) -> None:
    """Fast, cached EKS bearer tokens: a drop-in replacement for `aws eks get-token`.

    In a kubeconfig `exec` entry, use `command: eksauth` with `args: [token, --cluster-name,
    NAME, --region, REGION]`; an entry written by `aws eks update-kubeconfig` also works
    after replacing `command: aws` with `command: eksauth`.
    """


# -- token ---------------------------------------------------------------------------------------

_token_options: list[Callable[[Any], Any]] = [
    click.option("--cluster-name", "-c", metavar="NAME", help="The EKS cluster name."),
    click.option(
        "--cluster-id", "-i", metavar="ID", help="The cluster id (Outposts local clusters)."
    ),
    _region_option,
    _profile_option,
    click.option(
        "--role-arn", "--role", "-r", metavar="ARN", help="Assume this IAM role to sign the token."
    ),
    click.option(
        "--role-session-name",
        "--session-name",
        "-s",
        metavar="NAME",
        help="Session name for --role-arn (default EKSGetTokenAuth).",
    ),
    click.option("--external-id", "-e", metavar="ID", help="External id for --role-arn."),
    click.option(
        "--role-duration",
        type=int,
        metavar="SECONDS",
        help="Lifetime of the assumed-role session, 900-43200 (default: the role's).",
    ),
    click.option(
        "--forward-session-name",
        is_flag=True,
        default=False,
        help="Assume the role with the caller's own session name (e.g. the instance id).",
    ),
    click.option(
        "--output",
        type=click.Choice(["json", "token"]),
        help="json: the ExecCredential (default); token: the bare token.",
    ),
    click.option("--token-only", is_flag=True, default=False, help="Same as --output token."),
    click.option(
        "--sts-url",
        envvar="EKSAUTH_STS_URL",
        metavar="URL",
        help="Sign for this STS base URL instead of the standard host [env: EKSAUTH_STS_URL].",
    ),
    click.option(
        "--api-version",
        type=click.Choice([V1, V1BETA1, V1ALPHA1]),
        help="Answer this apiVersion instead of negotiating it from KUBERNETES_EXEC_INFO.",
    ),
    click.option(
        "--cache-dir",
        envvar="EKSAUTH_CACHE_DIR",
        metavar="DIR",
        help="Cache folder [env: EKSAUTH_CACHE_DIR; default: the user cache folder].",
    ),
    click.option(
        "--no-cache", is_flag=True, default=False, help="Neither read nor write the cache."
    ),
    click.option("--refresh", is_flag=True, default=False, help="Sign a new token and cache it."),
    click.option("-v", "--verbose", is_flag=True, default=False, help="Diagnostics on stderr."),
]


@main.command("token", context_settings=CONTEXT)
@_with(_token_options)
@click.pass_context
def token_command(ctx: click.Context, /, **options: Any) -> None:
    """Print an ExecCredential with a bearer token for an EKS cluster (alias: get-token)."""
    from eksauth.execcred import exec_credential, read_exec_info

    info = read_exec_info(os.environ, options["api_version"])
    if info.warning:
        _warn(info.warning)
    issued = issue_token(ctx, _token_request(ctx, options), options, info.interactive)
    output = _inherited(ctx, "output", options["output"])
    if options["token_only"] or output == "token":
        click.echo(issued.token)
    else:
        click.echo(exec_credential(info.api_version, issued.token, issued.expiration), nl=False)


def issue_token(
    ctx: click.Context, request: TokenRequest, options: dict[str, Any], exec_interactive: bool
) -> IssuedToken:
    """The library call behind `token` and `whoami`, with the cache options applied."""
    from eksauth import api
    from eksauth.cache import Cache, resolve_cache_dir

    env = os.environ
    # Prompt (MFA) only when kubectl says we may, or when a person runs us in a terminal.
    interactive = exec_interactive if env.get("KUBERNETES_EXEC_INFO") else sys.stdin.isatty()
    return api.get_token(
        request,
        env=env,
        now=_now(ctx),
        cache=Cache(resolve_cache_dir(options["cache_dir"], env), _warn),
        use_cache=not options["no_cache"],
        refresh=options["refresh"],
        interactive=interactive,
        log=_logger(options["verbose"]),
    )


def _token_request(ctx: click.Context, options: dict[str, Any]) -> TokenRequest:
    from eksauth.request import make_request

    return make_request(
        cluster_name=options["cluster_name"],
        cluster_id=options["cluster_id"],
        region=_inherited(ctx, "region", options["region"]),
        profile=_inherited(ctx, "profile", options["profile"]),
        role_arn=options["role_arn"],
        session_name=options["role_session_name"],
        external_id=options["external_id"],
        role_duration=options["role_duration"],
        forward_session_name=options["forward_session_name"],
        sts_url=options["sts_url"] or None,
    )


# `get-token` is the same command under aws-cli's name; hidden so help lists it once.
main.add_command(
    click.Command(
        "get-token",
        callback=token_command.callback,
        params=token_command.params,
        help=token_command.help,
        hidden=True,
        context_settings=CONTEXT,
    )
)


@main.group("eks", hidden=True, context_settings=CONTEXT)
@_with(_aws_global_options)
def eks_group(region: str | None, profile: str | None, output: str | None) -> None:
    """aws-cli compatibility: `eksauth [globals] eks get-token …`."""


eks_group.add_command(main.commands["get-token"])


# -- cache ---------------------------------------------------------------------------------------


@main.group("cache", context_settings=CONTEXT)
@click.option(
    "--cache-dir",
    envvar="EKSAUTH_CACHE_DIR",
    metavar="DIR",
    help="Cache folder [env: EKSAUTH_CACHE_DIR].",
)
@click.pass_context
def cache_group(ctx: click.Context, cache_dir: str | None) -> None:
    """Inspect or clear the token cache."""
    from eksauth.cache import Cache, resolve_cache_dir

    ctx.obj = {**(ctx.obj or {}), "cache": Cache(resolve_cache_dir(cache_dir, os.environ), _warn)}


@cache_group.command("path")
@click.pass_context
def cache_path(ctx: click.Context) -> None:
    """Print the cache folder."""
    folder = ctx.obj["cache"].folder
    if folder is None:
        raise EksAuthError("no cache folder: no home folder and no --cache-dir")
    click.echo(folder)


@cache_group.command("list")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON.")
@click.pass_context
def cache_list(ctx: click.Context, as_json: bool) -> None:
    """List cached tokens (never the tokens themselves)."""
    from eksauth.api import list_cache

    rows = list_cache(ctx.obj["cache"], _now(ctx))
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


@cache_group.command("clear")
@click.option("--cluster-name", "-c", metavar="NAME", help="Only the tokens of this cluster.")
@click.pass_context
def cache_clear(ctx: click.Context, cluster_name: str | None) -> None:
    """Delete cached tokens (and, without --cluster-name, cached role credentials)."""
    from eksauth.api import clear_cache

    removed = clear_cache(ctx.obj["cache"], cluster_name)
    click.echo(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}", err=True)


# -- completion ----------------------------------------------------------------------------------

SHELLS = ("bash", "zsh", "fish")


@main.command("completion", context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the shell completion script (also in completions/ of the source tree).

    \b
    bash: eksauth completion bash > ~/.local/share/bash-completion/completions/eksauth
    zsh:  eksauth completion zsh > "${fpath[1]}/_eksauth"
    fish: eksauth completion fish > ~/.config/fish/completions/eksauth.fish
    """
    click.echo(completion_script(shell), nl=False)


def completion_script(shell: str) -> str:
    """The script click generates for `shell`, as committed in completions/."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are all click's own
        raise EksAuthError(f"no completion support for {shell}")
    return cls(main, {}, "eksauth", "_EKSAUTH_COMPLETE").source() + "\n"


from eksauth.cli_identity import decode_command, verify_command, whoami_command  # noqa: E402

for _command in (decode_command, verify_command, whoami_command):
    main.add_command(_command)

from eksauth.cli_kubeconfig import migrate_kubeconfig_command, update_kubeconfig_command  # noqa: E402

for _command in (update_kubeconfig_command, migrate_kubeconfig_command):
    main.add_command(_command)
