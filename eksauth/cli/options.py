"""What the command modules share: options, output helpers, the clock, and the token request.

Command modules import this module, never the package that registers them (`cli/__init__`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable

import click

from eksauth.execcred import V1, V1ALPHA1, V1BETA1
from eksauth.request import STS_URL_VARIABLE

if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    from eksauth.cache import Cache
    from eksauth.kubeconfig.inputs import Resolved
    from eksauth.lookup import IssuedToken
    from eksauth.request import TokenRequest

    F = TypeVar("F", bound=Callable[..., Any])

    class Decorator(Protocol):
        """What click.option() gives: a function decorator handing back what it was given."""

        def __call__(self, f: F, /) -> F: ...


CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def warn(message: str) -> None:
    click.echo(f"eksauth: warning: {message}", err=True)


def say(message: str) -> None:
    """A line for the person at the terminal (sign-in instructions), on stderr."""
    click.echo(f"eksauth: {message}", err=True)


def logger(verbose: bool) -> Callable[[str], None]:
    if not verbose:
        return lambda _: None
    return lambda message: click.echo(f"eksauth: {message}", err=True)


def now(ctx: click.Context) -> float:
    """This run's single clock reading, taken by the entry point."""
    obj = ctx.find_root().obj
    return float(obj["now"]) if isinstance(obj, dict) and "now" in obj else time.time()


def inherited(ctx: click.Context, name: str, value: Any) -> Any:
    """A command's own option value, else the one given before the command (aws-cli style)."""
    if value is not None:
        return value
    parent = ctx.parent
    while parent is not None:
        if parent.params.get(name) is not None:
            return parent.params[name]
        parent = parent.parent
    return None


def with_options(options: list[Decorator]) -> Decorator:
    def apply(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return apply


# -- completion of values ------------------------------------------------------------------------


def _complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Profile names from the AWS config and credentials files, as botocore would find them."""
    import configparser

    from eksauth.lookup import aws_files

    names: set[str] = set()
    for path in aws_files(os.environ):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in parser.sections():
            name = section[len("profile ") :] if section.startswith("profile ") else section
            if not section.startswith(("sso-session ", "services ")):
                names.add(name.strip())
    return sorted(n for n in names if n.startswith(incomplete))


def _complete_regions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from eksauth.aws.boundary import sts_regions

    return [r for r in sts_regions() if r.startswith(incomplete)]


# -- options -------------------------------------------------------------------------------------

region_option: Decorator = click.option(
    "--region", metavar="REGION", shell_complete=_complete_regions, help="AWS region."
)
profile_option: Decorator = click.option(
    "--profile", metavar="PROFILE", shell_complete=_complete_profiles, help="AWS profile."
)
output_option: Decorator = click.option(
    "--output",
    type=click.Choice(["json", "token"]),
    help="json: the ExecCredential (default); token: the bare token.",
)
verbose_option: Decorator = click.option(
    "-v", "--verbose", is_flag=True, default=False, help="Diagnostics on stderr."
)
# The aws-cli global options eksauth takes before a command (`eksauth --region R eks get-token`).
aws_global_options: list[Decorator] = [region_option, profile_option, output_option]

cache_options: list[Decorator] = [
    click.option(
        "--cache-dir",
        envvar="EKSAUTH_CACHE_DIR",
        metavar="DIR",
        help="Cache folder [env: EKSAUTH_CACHE_DIR; default: the user cache folder].",
    ),
]

token_options: list[Decorator] = [
    click.option("--cluster-name", "-c", metavar="NAME", help="The EKS cluster name."),
    click.option(
        "--cluster-id", "-i", metavar="ID", help="The cluster id (Outposts local clusters)."
    ),
    region_option,
    profile_option,
    click.option(
        "--role-arn", "--role", "-r", metavar="ARN", help="Assume this IAM role to sign the token."
    ),
    click.option(
        "--role-session-name",
        "--session-name",
        "-s",
        "session_name",
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
    output_option,
    click.option("--token-only", is_flag=True, default=False, help="Same as --output token."),
    click.option(
        "--sts-url",
        envvar=STS_URL_VARIABLE,
        metavar="URL",
        help="Sign for this STS base URL instead of the standard host [env: EKSAUTH_STS_URL].",
    ),
    click.option(
        "--api-version",
        type=click.Choice([V1, V1BETA1, V1ALPHA1]),
        help="Answer this apiVersion instead of negotiating it from KUBERNETES_EXEC_INFO.",
    ),
    *cache_options,
    click.option(
        "--no-cache", is_flag=True, default=False, help="Neither read nor write the cache."
    ),
    click.option("--refresh", is_flag=True, default=False, help="Sign a new token and cache it."),
    verbose_option,
]


# -- the token request ---------------------------------------------------------------------------


def token_request(ctx: click.Context, options: dict[str, Any]) -> TokenRequest:
    """The validated request of the `token` options (globals given before the command too),
    completed from the cluster's exec extension when no cluster is given (provideClusterInfo)."""
    from eksauth.request import request_with_extension

    values = dict(options)
    values["region"] = inherited(ctx, "region", options.get("region"))
    values["profile"] = inherited(ctx, "profile", options.get("profile"))
    log = logger(bool(options.get("verbose")))
    return request_with_extension(values, os.environ, log=log, check_region=True)


def open_cache(option: str | None) -> Cache:
    from eksauth.cache import Cache, resolve_cache_dir

    return Cache(resolve_cache_dir(option, os.environ), warn)


def issue_token(
    ctx: click.Context, request: TokenRequest, options: dict[str, Any], exec_interactive: bool
) -> IssuedToken:
    """The library call behind `token` and `whoami`, with the cache options applied."""
    from eksauth import orchestrator

    env = os.environ
    # Prompt (MFA) or sign in to IAM Identity Center only when kubectl says we may, or when a
    # person runs us in a terminal.
    interactive = exec_interactive if env.get("KUBERNETES_EXEC_INFO") else sys.stdin.isatty()
    return orchestrator.get_token(
        request,
        env=env,
        now=now(ctx),
        cache=open_cache(options["cache_dir"]),
        use_cache=not options["no_cache"],
        refresh=options["refresh"],
        interactive=interactive,
        log=logger(options["verbose"]),
        say=say if interactive else None,
    )


# -- the explaining commands (doctor, whoami): the kubeconfig as kubectl reads it ----------------

explain_options: list[Decorator] = [
    click.option(
        "--kubeconfig",
        metavar="FILE",
        help="The kubeconfig (default: KUBECONFIG's files merged as kubectl merges them).",
    ),
    click.option(
        "--context",
        "kube_context",
        metavar="NAME",
        help="The kubeconfig context [default: the current one, or the one for --cluster-name].",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(0.1, 300),
        default=10.0,
        show_default=True,
        metavar="SECONDS",
        help="The most each network exchange may take, in all.",
    ),
]


def kube_resolved(ctx: click.Context, options: dict[str, Any]) -> Resolved:
    """The run's context and token request: the kubeconfig's user entry, overridden by the
    `token` options given on the command line (see `kubeconfig.inputs`)."""
    from eksauth.kubeconfig.inputs import resolve
    from eksauth.request import REQUEST_OPTIONS

    flags = {name: options.get(name) for name in REQUEST_OPTIONS}
    flags["region"] = inherited(ctx, "region", options.get("region"))
    flags["profile"] = inherited(ctx, "profile", options.get("profile"))
    return resolve(
        flags,
        kubeconfig=options["kubeconfig"],
        context=options["kube_context"],
        env=os.environ,
        log=logger(bool(options.get("verbose"))),
    )


@contextmanager
def exec_environment(values: Mapping[str, str]) -> Iterator[None]:
    """The exec entry's env set for the command's duration, as kubectl sets it for the plugin
    (AWS_PROFILE, AWS_STS_REGIONAL_ENDPOINTS...), so botocore sees what the plugin would."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
