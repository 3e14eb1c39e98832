"""`sso login`: sign in to AWS IAM Identity Center, as `aws sso login` does in AWS CLI v2.

The token goes where botocore and the AWS CLI read it (~/.aws/sso/cache/); everything printed
goes to stderr, and no token, client secret or code verifier is ever printed.
"""

from __future__ import annotations

import os
from typing import Any

import click

from eksauth.cli.options import CONTEXT, inherited, now, profile_option, say
from eksauth.errors import UsageError


@click.group("sso", context_settings=CONTEXT)
def sso_group() -> None:
    """Sign in to AWS IAM Identity Center (SSO)."""


@sso_group.command("login", context_settings=CONTEXT)
@profile_option
@click.option(
    "--sso-session", metavar="NAME", help="Sign in to this [sso-session NAME] instead of a profile."
)
@click.option(
    "--use-device-code",
    is_flag=True,
    default=False,
    help="Confirm a code at a URL instead of the browser redirect.",
)
@click.option(
    "--no-browser", is_flag=True, default=False, help="Print the sign-in URL; open no browser."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Give up when the sign-in is not completed within this time (default 300).",
)
@click.pass_context
def login_command(ctx: click.Context, /, **options: Any) -> None:
    """Sign in and write the token that botocore, the AWS CLI and eksauth use.

    By default the browser opens (authorization code with PKCE, redirected to a one-time
    listener on 127.0.0.1); the URL is printed too. With --use-device-code, for legacy
    profiles (sso_start_url without sso_session), or when no browser opens, confirm a code
    instead. BROWSER chooses the browser.
    """
    from eksauth.aws import ssooidc
    from eksauth.sso import session as sso

    profile = inherited(ctx, "profile", options["profile"])
    sso_session = options["sso_session"]
    if profile and sso_session:
        raise UsageError("give --profile or --sso-session, not both")
    config, session = sso.config_for(None if sso_session else profile, sso_session)
    path = sso.login(
        ssooidc.client(session, config.region),
        config,
        now=now(ctx),
        say=say,
        cache_dir=sso.default_cache_dir(os.environ),
        use_device_code=options["use_device_code"],
        no_browser=options["no_browser"],
        timeout=options["timeout"] or sso.DEFAULT_LOGIN_TIMEOUT,
    )
    written = sso.read_json(path) or {}
    say(f"signed in to {config.start_url} until {written.get('expiresAt', '?')}")
