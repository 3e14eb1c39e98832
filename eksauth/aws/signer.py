"""Credentials and the SigV4 presign: what a token is signed with, and the signing itself.

botocore's SigV4 signer is used directly on an AWSRequest (no STS client is built); sessions,
clients and AWS calls come from the AWS boundary (`aws/boundary.py`), which also translates
botocore's exceptions. No cache knowledge: the orchestrator (`orchestrator.py`) decides what is
reused. Imported only on a cache miss.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from eksauth.aws import boundary, calls
from eksauth.request import DEFAULT_SESSION_NAME, TokenRequest
from eksauth.token import bearer as token
from eksauth.token import endpoints

Log = Callable[[str], None]
# botocore's frozen credentials, by a name modules that may not import botocore can type with.
Credentials = ReadOnlyCredentials


class Source(NamedTuple):
    """What a token request resolves to before any role is assumed."""

    session: boundary.Session
    profile: str | None  # the profile botocore uses, as the user named it (None: default)
    region: str | None  # None: the global endpoint
    endpoint: endpoints.StsEndpoint  # the standard host for the region and settings
    credentials: ReadOnlyCredentials
    expiry: int | None  # epoch seconds; None for long-lived keys


class Signed(NamedTuple):
    token: str
    signed_at: int
    expires_at: int  # the advertised expiry, as epoch seconds
    host: str  # the host the token names (and EKS will replay it to)


class Placed(NamedTuple):
    """A request's session, region and STS endpoint, before any credentials are read."""

    session: boundary.Session
    profile: str | None
    region: str | None
    endpoint: endpoints.StsEndpoint


def placed(request: TokenRequest, *, env: Mapping[str, str], interactive: bool) -> Placed:
    """The session, region and STS endpoint of `request` (no credentials read yet)."""
    profile = boundary.profile_name(request.profile, env)
    with boundary.errors(profile):
        session = boundary.session(request.profile, interactive=interactive)
        region, endpoint = _place(request, env, session)
    return Placed(session, profile, region, endpoint)


def resolve(where: Placed) -> Source:
    """The source credentials botocore's provider chain finds for `where`.

    A profile signed in through IAM Identity Center has its token file checked first, by the
    caller (`sso.session.source`): the AWS boundary knows nothing of sign-in.
    """
    with boundary.errors(where.profile):
        credentials, expiry = boundary.source_credentials(where.session)
    return Source(*where, credentials, expiry)


def locate(
    request: TokenRequest, *, env: Mapping[str, str]
) -> tuple[str | None, str | None, endpoints.StsEndpoint]:
    """The profile, region and STS endpoint `resolve` would use, without any credentials."""
    where = placed(request, env=env, interactive=False)
    return where.profile, where.region, where.endpoint


def _place(
    request: TokenRequest, env: Mapping[str, str], session: boundary.Session
) -> tuple[str | None, endpoints.StsEndpoint]:
    region = boundary.region(request.region, env, session)
    if region:
        session.set_config_variable("region", region)
    return region, _endpoint(region, session)


def sign(
    request: TokenRequest,
    source: Source,
    credentials: ReadOnlyCredentials,
    credentials_expiry: int | None,
    *,
    now: float,
    log: Log,
) -> Signed:
    """Presign the token at `now` with `credentials` (the source's, or an assumed role's)."""
    signed_at = int(now)
    url_base = request.sts_url or f"https://{source.endpoint.host}"
    signing_region = source.endpoint.signing_region
    url = presign(credentials, url_base, signing_region, request.cluster, signed_at)
    expires_at = signed_at + token.ADVERTISED_LIFETIME_SECONDS
    if credentials_expiry is not None and credentials_expiry < expires_at:
        # aws-cli ignores this; a token cannot outlive the credentials that signed it.
        until = token.rfc3339(credentials_expiry)
        log(f"the signing credentials expire at {until}, before the token")
        expires_at = credentials_expiry
    host = url_base.split("://", 1)[1]
    log(f"signed for {host} ({signing_region}) at {token.rfc3339(signed_at)}")
    return Signed(token.encode(url), signed_at, expires_at, host)


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


def _endpoint(region: str | None, session: boundary.Session) -> endpoints.StsEndpoint:
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


# -- assumed roles -------------------------------------------------------------------------------


def assume_role(source: Source, request: TokenRequest, *, log: Log) -> dict[str, Any]:
    """AssumeRole `request.role_arn` with the source credentials, in the request's region."""
    with boundary.errors(source.profile):
        sts = boundary.client(
            source.session, "sts", source.region or boundary.GLOBAL_REGION, source.credentials
        )
        session_name = request.session_name or DEFAULT_SESSION_NAME
        if request.forward_session_name:
            # aws-iam-authenticator's --forward-session-name: a node keeps its instance id as
            # the role session, so {{EC2PrivateDNSName}} and {{SessionName}} keep working.
            session_name = calls.caller_session_name(sts) or DEFAULT_SESSION_NAME
        return calls.assume_role(
            sts,
            role_arn=str(request.role_arn),
            session_name=session_name,
            external_id=request.external_id,
            duration=request.role_duration,
            log=log,
        )


def fingerprint(creds: ReadOnlyCredentials) -> str:
    """A hash of the credentials, to key what was made with them without storing them."""
    material = "\0".join((str(creds.access_key), str(creds.secret_key), creds.token or ""))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
