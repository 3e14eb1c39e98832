"""pytest fixtures for the stand-ins. Load with ``pytest_plugins = ["tests.standins.fixtures"]``.

``world``       a fresh :class:`World` (real clock, no principals).
``sts_server``  a running :class:`StsServer` on that world.
``imds_server`` a running :class:`ImdsServer` (role ``NodeInstanceRole``) on that world.
``eks_api``     a running :class:`EksApiServer` (cluster ``demo``) replaying to ``sts_server``;
                its CA is written to ``tmp_path / "ca.crt"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .eks_api import EksApiServer
from .imds import ImdsServer
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
