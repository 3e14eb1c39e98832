"""Loopback stand-ins for STS, IMDS and an EKS API server, sharing one :class:`World`.

Use the pytest fixtures in :mod:`tests.standins.fixtures` (``pytest_plugins``) or the context
managers directly. Every server binds 127.0.0.1 on an ephemeral port and stops itself.
"""

from __future__ import annotations

from .eks_api import EksApiServer, EksIdentity, TokenRejected, encode_token
from .imds import ImdsServer
from .sigv4 import SigV4Failure, VerifiedRequest, presign_url, verify_header_auth, verify_presigned
from .sts import StsServer
from .world import Credentials, Principal, World, WorldError

__all__ = [
    "Credentials",
    "EksApiServer",
    "EksIdentity",
    "ImdsServer",
    "Principal",
    "SigV4Failure",
    "StsServer",
    "TokenRejected",
    "VerifiedRequest",
    "World",
    "WorldError",
    "encode_token",
    "presign_url",
    "verify_header_auth",
    "verify_presigned",
]
