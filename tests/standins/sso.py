"""Loopback stand-ins for IAM Identity Center: SSO OIDC, the SSO portal and a browser.

``SsoOidcServer`` speaks the ``sso-oidc`` REST-JSON protocol as botocore calls it (RegisterClient,
StartDeviceAuthorization, CreateToken for the device-code, authorization-code + PKCE and
refresh-token grants) plus the browser-facing ``GET /authorize``, which answers 302 to the
client's loopback redirect URI. Errors are HTTP 400/401 with ``x-amzn-ErrorType`` and the
modeled ``{"error": ..., "error_description": ...}`` body, so botocore raises the modeled
exceptions (``AuthorizationPendingException``...).

``SsoPortalServer`` answers GetRoleCredentials (``GET /federation/credentials``) for bearer tokens
the OIDC stand-in issued, minting credentials through the :class:`World` so the STS stand-in
accepts what they sign.

Both share one :class:`IdentityCenter` (clients, codes, tokens, behaviours, call counters). Reach
them with ``AWS_ENDPOINT_URL_SSO_OIDC`` / ``AWS_ENDPOINT_URL_SSO``. The browser is
``browser.py`` beside this file (see :func:`browser_command`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ._server import DEFAULT_MAX_LIFETIME, StandInHandler, StandInServer
from .world import World

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ERROR_STATUS = {"InvalidClientException": 401, "InternalServerException": 500}
BROWSER_SCRIPT = Path(__file__).with_name("browser.py")
START_URL = "https://corp.awsapps.com/start"
# An AWS config with every kind of profile the sign-in meets (see the ``sso_env`` fixture).
SSO_CONFIG = f"""\
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
region = us-east-1

[profile legacy]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Admin
region = us-east-1

[profile plain]
region = us-east-1

[profile broken]
sso_session = nowhere

[profile admin]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = dev
region = us-east-1

[sso-session corp]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access, extra:scope
"""


class OidcError(Exception):
    def __init__(self, shape: str, error: str, description: str) -> None:
        super().__init__(f"{shape}: {description}")
        self.shape, self.error, self.description = shape, error, description

    @property
    def status(self) -> int:
        return ERROR_STATUS.get(self.shape, 400)


def _secret(size: int = 48) -> str:
    return secrets.token_urlsafe(size)


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636: base64url, no padding)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class Client:
    client_id: str
    secret: str
    name: str
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]


@dataclass
class DeviceCode:
    client_id: str
    user_code: str
    expires_at: float
    polls: int = 0


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: float


@dataclass
class IdentityCenter:
    """State and knobs shared by the OIDC and portal stand-ins (all access under ``lock``)."""

    world: World
    user: str = "alice@example.com"
    #: Device codes: "approve" after ``pending_polls`` pending answers, "deny", or "pending".
    device_decision: str = "approve"
    pending_polls: int = 1
    slow_down_polls: int = 0  # answer SlowDown to this many polls first
    device_interval: int = 1
    device_expires_in: int = 600
    #: The sign-in page: "approve" redirects with a code, "deny" with error=access_denied.
    authorize_decision: str = "approve"
    token_expires_in: int = 3600
    registration_lifetime: int = 90 * 86400
    #: Answers given instead of the real ones, by operation (any JSON value, with status 200).
    answers: dict[str, Any] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    calls: Counter[str] = field(default_factory=Counter)
    clients: dict[str, Client] = field(default_factory=dict)
    device_codes: dict[str, DeviceCode] = field(default_factory=dict)
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)
    access_tokens: dict[str, float] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> client id
    issued: list[str] = field(default_factory=list)  # access key ids minted by the portal

    def now(self) -> float:
        return self.world.now().timestamp()

    def expire_codes(self) -> None:
        """Make every pending device and authorization code expired."""
        with self.lock:
            for code in [*self.device_codes.values(), *self.auth_codes.values()]:
                code.expires_at = 0.0

    def expire_tokens(self) -> None:
        with self.lock:
            self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)

    # -- SSO OIDC operations ---------------------------------------------------------------

    def register_client(self, body: dict[str, Any]) -> dict[str, Any]:
        name, kind = body.get("clientName"), body.get("clientType")
        if not name or kind != "public":
            raise OidcError("InvalidClientMetadataException", "invalid_client_metadata", "bad")
        grants = tuple(body.get("grantTypes") or (DEVICE_GRANT, "refresh_token"))
        redirects = tuple(body.get("redirectUris") or ())
        if "authorization_code" in grants:
            if not redirects or not body.get("issuerUrl"):
                raise OidcError("InvalidRequestException", "invalid_request", "no redirect URI")
            for uri in redirects:
                if not uri.startswith("http://127.0.0.1"):
                    raise OidcError("InvalidRedirectUriException", "invalid_redirect_uri", uri)
        now = int(self.now())
        client = Client(
            _secret(16), _secret(), name, grants, redirects, tuple(body.get("scopes") or ())
        )
        with self.lock:
            self.clients[client.client_id] = client
        return {
            "clientId": client.client_id,
            "clientSecret": client.secret,
            "clientIdIssuedAt": now,
            "clientSecretExpiresAt": now + self.registration_lifetime,
        }

    def _client(self, body: dict[str, Any]) -> Client:
        with self.lock:
            client = self.clients.get(str(body.get("clientId")))
        if client is None or client.secret != body.get("clientSecret"):
            raise OidcError("InvalidClientException", "invalid_client", "Invalid client")
        return client

    def start_device_authorization(self, body: dict[str, Any], base: str) -> dict[str, Any]:
        client = self._client(body)
        if DEVICE_GRANT not in client.grant_types:
            raise OidcError("UnauthorizedClientException", "unauthorized_client", "no device grant")
        device, user = _secret(), f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}"
        with self.lock:
            self.device_codes[device] = DeviceCode(
                client.client_id, user, self.now() + self.device_expires_in
            )
        return {
            "deviceCode": device,
            "userCode": user,
            "verificationUri": f"{base}/device",
            "verificationUriComplete": f"{base}/device?user_code={user}",
            "expiresIn": self.device_expires_in,
            "interval": self.device_interval,
        }

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        client = self._client(body)
        grant = body.get("grantType")
        if grant == DEVICE_GRANT:
            self._redeem_device_code(client, str(body.get("deviceCode")))
        elif grant == "authorization_code":
            self._redeem_auth_code(client, body)
        elif grant == "refresh_token":
            with self.lock:
                owner = self.refresh_tokens.pop(str(body.get("refreshToken")), None)
            if owner != client.client_id:
                raise OidcError("InvalidGrantException", "invalid_grant", "Invalid refresh token")
        else:
            raise OidcError("UnsupportedGrantTypeException", "unsupported_grant_type", str(grant))
        access, refresh = _secret(), _secret()
        with self.lock:
            self.access_tokens[access] = self.now() + self.token_expires_in
            self.refresh_tokens[refresh] = client.client_id
        return {
            "accessToken": access,
            "tokenType": "Bearer",
            "expiresIn": self.token_expires_in,
            "refreshToken": refresh,
        }

    def _redeem_device_code(self, client: Client, device: str) -> None:
        with self.lock:
            code = self.device_codes.get(device)
            if code is None or code.client_id != client.client_id:
                raise OidcError("InvalidGrantException", "invalid_grant", "Invalid device code")
            if self.now() >= code.expires_at:
                raise OidcError("ExpiredTokenException", "expired_token", "Device code expired")
            code.polls += 1
            if code.polls <= self.slow_down_polls:
                raise OidcError("SlowDownException", "slow_down", "Client is polling too fast")
            if self.device_decision == "deny":
                raise OidcError("AccessDeniedException", "access_denied", "User denied")
            if self.device_decision == "pending" or code.polls <= self.pending_polls:
                raise OidcError("AuthorizationPendingException", "authorization_pending", "Pending")
            del self.device_codes[device]

    def _redeem_auth_code(self, client: Client, body: dict[str, Any]) -> None:
        with self.lock:
            code = self.auth_codes.pop(str(body.get("code")), None)
        bad = OidcError("InvalidGrantException", "invalid_grant", "Invalid authorization code")
        if code is None or code.client_id != client.client_id:
            raise bad
        if self.now() >= code.expires_at:
            raise OidcError("ExpiredTokenException", "expired_token", "Code expired")
        if body.get("redirectUri") != code.redirect_uri:
            raise bad
        if s256(str(body.get("codeVerifier") or "")) != code.challenge:
            raise bad

    def authorize(self, query: dict[str, str]) -> str:
        """The sign-in page: returns the Location to redirect the browser to."""
        with self.lock:
            client = self.clients.get(query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        parts = urlsplit(redirect)
        if (
            client is None
            or "authorization_code" not in client.grant_types
            or query.get("response_type") != "code"
            or query.get("code_challenge_method") != "S256"
            or not query.get("code_challenge")
            or not query.get("state")
            or parts.scheme != "http"
            or parts.hostname != "127.0.0.1"
            # RFC 8252 7.3: any port on a loopback redirect URI registered without one.
            or f"http://127.0.0.1{parts.path}" not in client.redirect_uris
        ):
            raise OidcError("InvalidRequestException", "invalid_request", "Bad authorize request")
        if self.authorize_decision == "deny":
            return f"{redirect}?{urlencode({'error': 'access_denied', 'state': query['state']})}"
        code = _secret()
        with self.lock:
            self.auth_codes[code] = AuthCode(
                client.client_id, redirect, query["code_challenge"].rstrip("="), self.now() + 600
            )
        return f"{redirect}?{urlencode({'code': code, 'state': query['state']})}"

    # -- the portal ------------------------------------------------------------------------

    def role_credentials(self, bearer: str | None, account: str, role: str) -> dict[str, Any]:
        with self.lock:
            expires = self.access_tokens.get(bearer or "")
        if expires is None or self.now() >= expires:
            raise OidcError("UnauthorizedException", "", "Session token not found or invalid")
        role_arn = (
            f"arn:{self.world.partition}:iam::{account}:role/aws-reserved/sso.amazonaws.com/"
            f"AWSReservedSSO_{role}_0123456789abcdef"
        )
        creds = self.world.issue_session(role_arn, self.user, source="sso")
        with self.lock:
            self.issued.append(creds.access_key_id)
        return {
            "roleCredentials": {
                "accessKeyId": creds.access_key_id,
                "secretAccessKey": creds.secret_access_key,
                "sessionToken": creds.session_token,
                "expiration": int(creds.expiration.timestamp()) * 1000,
            }
        }


_REAL = object()


class _OidcHandler(StandInHandler):
    def do_GET(self) -> None:
        center: IdentityCenter = self.standin.center
        path, query = self.split_path()
        if path != "/authorize":
            self.respond(404, b"not found")
            return
        with center.lock:
            center.calls["Authorize"] += 1
        try:
            location = center.authorize(dict(parse_qsl(query)))
        except OidcError as exc:
            self.respond(400, exc.description.encode())
            return
        self.respond(302, b"", headers={"Location": location})

    def do_POST(self) -> None:
        center: IdentityCenter = self.standin.center
        path, _ = self.split_path()
        operations = {
            "/client/register": "RegisterClient",
            "/device_authorization": "StartDeviceAuthorization",
            "/token": "CreateToken",
        }
        operation = operations.get(path)
        if operation is None:
            self.respond(404, b"not found")
            return
        with center.lock:
            center.calls[operation] += 1
            planted = center.answers.get(operation, _REAL)
        if planted is not _REAL:
            self.respond(200, json.dumps(planted).encode(), "application/json")
            return
        try:
            body = json.loads(self.read_body() or b"{}")
            if operation == "RegisterClient":
                reply = center.register_client(body)
            elif operation == "StartDeviceAuthorization":
                reply = center.start_device_authorization(body, self.standin.url)
            else:
                reply = center.create_token(body)
        except OidcError as exc:
            with center.lock:
                center.calls[f"{operation}:{exc.shape}"] += 1
            self.respond_json(
                exc.status,
                {"error": exc.error, "error_description": exc.description},
                {"x-amzn-ErrorType": exc.shape},
            )
            return
        self.respond_json(200, reply)


class _PortalHandler(StandInHandler):
    def do_GET(self) -> None:
        center: IdentityCenter = self.standin.center
        path, query = self.split_path()
        if path != "/federation/credentials":
            self.respond(404, b"not found")
            return
        params = dict(parse_qsl(query))
        with center.lock:
            center.calls["GetRoleCredentials"] += 1
        try:
            reply = center.role_credentials(
                self.headers.get("x-amz-sso_bearer_token"),
                params.get("account_id", ""),
                params.get("role_name", ""),
            )
        except OidcError as exc:
            self.respond_json(401, {"message": exc.description}, {"x-amzn-ErrorType": exc.shape})
            return
        self.respond_json(200, reply)


class SsoOidcServer(StandInServer):
    """The ``sso-oidc`` service and its sign-in page on ``http://127.0.0.1:<port>``."""

    handler_class = _OidcHandler

    def __init__(self, center: IdentityCenter, *, max_lifetime: float = DEFAULT_MAX_LIFETIME):
        super().__init__(max_lifetime=max_lifetime)
        self.center = center


class SsoPortalServer(StandInServer):
    """The ``sso`` portal (GetRoleCredentials) on ``http://127.0.0.1:<port>``."""

    handler_class = _PortalHandler

    def __init__(self, center: IdentityCenter, *, max_lifetime: float = DEFAULT_MAX_LIFETIME):
        super().__init__(max_lifetime=max_lifetime)
        self.center = center


def browser_command(folder: Path, python: str) -> str:
    """Write an executable wrapper for the browser stand-in; returns the path to use as BROWSER.

    Python's webbrowser runs a BROWSER entry without ``%s`` as one executable name (no
    arguments), so the interpreter and script go into a tiny shell script.
    """
    from tests.conftest import WINDOWS, windows_program

    if WINDOWS:  # the same, as a program Windows can run
        return str(windows_program(folder / "standin-browser.exe", BROWSER_SCRIPT))
    wrapper = folder / "standin-browser"
    wrapper.write_text(f'#!/bin/sh\nexec "{python}" "{BROWSER_SCRIPT}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def callback_port(lines: list[str]) -> int:
    """The port of the sign-in listener, read from the printed sign-in URL's redirect_uri."""
    url = next(line.split("at: ", 1)[1] for line in lines if "/authorize?" in line)
    redirect = parse_qsl(urlsplit(url).query)
    return int(urlsplit(dict(redirect)["redirect_uri"]).port or 0)


def port_is_closed(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port` any more."""
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0
