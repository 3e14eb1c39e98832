"""The Identity Center stand-ins speak the wire protocols botocore expects."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from tests.standins.sso import (
    DEVICE_GRANT,
    IdentityCenter,
    SsoOidcServer,
    SsoPortalServer,
    s256,
)
from tests.standins.world import World

REDIRECT = "http://127.0.0.1/oauth/callback"


@pytest.fixture
def center(world: World) -> IdentityCenter:
    return IdentityCenter(world)


@pytest.fixture
def oidc(center: IdentityCenter, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with SsoOidcServer(center) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", server.url)
        config = Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 1})
        yield botocore.session.Session().create_client(
            "sso-oidc", region_name="us-east-1", config=config
        )


@pytest.fixture
def portal(center: IdentityCenter, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with SsoPortalServer(center) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", server.url)
        config = Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 1})
        yield botocore.session.Session().create_client(
            "sso", region_name="us-east-1", config=config
        )


def _auth_client(oidc: Any) -> dict[str, Any]:
    return dict(
        oidc.register_client(
            clientName="t",
            clientType="public",
            grantTypes=["authorization_code", "refresh_token"],
            redirectUris=[REDIRECT],
            issuerUrl="https://corp.awsapps.com/start",
            scopes=["sso:account:access"],
        )
    )


def _authorize(oidc: Any, client_id: str, challenge: str, port: int = 4321) -> dict[str, str]:
    base = urlsplit(oidc.meta.endpoint_url)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": f"http://127.0.0.1:{port}/oauth/callback",
            "state": "s1",
            "code_challenge_method": "S256",
            "scopes": "sso:account:access",
            "code_challenge": challenge,
        }
    )
    conn = http.client.HTTPConnection(base.hostname or "", base.port, timeout=5)
    try:
        conn.request("GET", f"/authorize?{query}")
        reply = conn.getresponse()
        reply.read()
    finally:
        conn.close()
    assert reply.status == 302
    location = urlsplit(reply.headers["Location"])
    assert location.port == port
    return {k: v[0] for k, v in parse_qs(location.query).items()}


class TestOidc:
    def test_authorization_code_with_pkce_then_refresh(self, oidc: Any) -> None:
        client = _auth_client(oidc)
        verifier = "v" * 64
        got = _authorize(oidc, client["clientId"], s256(verifier))
        assert got["state"] == "s1"
        token = oidc.create_token(
            grantType="authorization_code",
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            code=got["code"],
            codeVerifier=verifier,
            redirectUri="http://127.0.0.1:4321/oauth/callback",
        )
        assert token["tokenType"] == "Bearer"
        refreshed = oidc.create_token(
            grantType="refresh_token",
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            refreshToken=token["refreshToken"],
        )
        assert refreshed["accessToken"] != token["accessToken"]

    @pytest.mark.parametrize(
        "change", [{"codeVerifier": "w" * 64}, {"redirectUri": "http://127.0.0.1:1/oauth/callback"}]
    )
    def test_wrong_verifier_or_redirect_is_invalid_grant(
        self, oidc: Any, change: dict[str, str]
    ) -> None:
        client = _auth_client(oidc)
        got = _authorize(oidc, client["clientId"], s256("v" * 64))
        params = {
            "grantType": "authorization_code",
            "clientId": client["clientId"],
            "clientSecret": client["clientSecret"],
            "code": got["code"],
            "codeVerifier": "v" * 64,
            "redirectUri": "http://127.0.0.1:4321/oauth/callback",
        }
        params.update(change)
        with pytest.raises(oidc.exceptions.InvalidGrantException) as caught:
            oidc.create_token(**params)
        assert caught.value.response["error"] == "invalid_grant"

    def test_device_code_pending_then_approved(self, oidc: Any, center: IdentityCenter) -> None:
        client = oidc.register_client(clientName="t", clientType="public")
        started = oidc.start_device_authorization(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            startUrl="https://corp.awsapps.com/start",
        )
        params = {
            "grantType": DEVICE_GRANT,
            "clientId": client["clientId"],
            "clientSecret": client["clientSecret"],
            "deviceCode": started["deviceCode"],
        }
        with pytest.raises(oidc.exceptions.AuthorizationPendingException):
            oidc.create_token(**params)
        assert oidc.create_token(**params)["accessToken"]
        assert center.calls["CreateToken"] == 2

    def test_bad_client_secret(self, oidc: Any) -> None:
        client = oidc.register_client(clientName="t", clientType="public")
        with pytest.raises(oidc.exceptions.InvalidClientException):
            oidc.start_device_authorization(
                clientId=client["clientId"], clientSecret="nope", startUrl="https://x/start"
            )

    def test_auth_code_client_may_not_use_the_device_grant(self, oidc: Any) -> None:
        client = _auth_client(oidc)
        with pytest.raises(oidc.exceptions.UnauthorizedClientException):
            oidc.start_device_authorization(
                clientId=client["clientId"],
                clientSecret=client["clientSecret"],
                startUrl="https://x/start",
            )


class TestPortal:
    def test_unknown_or_expired_bearer_is_unauthorized(
        self, portal: Any, center: IdentityCenter
    ) -> None:
        with pytest.raises(portal.exceptions.UnauthorizedException):
            portal.get_role_credentials(roleName="Admin", accountId="111122223333", accessToken="x")
        center.access_tokens["t"] = 0.0
        with pytest.raises(portal.exceptions.UnauthorizedException):
            portal.get_role_credentials(roleName="Admin", accountId="111122223333", accessToken="t")

    def test_role_credentials_are_known_to_the_world(
        self, portal: Any, center: IdentityCenter, world: World
    ) -> None:
        center.access_tokens["t"] = center.now() + 60
        creds = portal.get_role_credentials(
            roleName="Admin", accountId="111122223333", accessToken="t"
        )["roleCredentials"]
        principal = world.lookup(creds["accessKeyId"])
        assert principal is not None
        assert principal.session_token == creds["sessionToken"]
        assert creds["expiration"] == int(principal.expiration.timestamp()) * 1000  # type: ignore[union-attr]
