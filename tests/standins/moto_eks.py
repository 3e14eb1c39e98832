"""moto's server on loopback as the EKS API for DescribeCluster (update-kubeconfig tests).

Fixtures: `moto_url` (one server per test module) and `moto_eks` (a boto3 EKS client on a
freshly reset moto, with AWS_ENDPOINT_URL_EKS pointing there).
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def moto_eks_server() -> Iterator[str]:
    """moto's server on loopback (ephemeral port); its base URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_moto(url: str) -> None:
    # S310: an http URL of our own loopback moto, never a file: or custom scheme.
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def create_cluster(client: Any, name: str = "demo") -> dict[str, Any]:
    client.create_cluster(
        name=name, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={}
    )
    cluster: dict[str, Any] = client.describe_cluster(name=name)["cluster"]
    return cluster


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_eks_server() as url:
        yield url


@pytest.fixture
def moto_eks(moto_url, monkeypatch, static_keys) -> Any:
    """A boto3 EKS client on a freshly reset moto, with AWS_ENDPOINT_URL_EKS pointing there."""
    import boto3

    reset_moto(moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", moto_url)
    return boto3.client("eks", region_name="eu-west-1")
