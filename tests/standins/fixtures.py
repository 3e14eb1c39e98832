"""pytest fixtures for the stand-ins. Load with ``pytest_plugins = ["tests.standins.fixtures"]``.

``world``       a fresh :class:`World` (real clock, no principals).
``sts_server``  a running :class:`StsServer` on that world.
``imds_server`` a running :class:`ImdsServer` (role ``NodeInstanceRole``) on that world.
``eks``         a running :class:`EksControlServer` (EKS's control-plane API, region eu-west-1)
                on that world, reached through AWS_ENDPOINT_URL_EKS.
``eks_api``     a running :class:`EksApiServer` (cluster ``demo``) replaying to ``sts_server``;
                its CA is written to ``tmp_path / "ca.crt"``.
``center``      an :class:`IdentityCenter` on that world.
``sso_servers`` running SSO OIDC and portal stand-ins for it.
``browser_log`` the AWS config :data:`SSO_CONFIG` in HOME, AWS_ENDPOINT_URL_SSO_OIDC/_SSO set to
                the stand-ins and BROWSER to the browser stand-in; returns its event log.
"""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import pytest

from .eks_api import EksApiServer
from .eks_control import EksControlServer
from .imds import ImdsServer
from .sso import SSO_CONFIG, IdentityCenter, SsoOidcServer, SsoPortalServer, browser_command
from .sts import StsServer
from .world import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def sts_server(world: World) -> Iterator[StsServer]:
    with StsServer(world) as server:
        yield server


@pytest.fixture
def imds_server(world: World) -> Iterator[ImdsServer]:
    with ImdsServer(world) as server:
        yield server


@pytest.fixture
def eks_api(world: World, sts_server: StsServer, tmp_path: Path) -> Iterator[EksApiServer]:
    with EksApiServer(world, sts_server.url, tmp_path=tmp_path) as server:
        yield server


@pytest.fixture
def center(world: World) -> IdentityCenter:
    return IdentityCenter(world)


@pytest.fixture
def sso_servers(center: IdentityCenter) -> Iterator[tuple[SsoOidcServer, SsoPortalServer]]:
    with SsoOidcServer(center) as oidc, SsoPortalServer(center) as portal:
        yield oidc, portal


@pytest.fixture
def browser_log(
    aws_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sso_servers: tuple[SsoOidcServer, SsoPortalServer],
) -> Path:
    """Point botocore at the stand-ins and webbrowser at the browser stand-in; returns its log."""
    (aws_env / ".aws" / "config").write_text(SSO_CONFIG)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", sso_servers[0].url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", sso_servers[1].url)
    monkeypatch.setenv("BROWSER", browser_command(tmp_path, sys.executable))
    log = tmp_path / "browser.log"
    monkeypatch.setenv("STANDIN_BROWSER_LOG", str(log))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("STANDIN_BROWSER_MODE", raising=False)
    # botocore fixes ~/.aws/sso/cache when it is first imported, in whichever test's HOME that
    # was; an eksauth process reads it once, so give this test's in-process runs its own HOME.
    import botocore.credentials
    import botocore.tokens

    sso_cache = str(aws_env / ".aws" / "sso" / "cache")
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", sso_cache)
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", sso_cache)
    # webbrowser reads BROWSER once per process; forget what an earlier test registered.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    return log


@pytest.fixture
def eks(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[EksControlServer]:
    with EksControlServer(world, region="eu-west-1") as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", server.url)
        yield server
