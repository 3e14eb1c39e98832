"""IAM Identity Center (SSO) sign-in: settings, the token file botocore reads, registration.

`login` signs in (flows in `eksauth.sso.flows`) and writes the token where botocore's
SSOTokenLoader looks: ``~/.aws/sso/cache/<sha1 of the sso-session name, or of the start URL for
legacy profiles>.json``, with botocore's field names and date format, so botocore, the AWS CLI
v2 and eksauth all use it. The client registration is kept beside it, under our own key.
Secrets (access and refresh tokens, client secret, code verifier) are written to 0600 files
only, never printed or logged.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from eksauth.aws import boundary, ssooidc
from eksauth.errors import SsoError
from eksauth.files.private import make_private_dirs, replace_private
from eksauth.sso import flows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mypy_boto3_sso_oidc import SSOOIDCClient

    from eksauth.aws.signer import Source
    from eksauth.request import TokenRequest

Say = Callable[[str], None]
DEFAULT_SCOPE = "sso:account:access"  # what aws-cli asks for when no scopes are configured
CLIENT_NAME = "eksauth"
# A registration or token this close to its end is treated as gone (botocore uses 15 minutes).
EXPIRY_WINDOW = 15 * 60
MAX_FILE_BYTES = 64 * 1024  # token files are < 4 KiB; bound what we read
DEFAULT_LOGIN_TIMEOUT = 300.0
# A run that finds another signing in to the same session waits this long for it (the sign-in's
# own bound plus a margin), so it never opens a second tab while the first is still open.
SIGN_IN_WAIT_SECONDS = DEFAULT_LOGIN_TIMEOUT + 30
MAX_CHAIN = 10  # source_profile hops followed to find the SSO profile
MAX_EPOCH = 2.0**33  # the year 2242: any later expiry is not an answer, and no date can show it
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # botocore's and aws-cli's format for expiresAt


@dataclass(frozen=True)
class SsoConfig:
    """Where to sign in. `session_name` is None for legacy profiles (start URL in the profile)."""

    start_url: str
    region: str
    session_name: str | None
    scopes: tuple[str, ...] = ()

    @property
    def legacy(self) -> bool:
        return self.session_name is None


def resolve_config(
    full_config: Mapping[str, Any], *, profile: str | None = None, sso_session: str | None = None
) -> SsoConfig:
    """The SSO settings of `sso_session`, or of `profile` (its sso_session, or legacy keys).

    `full_config` is botocore's ``session.full_config``.
    """
    sessions = full_config.get("sso_sessions") or {}
    if sso_session is None:
        name, section = _sso_profile(full_config, profile or "default")
        sso_session = section.get("sso_session")
        if sso_session is None:
            if "sso_start_url" not in section:
                raise SsoError(
                    f"the profile {name!r} does not use IAM Identity Center",
                    hint="set sso_session (or sso_start_url and sso_region) in it",
                )
            return SsoConfig(
                _need(section, "sso_start_url", name), _need(section, "sso_region", name), None
            )
    settings = sessions.get(sso_session)
    if settings is None:
        raise SsoError(f"the sso-session {sso_session!r} does not exist")
    where = f"sso-session {sso_session}"
    scopes = tuple(
        s.strip() for s in str(settings.get("sso_registration_scopes", "")).split(",") if s.strip()
    )
    return SsoConfig(
        _need(settings, "sso_start_url", where),
        _need(settings, "sso_region", where),
        sso_session,
        scopes,
    )


def _sso_profile(full_config: Mapping[str, Any], name: str) -> tuple[str, Mapping[str, Any]]:
    """Profile `name`, or the profile its role chain starts from (`source_profile`): a role
    assumed with SSO credentials needs a sign-in to the source's session."""
    profiles = full_config.get("profiles") or {}
    for _ in range(MAX_CHAIN):
        section = profiles.get(name)
        if section is None:
            raise SsoError(f"the profile {name!r} does not exist")
        source = section.get("source_profile")
        if "sso_session" in section or "sso_start_url" in section or not source:
            return name, section
        name = str(source)
    raise SsoError(f"the source_profile chain from {name!r} is too long or loops")


def config_for(
    profile: str | None, sso_session: str | None = None
) -> tuple[SsoConfig, boundary.Session]:
    """The SSO settings of `profile` (None: botocore's choice) or `sso_session`, and the
    botocore session that read them (for `sso_oidc.client`)."""
    with boundary.errors(profile):
        made = boundary.session(profile, interactive=True)
        full_config = made.full_config
        name = profile or made.profile
    return resolve_config(full_config, profile=name, sso_session=sso_session), made


def _need(section: Mapping[str, Any], key: str, where: str) -> str:
    value = section.get(key)
    if not value:
        raise SsoError(f"{key} is missing from {where}", hint="run aws configure sso")
    return str(value)


# -- the token file ------------------------------------------------------------------------------


def default_cache_dir(env: Mapping[str, str]) -> str:
    """``~/.aws/sso/cache``, where botocore and the AWS CLI look (`portable.expand_home`: without
    a usable home, wherever botocore itself would look)."""
    from eksauth.portable import expand_home

    return expand_home(os.path.join("~", ".aws", "sso", "cache"), env)


def token_path(config: SsoConfig, cache_dir: str) -> str:
    """The file botocore's SSOTokenLoader reads for `config`."""
    name = config.start_url if config.session_name is None else config.session_name
    return os.path.join(cache_dir, _sha1(name) + ".json")


def lock_name(config: SsoConfig, cache_dir: str) -> str:
    """A lock name per token file: runs that would sign in to the same session share it."""
    return _sha1(token_path(config, cache_dir))


def registration_path(config: SsoConfig, cache_dir: str, grant: str) -> str:
    """Our client registration for `config` and `grant` ("authorization_code" or "device_code").

    A key of our own in the same folder (aws-cli keys its registrations with tool=botocore):
    neither tool ever reads, or overwrites, a registration made under another client name.
    """
    material = {
        "tool": CLIENT_NAME,
        "startUrl": config.start_url,
        "region": config.region,
        "scopes": list(config.scopes),
        "session_name": config.session_name,
        "grant": grant,
    }
    digest = _sha1(json.dumps(material, sort_keys=True))
    return os.path.join(cache_dir, digest + ".json")


def _sha1(text: str) -> str:
    # A file name botocore also computes, not a security boundary.
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def read_json(path: str) -> dict[str, Any] | None:
    """A small JSON object from a regular file of ours, or None (missing, symlink, FIFO, not
    ours, huge, corrupt or nested beyond reason): the cache's hostile-file rules, in a folder
    shared with aws-cli (its umask: only group/other write is refused)."""
    from eksauth.cache import read_owned_json

    return read_owned_json(path, MAX_FILE_BYTES, private=False)


def write_json(path: str, value: Mapping[str, Any]) -> None:
    """Replace `path` atomically, mode 0600, in a folder that passes `check_folder`; missing
    folders are made 0700 (never a missing home)."""
    from eksauth.portable import home_folder

    folder = os.path.dirname(path)
    make_private_dirs(folder, home_folder(os.environ))
    check_folder(folder)
    replace_private(path, json.dumps(value).encode())


def check_folder(folder: str, token_file: str | None = None) -> None:
    """Refuse, in one line, an SSO cache folder (or token file) that someone else owns or may
    write to: they could read the tokens written there, or plant one that we would sign with.
    The cache's own folder rules; eksauth never chmods this folder (aws-cli's as much as ours).
    Called before writing there, and before botocore reads a token from there."""
    from eksauth.cache import path_problem

    problem = path_problem(folder, private=False)
    if problem is None and token_file is not None:
        problem = _file_problem(token_file)
    if problem is not None:
        raise SsoError(
            f"refusing the SSO cache {folder}: {problem}",
            hint="it must be your own folder and files, writable by you alone "
            "(remove it, or `chmod go-w` it, then sign in again)",
        )


def check_token_source(full_config: Mapping[str, Any], profile: str | None) -> None:
    """`check_folder` on the token file botocore will read for `profile`, if it is an IAM
    Identity Center profile (or a role profile whose source is one); before botocore reads it."""
    try:
        config = resolve_config(full_config, profile=profile)
    except SsoError:
        return  # not signed in through IAM Identity Center: botocore reads no token file
    folder = default_cache_dir(os.environ)
    check_folder(folder, token_path(config, folder))


def source(request: TokenRequest, *, env: Mapping[str, str], interactive: bool) -> Source:
    """`request`'s source credentials (`signer.resolve`), refusing first an IAM Identity Center
    token file botocore would read from a folder anyone may write to."""
    from eksauth.aws import signer

    where = signer.placed(request, env=env, interactive=interactive)
    with boundary.errors(where.profile):
        check_token_source(where.session.full_config, request.profile or where.session.profile)
    return signer.resolve(where)


def _file_problem(path: str) -> str | None:
    """Why the token file at `path` cannot be trusted (absent is fine: botocore says so)."""
    from eksauth.cache import file_problem

    try:
        problem = file_problem(os.stat(path, follow_symlinks=False))
    except OSError:
        return None
    return f"the token file {os.path.basename(path)}: {problem}" if problem else None


def format_time(epoch: float) -> str:
    return time.strftime(_TIME_FORMAT, time.gmtime(epoch))


def parse_time(text: object) -> float | None:
    """botocore's expiresAt (``...Z``; aws-cli v1 also wrote ``+00:00``/``UTC``) → epoch."""
    if not isinstance(text, str):
        return None
    cleaned = text.strip().replace("+00:00", "Z").replace("UTC", "Z").replace(" ", "T")
    cleaned = cleaned.split(".")[0].rstrip("Z") + "Z"
    try:
        return float(calendar.timegm(time.strptime(cleaned, _TIME_FORMAT)))
    except ValueError:
        return None


def valid_token(config: SsoConfig, cache_dir: str, now: float) -> dict[str, Any] | None:
    """The cached token if it has more than the expiry window left (what a waiter reuses)."""
    token = read_json(token_path(config, cache_dir))
    if token is None or not isinstance(token.get("accessToken"), str):
        return None
    expires = parse_time(token.get("expiresAt"))
    return token if expires is not None and expires - now > EXPIRY_WINDOW else None


# -- registration ------------------------------------------------------------------------------


def registration(
    oidc: SSOOIDCClient, config: SsoConfig, cache_dir: str, now: float, *, grant: str
) -> dict[str, Any]:
    """A client registration for `grant`, reused from the cache while it is valid."""
    path = registration_path(config, cache_dir, grant)
    cached = read_json(path)
    if cached is not None:
        expires = parse_time(cached.get("expiresAt"))
        if expires is not None and expires - now > EXPIRY_WINDOW and cached.get("clientSecret"):
            return cached
    params: dict[str, Any] = {"clientName": CLIENT_NAME, "clientType": "public"}
    scopes = list(config.scopes)
    if grant == "authorization_code":
        scopes = scopes or [DEFAULT_SCOPE]
        params.update(
            grantTypes=["authorization_code", "refresh_token"],
            redirectUris=[flows.REDIRECT_URI],
            issuerUrl=config.start_url,
        )
    if scopes:
        params["scopes"] = scopes
    reply = ssooidc.call(lambda: oidc.register_client(**params), "RegisterClient")
    expires_at = flows.answer_number(reply, "clientSecretExpiresAt")
    if expires_at is None or not 0 <= expires_at < MAX_EPOCH:
        raise flows.unusable_answer("clientSecretExpiresAt", "RegisterClient")
    entry = {
        "clientId": flows.answer_text(reply, "clientId", "RegisterClient"),
        "clientSecret": flows.answer_text(reply, "clientSecret", "RegisterClient"),
        "expiresAt": format_time(expires_at),
        "scopes": scopes,
        "grantTypes": params.get("grantTypes", [flows.DEVICE_GRANT, "refresh_token"]),
    }
    with contextlib.suppress(OSError):  # one we cannot keep is registered again next time
        write_json(path, entry)
    return entry


# -- login -------------------------------------------------------------------------------------


def login(
    oidc: SSOOIDCClient,
    config: SsoConfig,
    *,
    now: float,
    say: Say,
    cache_dir: str,
    use_device_code: bool = False,
    no_browser: bool = False,
    timeout: float = DEFAULT_LOGIN_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Sign in and write the token file; returns its path.

    Browser flow (authorization code + PKCE) unless `use_device_code` or a legacy profile;
    falls back to the device code when no browser can be opened; `no_browser` prints the URL
    only. `now` dates the token: it expires `expiresIn` after the start of the sign-in.
    """
    check_folder(cache_dir)  # before the sign-in: nothing is worth signing in for, to leak
    reply: dict[str, Any] | None = None
    if not use_device_code and not config.legacy:
        reg = registration(oidc, config, cache_dir, now, grant="authorization_code")
        reply = flows.authorization_code_flow(
            oidc,
            client_id=reg["clientId"],
            client_secret=reg["clientSecret"],
            scopes=list(reg.get("scopes") or [DEFAULT_SCOPE]),
            say=say,
            open_browser=not no_browser,
            timeout=timeout,
        )
        if reply is None:
            say("No browser could be opened; signing in with a code instead.")
    if reply is None:
        reg = registration(oidc, config, cache_dir, now, grant="device_code")
        reply = flows.device_code_flow(
            oidc,
            client_id=reg["clientId"],
            client_secret=reg["clientSecret"],
            start_url=config.start_url,
            say=say,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
        )
    token = {
        "startUrl": config.start_url,
        "region": config.region,
        "accessToken": flows.answer_text(reply, "accessToken", "CreateToken"),
        "expiresAt": format_time(now + flows.answer_seconds(reply, "expiresIn", 0.0)),
        "clientId": reg["clientId"],
        "clientSecret": reg["clientSecret"],
        "registrationExpiresAt": reg["expiresAt"],
    }
    if isinstance(reply.get("refreshToken"), str) and reply["refreshToken"]:
        token["refreshToken"] = reply["refreshToken"]
    path = token_path(config, cache_dir)
    try:
        write_json(path, token)
    except OSError as exc:
        raise SsoError(f"cannot write the SSO token to {path}: {exc.strerror}") from exc
    return path
