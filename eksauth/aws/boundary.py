"""The AWS boundary: every botocore session, client and call eksauth makes, and nothing else.

- Every client is built by `client()` with bounded connect/read timeouts and botocore's standard
  retry mode, so an endpoint that accepts a connection and never answers fails in seconds
  rather than hanging kubectl, kubelet or `update-kubeconfig`.
- botocore's exceptions are translated once, here (`errors()`), into `EksAuthError`s whose
  hint says what to do.
- The one profile rule (`profile_name`) and the one region rule (`region`).

The calls themselves are in `aws/calls.py`, built from these pieces. Imported only off the
cache-hit path. The other modules that import botocore are `aws/signer.py` (the SigV4 presign),
`aws/rolesessions.py` (aws-cli's role-session cache) and `aws/ssooidc.py` (the sign-in's client); a
test holds the boundary to those four.
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Literal, TypeVar, overload

import botocore
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    ReadOnlyCredentials,
)
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from eksauth.aws import refusals, rolesessions
from eksauth.errors import (
    AwsError,
    CredentialsError,
    EksAuthError,
    SsoSessionError,
    StsError,
    UsageError,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_sts import STSClient

Log = Callable[[str], None]
Session = botocore.session.Session
T = TypeVar("T")

# Every call must fail in seconds, not hang a node: bounded connects and reads, and botocore's
# standard retry mode (3 attempts with backoff) for throttling and dropped connections.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
API_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "max_attempts": 3},
    user_agent_extra="eksauth",
)
# Diagnostics (whoami, doctor) ask EKS once per call: a silent endpoint fails in one read
# timeout instead of three, and the report says so.
DIAGNOSTIC_CONFIG = API_CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 1}))
# botocore before 1.40 defaults `sts_regional_endpoints` to "legacy": tokens for the 16 legacy
# regions would name sts.amazonaws.com, and AssumeRole would go there, contrary to the README.
# The same lookup chain as botocore's own (set_config_variable, AWS_STS_REGIONAL_ENDPOINTS, the
# profile's sts_regional_endpoints) with only the last resort fixed keeps the botocore floor
# low and lets `legacy` still be chosen. session_vars is a documented Session argument.
_STS_REGIONAL_DEFAULT = {
    "sts_regional_endpoints": (
        "sts_regional_endpoints",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "regional",
        None,
    )
}
GLOBAL_REGION = "us-east-1"  # where a region-less STS call goes (aws-global signs for it)


# -- the one profile rule and the one region rule ------------------------------------------------


def profile_name(option: str | None, env: Mapping[str, str]) -> str | None:
    """--profile, else botocore's own order: AWS_DEFAULT_PROFILE, then AWS_PROFILE.

    Stdlib only: it names the profile in hints and cache listings without loading botocore.
    """
    return option or env.get("AWS_DEFAULT_PROFILE") or env.get("AWS_PROFILE") or None


def region(explicit: str | None, env: Mapping[str, str], session: Session | None) -> str | None:
    """--region, AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region` setting."""
    for value in (explicit, env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION")):
        if value:
            return value
    configured = session.get_config_variable("region") if session is not None else None
    return str(configured) if configured else None


def session(profile: str | None, *, interactive: bool, region_name: str | None = None) -> Session:
    """A botocore session for `profile` (None: botocore's own choice from the environment).

    Role profiles (assume-role and web identity) keep their sessions in aws-cli's cache, as
    aws-cli does: one AssumeRole, and one MFA prompt, per role session, shared with aws-cli.
    Without `interactive`, botocore's MFA prompt (getpass on /dev/tty, which hangs under
    kubectl or kubelet) is replaced by an error that says how to get one.
    """
    with errors(profile):
        made = botocore.session.Session(profile=profile, session_vars=_STS_REGIONAL_DEFAULT)
        # The clients botocore's own credential providers create (a role profile's AssumeRole,
        # SSO's GetRoleCredentials, web identity) get the same bounds as ours.
        made.set_default_client_config(API_CONFIG)
        if region_name:
            # As aws-cli does with --region: botocore's own providers (assume-role profiles,
            # SSO) then call STS in the same region instead of failing for want of one.
            made.set_config_variable("region", region_name)
        chain = made.get_component("credential_provider")

        def roles() -> Mapping[str, str]:  # asked on the first cached entry found
            return rolesessions.role_session_roles(made.full_config, os.environ)

        folder = rolesessions.aws_cli_cache_dir(os.environ)
        # botocore offers no public hook for the cache or the prompter it hands the providers;
        # aws-cli sets the same attributes (awscli/customizations/assumerole.py).
        for name in ("assume-role", "assume-role-with-web-identity"):
            provider = chain.get_provider(name)
            if provider is not None and folder is not None:
                provider.cache = rolesessions.RoleSessionCache(folder, roles)
        if not interactive:
            provider = chain.get_provider("assume-role")
            if provider is not None:
                provider._prompter = _refuse_prompt
    return made


def _refuse_prompt(prompt: str) -> str:
    raise CredentialsError(
        "the profile needs an MFA code, but this run may not prompt",
        hint="run eksauth once in a terminal, or set interactiveMode: IfAvailable in kubeconfig",
    )


@overload
def client(
    made: Session,
    service: Literal["sts"],
    region_name: str | None,
    credentials: ReadOnlyCredentials | None = ...,
    config: Config = ...,
) -> STSClient: ...
@overload
def client(
    made: Session,
    service: Literal["eks"],
    region_name: str | None,
    credentials: ReadOnlyCredentials | None = ...,
    config: Config = ...,
) -> EKSClient: ...
@overload
def client(
    made: Session,
    service: Literal["ec2"],
    region_name: str | None,
    credentials: ReadOnlyCredentials | None = ...,
    config: Config = ...,
) -> EC2Client: ...
@overload
def client(
    made: Session,
    service: str,
    region_name: str | None,
    credentials: ReadOnlyCredentials | None = ...,
    config: Config = ...,
) -> BaseClient: ...
def client(
    made: Session,
    service: str,
    region_name: str | None,
    credentials: ReadOnlyCredentials | None = None,
    config: Config = API_CONFIG,
) -> BaseClient:
    """A client with eksauth's bounded timeouts and retries (endpoint variables honoured)."""
    keys: dict[str, Any] = {}
    if credentials is not None:
        keys = {
            "aws_access_key_id": credentials.access_key,
            "aws_secret_access_key": credentials.secret_key,
            "aws_session_token": credentials.token,
        }
    return made.create_client(service, region_name=region_name, config=config, **keys)


# -- credentials ---------------------------------------------------------------------------------


def frozen(entry: Mapping[str, Any]) -> ReadOnlyCredentials:
    """Credentials from assumed-role fields (see `awscalls.assume_role`)."""
    return ReadOnlyCredentials(
        entry["access_key_id"], entry["secret_access_key"], entry["session_token"]
    )


def source_credentials(made: Session) -> tuple[ReadOnlyCredentials, int | None]:
    """The session's credentials, frozen, and their expiry (None for long-lived keys)."""
    credentials = made.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    frozen = credentials.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        raise NoCredentialsError()
    # botocore keeps the expiry of refreshable credentials (SSO, IMDS, AssumeRole, IRSA...) only
    # in a private attribute; without it the token keeps its 14 minutes, as with aws-cli.
    expiry = getattr(credentials, "_expiry_time", None)
    return frozen, (calendar.timegm(expiry.utctimetuple()) if expiry is not None else None)


def within(seconds: float) -> Config:
    """API_CONFIG with its connect and read timeouts cut to `seconds` (what is left of a run's
    deadline), so no call outlives the run by more than one timeout."""
    seconds = max(0.5, seconds)
    return API_CONFIG.merge(
        Config(
            connect_timeout=min(CONNECT_TIMEOUT_SECONDS, seconds),
            read_timeout=min(READ_TIMEOUT_SECONDS, seconds),
        )
    )


def known_profiles() -> list[str]:
    """The profiles of the AWS config and credentials files, as botocore reads them."""
    with errors(None):
        return list(botocore.session.Session().available_profiles)


def known_regions(service: str) -> dict[str, str]:
    """Every region botocore's endpoint data lists for `service`, with its partition."""
    made = botocore.session.get_session()
    return {
        name: partition
        for partition in made.get_available_partitions()
        for name in made.get_available_regions(service, partition)
    }


def sts_regions() -> list[str]:
    """Every region botocore knows for STS, in every partition (shell completion)."""
    return sorted(known_regions("sts"))


def unknown_region(name: str) -> str | None:
    """A warning when botocore's partition data does not know region `name`, with the
    closest known name; None for a known region. Not an error: new regions can appear before
    the installed botocore knows them. Loading the data costs tens of milliseconds, so only
    the explaining commands and `token -v` ask."""
    import difflib

    known = sts_regions()
    if name in known:
        return None
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return f"region {name} is unknown to botocore {botocore.__version__}{guess}"


sso_login_command = refusals.sso_login_command


# -- errors --------------------------------------------------------------------------------------


def call(operation: Callable[[], T], what: str, error: type[AwsError] = AwsError) -> T:
    """Run one API call; a service error becomes `error` naming `what` and the code."""
    try:
        return operation()
    except ClientError as exc:
        raise _service_error(exc, what, error) from exc


def _service_error(exc: ClientError, what: str, error: type[AwsError]) -> AwsError:
    details = exc.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = details.get("Message", "")
    return error(f"{what} failed: {code}: {message}", hint=refusals.hint(code), code=code)


_UNREADABLE_CREDENTIALS = (
    "could not load AWS credentials: the credential source (credential_process, SSO or "
    "container endpoint) answered with something that cannot be read"
)


def _unreadable_credentials(exc: Exception) -> Exception:
    """botocore's unmapped failures on a credential source's garbage, as one line each.

    A credential_process (or container endpoint) printing something that is not JSON, an
    Expiration that is not a date (json/dateutil ValueErrors), JSON nested past the recursion
    limit, or credentials that come back already expired (a RuntimeError aws-cli prints as one
    line). The text itself is never quoted: it may hold a secret. Other errors stay as they are.
    """
    if isinstance(exc, RecursionError):
        return CredentialsError(_UNREADABLE_CREDENTIALS, hint="it is nested too deeply")
    if isinstance(exc, ValueError):
        hint = f"{type(exc).__name__}: not JSON with valid fields"
        return CredentialsError(_UNREADABLE_CREDENTIALS, hint=hint)
    if isinstance(exc, RuntimeError) and str(exc) == refusals.STILL_EXPIRED:
        return CredentialsError(
            "the AWS credentials were refreshed but are already expired",
            hint="check the clock, and the Expiration a credential_process prints",
        )
    return exc


@contextmanager
def errors(
    profile: str | None,
    *,
    service: str = "STS",
    action: str | None = None,
    no_credentials_hint: str | None = None,
) -> Iterator[None]:
    """Translate botocore's exceptions, once, into messages that say what to do.

    `action` names the call being made (`eks:DescribeCluster`) for the messages that need it.
    """
    try:
        yield
    except AwsError as exc:
        if exc.code in refusals.EXPIRED and profile:  # the hint can name the profile now
            exc.hint = refusals.hint(exc.code, profile=profile)
        raise
    except EksAuthError:
        raise
    except ProfileNotFound as exc:
        # botocore names the profile it looked for (from AWS_PROFILE when none was given).
        missing = exc.kwargs.get("profile") or profile
        raise CredentialsError(
            f"the AWS profile {missing!r} was not found",
            hint="list profiles with `aws configure list-profiles`",
        ) from exc
    except (SSOError, TokenRetrievalError) as exc:
        # Missing, expired and unrefreshable, or revoked: a new sign-in is the fix.
        raise SsoSessionError(
            f"the SSO session has expired or is missing: {exc}",
            hint=f"run `{sso_login_command(profile)}`",
            profile=profile,
        ) from exc
    except NoCredentialsError as exc:
        raise CredentialsError(
            f"no AWS credentials to call {action}" if action else "no AWS credentials were found",
            hint=no_credentials_hint
            or "set AWS_PROFILE, or configure credentials with `aws configure`",
        ) from exc
    except NoRegionError as exc:
        where = f"to call {action} in" if action else "to call AWS in"
        raise UsageError(f"no region {where}", hint="give --region or set AWS_REGION") from exc
    except (PartialCredentialsError, CredentialRetrievalError) as exc:
        raise CredentialsError(f"could not load AWS credentials: {exc}") from exc
    except ClientError as exc:  # a call made outside `call()`, e.g. by a credential provider
        raise _service_error(exc, f"the {service} call", StsError) from exc
    except (BotocoreConnectionError, HTTPClientError) as exc:  # refused, timed out, reset
        during = f" for {action}" if action else ""
        raise AwsError(
            f"could not reach {service}{during}: {exc}",
            hint=f"check the network, proxy settings and AWS_ENDPOINT_URL_{service.upper()}",
        ) from exc
    except BotoCoreError as exc:
        raise EksAuthError(f"AWS configuration error: {exc}") from exc
    except (RuntimeError, ValueError) as exc:
        raise _unreadable_credentials(exc) from None  # no cause: it may quote secret output
