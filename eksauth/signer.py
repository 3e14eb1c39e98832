"""Credentials, AssumeRole and the SigV4 presign: the only module that imports botocore.

botocore's exceptions end here: every failure leaves as an `EksAuthError` with a hint.
Imported only on a cache miss.
"""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Callable, NamedTuple

import botocore.session
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from eksauth import endpoints, token
from eksauth.cache import MIN_ROLE_REMAINING_SECONDS, ROLE_PREFIX, Cache, role_key
from eksauth.errors import CredentialsError, EksAuthError, StsError
from eksauth.request import DEFAULT_SESSION_NAME, TokenRequest

Log = Callable[[str], None]

# AssumeRole and GetCallerIdentity must fail in seconds, not hang a node: bounded connects and
# reads, and botocore's standard retry mode (3 attempts with backoff) for throttling.
API_CONFIG = Config(
    connect_timeout=3,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    user_agent_extra="eksauth",
)


class Signed(NamedTuple):
    token: str
    signed_at: int
    expires_at: int  # the advertised expiry, as epoch seconds
    region: str | None  # the region the token was resolved for (None: the global endpoint)
    host: str


def sign_token(
    request: TokenRequest,
    *,
    env: Mapping[str, str],
    now: float,
    interactive: bool,
    cache: Cache,
    log: Log,
) -> Signed:
    """Resolve credentials (assuming the role if asked) and presign the token at `now`."""
    signed_at = int(now)
    with _botocore_errors(request.profile or env.get("AWS_PROFILE")):
        session = _session(request.profile, interactive)
        region = _region(request.region, env, session)
        if region:
            # As aws-cli does with --region: botocore's own providers (assume-role profiles,
            # SSO) then call STS in the same region instead of failing for want of one.
            session.set_config_variable("region", region)
        endpoint = _endpoint(region, session)
        creds, creds_expiry = _source_credentials(session)
        if request.role_arn:
            creds, creds_expiry = _assumed_role(
                session, creds, request, region=region, now=now, cache=cache, log=log
            )
    url_base = request.sts_url or f"https://{endpoint.host}"
    url = presign(creds, url_base, endpoint.signing_region, request.cluster, signed_at)
    expires_at = signed_at + token.ADVERTISED_LIFETIME_SECONDS
    if creds_expiry is not None and creds_expiry < expires_at:
        # aws-cli ignores this; a token cannot outlive the credentials that signed it.
        log(f"the signing credentials expire at {token.rfc3339(creds_expiry)}, before the token")
        expires_at = creds_expiry
    log(f"signed for {endpoint.host} ({endpoint.signing_region}) at {token.rfc3339(signed_at)}")
    return Signed(token.encode(url), signed_at, expires_at, region, endpoint.host)


class _QueryAuthAt(SigV4QueryAuth):
    """SigV4 query signing at a given instant instead of botocore's own clock reading.

    This run's single clock reading then drives X-Amz-Date and the advertised expiry, which can
    never disagree (aws-iam-authenticator's presignFixedTime does the same). The body repeats
    the steps of botocore's SigV4Auth.add_auth; the golden-token and aws-cli differential tests
    catch any change there.
    """

    def __init__(self, credentials: ReadOnlyCredentials, region: str, signed_at: int) -> None:
        super().__init__(credentials, "sts", region, expires=token.PRESIGN_EXPIRES_SECONDS)
        self._signed_at = signed_at

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._signed_at))
        self._modify_request_before_signing(request)  # type: ignore[attr-defined]
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        signature = self.signature(string_to_sign, request)
        self._inject_signature_to_request(request, signature)  # type: ignore[attr-defined]


def presign(
    creds: ReadOnlyCredentials, url_base: str, signing_region: str, cluster: str, signed_at: int
) -> str:
    """The presigned GetCallerIdentity URL, parameters in the order aws-cli produces."""
    request = AWSRequest(
        method="GET",
        url=url_base + "/",
        params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        headers={token.CLUSTER_ID_HEADER: cluster},
    )
    _QueryAuthAt(creds, signing_region, signed_at).add_auth(request)
    return str(request.url)


# -- resolution --------------------------------------------------------------------------------


# eksauth's own default for sts_regional_endpoints, whatever botocore's: "regional". botocore
# before 1.40.0 defaults to "legacy", which signs tokens for sts.amazonaws.com in the 16 legacy
# regions and sends AssumeRole there too; from 1.40.0 its default is "regional" as well. The
# same lookup chain as botocore's own (set_config_variable, AWS_STS_REGIONAL_ENDPOINTS, the
# profile's sts_regional_endpoints), with only the last resort fixed, keeps the botocore floor
# low and lets `legacy` still be chosen. session_vars is a documented Session argument.
_STS_REGIONAL_DEFAULT = {
    "sts_regional_endpoints": (
        "sts_regional_endpoints",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "regional",
        None,
    )
}


def _session(profile: str | None, interactive: bool) -> botocore.session.Session:
    session = botocore.session.Session(profile=profile, session_vars=_STS_REGIONAL_DEFAULT)
    if not interactive:
        # botocore prompts for an MFA code with getpass, which reads /dev/tty: under kubectl or
        # kubelet that hangs. It offers no public hook, so replace the prompter it was given.
        provider = session.get_component("credential_provider").get_provider("assume-role")
        if provider is not None:
            provider._prompter = _refuse_prompt
    return session


def _refuse_prompt(prompt: str) -> str:
    raise CredentialsError(
        "the profile needs an MFA code, but this run may not prompt",
        hint="run eksauth once in a terminal, or set interactiveMode: IfAvailable in kubeconfig",
    )


def _region(explicit: str | None, env: Mapping[str, str], session: Any) -> str | None:
    """--region, AWS_REGION, AWS_DEFAULT_REGION, then the profile's region."""
    for value in (explicit, env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION")):
        if value:
            return value
    configured = session.get_config_variable("region")
    return str(configured) if configured else None


def _endpoint(region: str | None, session: Any) -> endpoints.StsEndpoint:
    """The standard STS host for the region and the configured FIPS/dual-stack/legacy choices.

    AWS_ENDPOINT_URL_STS and a profile's endpoint_url are ignored here on purpose: EKS only
    accepts tokens naming a standard STS host (they still apply to AssumeRole).
    """
    mode = session.get_config_variable("sts_regional_endpoints")
    return endpoints.sts_endpoint(
        region,
        fips=bool(session.get_config_variable("use_fips_endpoint")),
        dualstack=bool(session.get_config_variable("use_dualstack_endpoint")),
        legacy_global=str(mode).lower() == "legacy",
    )


def _source_credentials(session: Any) -> tuple[ReadOnlyCredentials, int | None]:
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    frozen = credentials.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        raise NoCredentialsError()
    # botocore keeps the expiry of refreshable credentials (SSO, IMDS, AssumeRole, IRSA...) only
    # in a private attribute; without it the token keeps its 14 minutes, as with aws-cli.
    expiry = getattr(credentials, "_expiry_time", None)
    return frozen, (calendar.timegm(expiry.utctimetuple()) if expiry is not None else None)


# -- AssumeRole ----------------------------------------------------------------------------------


def _assumed_role(
    session: Any,
    source: ReadOnlyCredentials,
    request: TokenRequest,
    *,
    region: str | None,
    now: float,
    cache: Cache,
    log: Log,
) -> tuple[ReadOnlyCredentials, int]:
    """Credentials for `request.role_arn`, from the cache while 5 minutes remain, else STS."""
    name = ROLE_PREFIX + role_key(_fingerprint(source), request, region)
    cached = _cached_role(cache, name, now)
    if cached is None:
        with cache.lock(name):
            cached = _cached_role(cache, name, now)
            if cached is None:
                cached = _call_assume_role(session, source, request, region, log)
                cache.store(name, {**cached, "role_arn": request.role_arn})
    else:
        log(f"reusing cached credentials for {request.role_arn}")
    creds = ReadOnlyCredentials(
        cached["access_key_id"], cached["secret_access_key"], cached["session_token"]
    )
    return creds, int(cached["expires_at"])


def _cached_role(cache: Cache, name: str, now: float) -> dict[str, Any] | None:
    fields = ("access_key_id", "secret_access_key", "session_token")
    return cache.load_fresh(name, now, MIN_ROLE_REMAINING_SECONDS, fields)


def _call_assume_role(
    session: Any,
    source: ReadOnlyCredentials,
    request: TokenRequest,
    region: str | None,
    log: Log,
) -> dict[str, Any]:
    client = session.create_client(
        "sts",
        region_name=region or endpoints.GLOBAL_SIGNING_REGION,
        aws_access_key_id=source.access_key,
        aws_secret_access_key=source.secret_key,
        aws_session_token=source.token,
        config=API_CONFIG,
    )
    session_name = request.session_name or DEFAULT_SESSION_NAME
    if request.forward_session_name:
        session_name = _forwarded_session_name(client) or DEFAULT_SESSION_NAME
    params: dict[str, Any] = {"RoleArn": request.role_arn, "RoleSessionName": session_name}
    if request.external_id:
        params["ExternalId"] = request.external_id
    if request.role_duration:
        params["DurationSeconds"] = request.role_duration
    log(f"AssumeRole {request.role_arn} as session {session_name} via {client.meta.endpoint_url}")
    try:
        answer = client.assume_role(**params)["Credentials"]
    except ClientError as exc:
        raise _client_error(exc, f"AssumeRole on {request.role_arn}") from None
    return {
        "access_key_id": answer["AccessKeyId"],
        "secret_access_key": answer["SecretAccessKey"],
        "session_token": answer["SessionToken"],
        "expires_at": calendar.timegm(answer["Expiration"].utctimetuple()),
        "session_name": session_name,
    }


def _forwarded_session_name(client: Any) -> str | None:
    """The session part of the source identity's UserId (`AROA…:i-0abc…` → `i-0abc…`).

    This is aws-iam-authenticator's --forward-session-name: a node keeps its instance id as
    the role session, so `{{EC2PrivateDNSName}}` and `{{SessionName}}` mappings keep working.
    """
    try:
        user_id = str(client.get_caller_identity()["UserId"])
    except ClientError as exc:
        raise _client_error(exc, "GetCallerIdentity for --forward-session-name") from None
    _, sep, session_name = user_id.partition(":")
    return session_name if sep and session_name else None


def _fingerprint(creds: ReadOnlyCredentials) -> str:
    material = "\0".join((str(creds.access_key), str(creds.secret_key), creds.token or ""))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


# -- errors --------------------------------------------------------------------------------------


def _client_error(exc: ClientError, what: str) -> StsError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message", "")
    hints = {
        "AccessDenied": "check that the role's trust policy allows the calling identity",
        "ExpiredToken": "the source credentials have expired; refresh them and retry",
        "InvalidClientTokenId": "the access key is not valid in this partition or region",
        "RegionDisabledException": "activate STS in this region, or choose another --region",
    }
    return StsError(f"{what} failed: {code}: {message}", hint=hints.get(code))


@contextmanager
def _botocore_errors(profile: str | None) -> Iterator[None]:
    """Translate botocore's exceptions, once, into messages that say what to do."""
    try:
        yield
    except EksAuthError:
        raise
    except ProfileNotFound:
        raise CredentialsError(
            f"the AWS profile {profile!r} was not found",
            hint="list profiles with `aws configure list-profiles`",
        ) from None
    except (SSOError, TokenRetrievalError) as exc:
        login = f"aws sso login --profile {profile}" if profile else "aws sso login"
        raise CredentialsError(
            f"the SSO session has expired or is missing: {exc}", hint=f"run `{login}`"
        ) from None
    except NoCredentialsError:
        raise CredentialsError(
            "no AWS credentials were found",
            hint="set AWS_PROFILE, or configure credentials with `aws configure`",
        ) from None
    except (PartialCredentialsError, CredentialRetrievalError) as exc:
        raise CredentialsError(f"could not load AWS credentials: {exc}") from None
    except ClientError as exc:
        raise _client_error(exc, "the STS call") from None
    except BotocoreConnectionError as exc:
        raise StsError(
            f"could not reach STS: {exc}",
            hint="check the network, proxy settings and AWS_ENDPOINT_URL_STS",
        ) from None
    except BotoCoreError as exc:
        raise EksAuthError(f"AWS configuration error: {exc}") from None
