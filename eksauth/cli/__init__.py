"""The click command line: options in, one library call, output out.

stdout carries only the answer (the ExecCredential, a token, a listing); everything else goes to
stderr. Errors are one line, `eksauth: error: …`, exit 2 for usage and 1 for the rest; with -v
it is followed by the error's causes, one `eksauth: caused by: …` line each (never a traceback
for an EksAuthError). Heavy modules are imported inside the commands that need them.

This package registers the commands of its modules (`token`, `cache`, `identity`, `whoami`,
`doctor`, `kubeconfig`, `awskubeconfig`, `sso`), which share `options` and helpers that define
no command (`kubeconfig_one`, `kubeconfig_all`, `caller`), and never import this module or one
another (tests/test_architecture.py).
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Sequence

import click

from eksauth import __version__
from eksauth.aws.cliargs import REFUSED
from eksauth.cli import awskubeconfig, cache, doctor, identity, kubeconfig, sso, token, whoami
from eksauth.cli.options import CONTEXT, aws_global_options, with_options
from eksauth.errors import EksAuthError, cause_lines


def run(args: Sequence[str], now: float | None = None) -> int:
    """Run the CLI on `args` and return the exit status (the fast path's fall-through)."""
    verbose = any(a in ("-v", "--verbose") for a in args)
    undecodable = next((a for a in args if _has_surrogates(a)), None)
    if undecodable is not None:  # bytes that are not UTF-8 (os.fsdecode's surrogateescape)
        _error_line(f"the argument {undecodable!r} is not valid UTF-8 text")
        return 2
    text_never_fails(sys.platform)
    stdout = sys.stdout
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
        return _failed(exc, verbose)
    except click.exceptions.Abort:
        _error_line("aborted")
        return 1
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        # click answers a broken stdout pipe itself: it wraps stdout and exits 1, silently.
        if sys.stdout is not stdout:
            from eksauth.stdio import stdout_failed

            return stdout_failed(BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)))
        raise
    except OSError as exc:
        from eksauth.stdio import is_stdout_failure, stdout_failed

        if not is_stdout_failure(exc):
            raise
        return stdout_failed(exc)
    return int(result or 0)


def text_never_fails(platform: str) -> None:
    """On Windows a pipe is written in the ANSI code page (cp1252), which lacks characters
    eksauth prints (doctor's `→`, a cluster's name): there they become `?`, not a traceback."""
    if platform != "win32":
        return
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _failed(exc: EksAuthError, verbose: bool) -> int:
    """The error line; with -v, then the causes that led to it (`cause_lines`)."""
    _error_line(exc.one_line())
    for line in cause_lines(exc) if verbose else ():
        click.echo(f"eksauth: {line}", err=True)
    return exc.exit_code


def _error_line(message: str) -> None:
    # One line whatever the message holds: click's own (a Choice's list, an argument that is a
    # newline) may span several.
    click.echo(f"eksauth: error: {' '.join(message.split())}", err=True)


def _help_of(exc: click.UsageError) -> str:
    path = exc.ctx.command_path if exc.ctx is not None else "eksauth"
    return f"{path} --help"


def _no_such_option(exc: click.exceptions.NoSuchOption) -> str:
    if exc.option_name == "--assume-role-arn":
        return (
            "--assume-role-arn is update-kubeconfig's role for DescribeCluster, not for tokens "
            "(aws eks get-token has no such option); to sign the token as a role, give --role-arn"
        )
    if exc.option_name in REFUSED:
        return (
            f"the aws global option {exc.option_name} is not supported by eksauth "
            "(remove it from the kubeconfig args; use -v for diagnostics)"
        )
    return f"{exc.format_message()} (see `{_help_of(exc)}`)"


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="eksauth")
@with_options(aws_global_options)
def main(region: str | None, profile: str | None, output: str | None) -> None:
    """Fast, cached EKS bearer tokens: a drop-in replacement for `aws eks get-token`.

    In a kubeconfig `exec` entry, use `command: eksauth` with `args: [token, --cluster-name,
    NAME, --region, REGION]`; an entry written by `aws eks update-kubeconfig` also works
    after replacing `command: aws` with `command: eksauth`.
    """


@main.group("eks", hidden=True, context_settings=CONTEXT)
@with_options(aws_global_options)
def eks_group(region: str | None, profile: str | None, output: str | None) -> None:
    """aws-cli compatibility: `eksauth [globals] eks get-token|update-kubeconfig …`."""


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


# -- registration --------------------------------------------------------------------------------

main.add_command(token.token_command)
main.add_command(token.get_token_command)
eks_group.add_command(token.get_token_command)
eks_group.add_command(awskubeconfig.aws_update_kubeconfig_command)
main.add_command(cache.cache_group)
for _command in (identity.decode_command, identity.verify_command, whoami.whoami_command):
    main.add_command(_command)
main.add_command(doctor.doctor_command)
for _command in (kubeconfig.update_kubeconfig_command, kubeconfig.migrate_kubeconfig_command):
    main.add_command(_command)
main.add_command(sso.sso_group)
