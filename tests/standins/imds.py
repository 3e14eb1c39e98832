"""A loopback stand-in for the EC2 instance metadata service, IMDSv2 only.

Point botocore at it with ``AWS_EC2_METADATA_SERVICE_ENDPOINT=<server.url>/``.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._server import DEFAULT_MAX_LIFETIME, StandInHandler, StandInServer
from .world import Credentials, World, iso8601z

TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
MAX_TOKEN_TTL = 21600
CREDENTIALS_PREFIX = "/latest/meta-data/iam/security-credentials/"


@dataclass(frozen=True)
class _Forced:
    status: int
    body: bytes


class _ImdsHandler(StandInHandler):
    def do_PUT(self) -> None:
        imds: ImdsServer = self.standin
        path, _ = self.split_path()
        if path != "/latest/api/token":
            imds.world.record("imds:other", path=path, method="PUT", result="NotFound")
            self.respond(404, b"Not Found")
            return
        status, body, headers = imds.issue_token(
            self.headers.get(TTL_HEADER), forwarded=self.headers.get("X-Forwarded-For") is not None
        )
        self.respond(status, body, "text/plain", headers)

    def do_GET(self) -> None:
        imds: ImdsServer = self.standin
        path, _ = self.split_path()
        status, body = imds.get(path, self.headers.get(TOKEN_HEADER))
        self.respond(status, body, "text/plain")


class ImdsServer(StandInServer):
    """IMDSv2 on ``http://127.0.0.1:<port>`` with one instance profile role.

    Attributes: ``world``, ``role_name``, ``role_arn``, ``instance_id``, ``account``,
    ``region``, ``credential_duration``, ``refresh_margin``, ``credentials`` (the current
    :class:`Credentials` or None), ``url``/``port``. Counters in ``world.calls``:
    ``imds:token``, ``imds:role-name``, ``imds:credentials``, ``imds:instance-id``,
    ``imds:region``, ``imds:identity-document``, ``imds:unauthorized``, ``imds:other``.
    """

    handler_class = _ImdsHandler

    def __init__(
        self,
        world: World,
        role_name: str = "NodeInstanceRole",
        instance_id: str = "i-0abc1234def567890",
        account: str = "111122223333",
        *,
        region: str = "us-east-1",
        credential_duration: timedelta = timedelta(hours=6),
        refresh_margin: timedelta = timedelta(minutes=30),
        max_lifetime: float = DEFAULT_MAX_LIFETIME,
    ) -> None:
        super().__init__(max_lifetime=max_lifetime)
        self.world = world
        self.role_name = role_name
        self.instance_id = instance_id
        self.account = account
        self.region = region
        # botocore extends IMDS credentials expiring within 10 min + 2..10 min jitter of *real*
        # time ("static stability"), so keep issued credentials well clear of that window.
        self.credential_duration = credential_duration
        self.refresh_margin = refresh_margin
        self.credentials: Credentials | None = None
        self._tokens: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._forced: list[_Forced] = []

    @property
    def role_arn(self) -> str:
        return f"arn:{self.world.partition}:iam::{self.account}:role/{self.role_name}"

    # switches -----------------------------------------------------------------------------

    def fail_with(self, status: int = 500, *, count: int = 1, body: bytes = b"") -> None:
        """Answer the next ``count`` GET requests with ``status`` (token PUTs unaffected)."""
        with self._lock:
            self._forced.extend([_Forced(status, body)] * count)

    def rotate(self) -> Credentials:
        """Mint fresh role credentials now (old ones stay valid until they expire)."""
        with self._lock:
            return self._mint()

    def current_credentials(self) -> Credentials:
        """The credentials IMDS serves now, minting or refreshing them if needed."""
        with self._lock:
            creds = self.credentials
            if creds is None or creds.expiration - self.world.now() < self.refresh_margin:
                creds = self._mint()
            return creds

    def _mint(self) -> Credentials:
        self.credentials = self.world.issue_session(
            self.role_arn, self.instance_id, self.credential_duration, source="imds"
        )
        return self.credentials

    # protocol -----------------------------------------------------------------------------

    def issue_token(
        self, ttl_header: str | None, *, forwarded: bool = False
    ) -> tuple[int, bytes, dict[str, str]]:
        if forwarded:  # IMDS refuses token requests that went through a proxy
            self.world.record("imds:token", result="Forbidden")
            return 403, b"Forbidden", {}
        if ttl_header is None or not ttl_header.isdigit():
            self.world.record("imds:token", result="BadRequest")
            return 400, b"Bad Request", {}
        ttl = int(ttl_header)
        if not 1 <= ttl <= MAX_TOKEN_TTL:
            self.world.record("imds:token", result="BadRequest")
            return 400, b"Bad Request", {}
        token = "AQAEA" + secrets.token_urlsafe(40)
        with self._lock:
            self._tokens[token] = self.world.now() + timedelta(seconds=ttl)
        self.world.record("imds:token", result="ok", ttl=ttl)
        return 200, token.encode(), {TTL_HEADER: str(ttl)}

    def _token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and self.world.now() < expiry

    def get(self, path: str, token: str | None) -> tuple[int, bytes]:
        if not self._token_valid(token):
            self.world.record("imds:unauthorized", path=path, token_sent=token is not None)
            return 401, b"Unauthorized"
        with self._lock:
            forced = self._forced.pop(0) if self._forced else None
        if forced is not None:
            self.world.record("imds:forced", path=path, result=str(forced.status))
            return forced.status, forced.body
        if path in (CREDENTIALS_PREFIX, CREDENTIALS_PREFIX.rstrip("/")):
            self.world.record("imds:role-name", result="ok")
            return 200, self.role_name.encode()
        if path.startswith(CREDENTIALS_PREFIX):
            return self._credentials_document(path[len(CREDENTIALS_PREFIX) :])
        return self._static(path)

    def _credentials_document(self, requested: str) -> tuple[int, bytes]:
        if requested != self.role_name:
            self.world.record("imds:credentials", role=requested, result="NotFound")
            return 404, b"Not Found"
        creds = self.current_credentials()
        self.world.record(
            "imds:credentials", role=requested, access_key_id=creds.access_key_id, result="ok"
        )
        document = {
            "Code": "Success",
            "LastUpdated": iso8601z(self.world.now()),
            "Type": "AWS-HMAC",
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token,
            "Expiration": iso8601z(creds.expiration),
        }
        return 200, json.dumps(document, indent=2).encode()

    def _static(self, path: str) -> tuple[int, bytes]:
        simple = {
            "/latest/meta-data/instance-id": ("imds:instance-id", self.instance_id),
            "/latest/meta-data/placement/region": ("imds:region", self.region),
            "/latest/meta-data/placement/availability-zone": ("imds:region", f"{self.region}a"),
        }
        if path in simple:
            counter, value = simple[path]
            self.world.record(counter, path=path, result="ok")
            return 200, value.encode()
        if path == "/latest/dynamic/instance-identity/document":
            self.world.record("imds:identity-document", result="ok")
            document = {
                "accountId": self.account,
                "architecture": "x86_64",
                "availabilityZone": f"{self.region}a",
                "imageId": "ami-0123456789abcdef0",
                "instanceId": self.instance_id,
                "instanceType": "m5.large",
                "pendingTime": "2024-01-01T00:00:00Z",
                "privateIp": "10.0.0.10",
                "region": self.region,
                "version": "2017-09-30",
            }
            return 200, json.dumps(document, indent=2).encode()
        self.world.record("imds:other", path=path, method="GET", result="NotFound")
        return 404, b"Not Found"
