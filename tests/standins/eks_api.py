"""A loopback HTTPS stand-in for an EKS Kubernetes API server.

It authenticates ``Authorization: Bearer k8s-aws-v1.<...>`` tokens the way aws-iam-authenticator
does, with code independent of the eksauth package: decode the token, check the presigned URL,
replay it as a GET against the stand-in STS (sending the token's host as ``Host`` and this
cluster's ``x-k8s-aws-id``), and trust the identity STS returns.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import re
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import trustme

from ._server import DEFAULT_MAX_LIFETIME, LOOPBACK, StandInHandler, StandInServer
from .world import World

TOKEN_PREFIX = "k8s-aws-v1."
AWS_AUTH_PATH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"
CLUSTER_ID_HEADER = "x-k8s-aws-id"
MAX_TOKEN_BYTES = 4096
TOKEN_MAX_AGE = timedelta(minutes=15)
VERSION_INFO = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-eks-stand-in",
    "platform": "linux/amd64",
}
#: Query parameters aws-iam-authenticator accepts in the presigned URL (lower-cased).
ALLOWED_PARAMS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_STS_HOSTS = (
    re.compile(r"^sts\.amazonaws\.com$"),
    re.compile(rf"^sts(?:-fips)?\.{_REGION}\.amazonaws\.com(?:\.cn)?$"),
    re.compile(rf"^sts(?:-fips)?\.{_REGION}\.api\.aws$"),
)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


UNAUTHORIZED = _status(401, "Unauthorized", "Unauthorized")


class TokenRejected(Exception):
    """The bearer token was refused; ``str(exc)`` is the reason."""


@dataclass(frozen=True)
class EksIdentity:
    """An authenticated caller, as aws-iam-authenticator would map it."""

    arn: str
    canonical_arn: str
    user_id: str
    session_name: str | None
    account: str
    access_key_id: str
    sts_host: str


def encode_token(url: str) -> str:
    """``k8s-aws-v1.`` + unpadded URL-safe base64 of ``url`` (for crafting test tokens)."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def decode_token(token: str) -> str:
    """Inverse of :func:`encode_token`, strict like Go's ``base64.RawURLEncoding``."""
    if not token.startswith(TOKEN_PREFIX):
        raise TokenRejected(f"token is missing expected {TOKEN_PREFIX!r} prefix")
    payload = token[len(TOKEN_PREFIX) :]
    if not re.fullmatch(r"[A-Za-z0-9_-]*", payload) or len(payload) % 4 == 1:
        raise TokenRejected("illegal base64 data in token")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise TokenRejected(f"illegal base64 data in token: {exc}") from None


def canonicalize_arn(arn: str) -> str:
    """``assumed-role/Role/session`` -> ``arn:<p>:iam::<acct>:role/Role``; others unchanged."""
    match = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/[^/]+$", arn)
    if match:
        return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}"
    return arn


def _parse_sts_body(body: bytes) -> tuple[str, str, str]:
    """(Arn, UserId, Account) from a JSON or XML GetCallerIdentity response."""
    try:
        doc = json.loads(body)
        result = doc["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
        return str(result["Arn"]), str(result["UserId"]), str(result["Account"])
    except (ValueError, KeyError, TypeError):
        pass
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (our own loopback STS)
    except ElementTree.ParseError as exc:
        raise TokenRejected(f"unparseable STS response: {exc}") from None
    values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    try:
        return values["Arn"], values["UserId"], values["Account"]
    except KeyError:
        raise TokenRejected("STS response lacks Arn/UserId/Account") from None


def _check_origin(scheme: str, netloc: str, own_host: str) -> None:
    if netloc == own_host:
        if scheme not in ("http", "https"):
            raise TokenRejected(f"unexpected scheme {scheme!r} in pre-signed URL")
        return
    if scheme != "https":
        raise TokenRejected(f"unexpected scheme {scheme!r} in pre-signed URL")
    if not any(p.match(netloc) for p in _STS_HOSTS):
        raise TokenRejected(f"unexpected hostname {netloc!r} in pre-signed URL")


def _check_params(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        lowered = key.lower()
        if lowered not in ALLOWED_PARAMS:
            raise TokenRejected(f"non-whitelisted query parameter {key!r}")
        if lowered in params:
            raise TokenRejected("query parameter with multiple values not supported")
        params[lowered] = value
    if params.get("action") != "GetCallerIdentity":
        raise TokenRejected("unexpected action parameter in pre-signed URL")
    signed = [h.lower() for h in params.get("x-amz-signedheaders", "").split(";")]
    if CLUSTER_ID_HEADER not in signed:
        raise TokenRejected(f"client did not sign the {CLUSTER_ID_HEADER} header")
    expires = params.get("x-amz-expires", "")
    if not expires.isdigit() or int(expires) > 900:
        raise TokenRejected(f"invalid X-Amz-Expires parameter in pre-signed URL: {expires!r}")
    if not params.get("x-amz-date"):
        raise TokenRejected("X-Amz-Date parameter must be present in pre-signed URL")
    return params


def verify_token(
    token: str,
    *,
    sts_host: str,
    sts_port: int,
    cluster_id: str,
    now: datetime,
    timeout: float = 5.0,
) -> EksIdentity:
    """Authenticate ``token`` like aws-iam-authenticator, replaying it to STS on loopback.

    ``sts_host:sts_port`` is where the replay goes; a token URL may name that address (over
    http or https) or a real STS host (https only). Like the authenticator, a token whose
    X-Amz-Date is more than 15 minutes before ``now`` is refused without asking STS.
    """
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenRejected("token is too large")
    parts = urlsplit(decode_token(token))
    _check_origin(parts.scheme, parts.netloc, f"{sts_host}:{sts_port}")
    if parts.path != "/" or parts.fragment:
        raise TokenRejected("unexpected path in pre-signed URL")
    params = _check_params(parts.query)
    try:
        signed_at = datetime.strptime(params["x-amz-date"], "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise TokenRejected("error parsing X-Amz-Date parameter") from None
    if now > signed_at.replace(tzinfo=timezone.utc) + TOKEN_MAX_AGE:
        raise TokenRejected("X-Amz-Date parameter is expired (15 minute expiration)")

    conn = http.client.HTTPConnection(sts_host, sts_port, timeout=timeout)
    try:
        conn.request(
            "GET",
            f"/?{parts.query}",
            headers={
                "Host": parts.netloc,
                CLUSTER_ID_HEADER: cluster_id,
                "Accept": "application/json",
            },
        )
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        raise TokenRejected(f"error during GET: {exc}") from None
    finally:
        conn.close()
    if response.status != 200:
        snippet = body[:300].decode("utf-8", "replace")
        raise TokenRejected(f"error from AWS (expected 200, got {response.status}). {snippet}")
    arn, user_id, account = _parse_sts_body(body)
    uid, _, session = user_id.partition(":")
    return EksIdentity(
        arn=arn,
        canonical_arn=canonicalize_arn(arn),
        user_id=uid,
        session_name=session or None,
        account=account,
        access_key_id=params.get("x-amz-credential", "").split("/")[0],
        sts_host=parts.netloc,
    )


class _EksHandler(StandInHandler):
    def _serve(self) -> None:
        eks: EksApiServer = self.standin
        status, payload = eks.handle(self.command, self.path, self.headers.get("Authorization"))
        self.respond_json(status, payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class EksApiServer(StandInServer):
    """HTTPS on ``127.0.0.1`` with a trustme CA; see the module docstring.

    Attributes: ``url``, ``port``, ``cluster_id``, ``sts_url``, ``ca_pem_bytes``,
    ``ca_data_b64`` (kubeconfig ``certificate-authority-data``), ``ca_file`` (``ca.crt`` in
    ``tmp_path``), ``seen`` (list of :class:`EksIdentity`), ``rejections`` (list of reasons).
    """

    handler_class = _EksHandler
    scheme = "https"

    def __init__(
        self,
        world: World,
        sts_url: str,
        cluster_id: str = "demo",
        tmp_path: Path | None = None,
        *,
        max_lifetime: float = DEFAULT_MAX_LIFETIME,
    ) -> None:
        super().__init__(max_lifetime=max_lifetime)
        self.world = world
        self.sts_url = sts_url
        parsed = urlsplit(sts_url)
        if parsed.hostname != LOOPBACK or parsed.port is None:
            raise ValueError(f"sts_url must be http://{LOOPBACK}:<port>, got {sts_url!r}")
        self._sts_host, self._sts_port = parsed.hostname, parsed.port
        self.cluster_id = cluster_id
        self.seen: list[EksIdentity] = []
        # kube-system/aws-auth's data (GET /api/v1/namespaces/kube-system/configmaps/aws-auth);
        # None: no such ConfigMap (404).
        self.aws_auth: dict[str, str] | None = None
        self.rejections: list[str] = []
        self._lock = threading.Lock()
        self._own_tmp: str | None = None
        if tmp_path is None:
            self._own_tmp = tempfile.mkdtemp(prefix="eks-standin-")
            tmp_path = Path(self._own_tmp)
        self.tmp_path = tmp_path
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert(LOOPBACK, "localhost")
        self.ca_pem_bytes: bytes = self.ca.cert_pem.bytes()
        self.ca_data_b64 = base64.b64encode(self.ca_pem_bytes).decode()
        self.ca_file = tmp_path / "ca.crt"
        self.ca_file.write_bytes(self.ca_pem_bytes)

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])
        self._cert.configure_cert(context)
        return context

    def stop(self) -> None:
        super().stop()
        if self._own_tmp is not None:
            shutil.rmtree(self._own_tmp, ignore_errors=True)
            self._own_tmp = None

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only this server's CA."""
        return ssl.create_default_context(cadata=self.ca_pem_bytes.decode())

    def kubeconfig(
        self,
        *,
        token: str | None = None,
        exec_command: str | None = None,
        exec_args: tuple[str, ...] | list[str] = (),
        exec_env: dict[str, str] | None = None,
        name: str = "standin",
    ) -> dict[str, Any]:
        """A kubeconfig (as a dict) for this server with a static token or an exec plugin."""
        if (token is None) == (exec_command is None):
            raise ValueError("give exactly one of token= or exec_command=")
        user: dict[str, Any]
        if token is not None:
            user = {"token": token}
        else:
            user = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": exec_command,
                    "args": list(exec_args),
                    "env": [{"name": k, "value": v} for k, v in (exec_env or {}).items()] or None,
                    "interactiveMode": "Never",
                    "provideClusterInfo": False,
                }
            }
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {"server": self.url, "certificate-authority-data": self.ca_data_b64},
                }
            ],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        }

    def write_kubeconfig(self, path: Path, **kwargs: Any) -> Path:
        """Write :meth:`kubeconfig` (JSON is valid YAML) to ``path``; returns ``path``."""
        path.write_text(json.dumps(self.kubeconfig(**kwargs), indent=2))
        return path

    def authenticate(self, authorization: str | None) -> EksIdentity:
        if not authorization:
            raise TokenRejected("no Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRejected("Authorization is not a bearer token")
        return verify_token(
            token.strip(),
            sts_host=self._sts_host,
            sts_port=self._sts_port,
            cluster_id=self.cluster_id,
            now=self.world.now(),
        )

    def handle(self, method: str, path: str, authorization: str | None) -> tuple[int, Any]:
        self.world.record("eks:request", count=True, method=method, path=path)
        try:
            identity = self.authenticate(authorization)
        except TokenRejected as exc:
            with self._lock:
                self.rejections.append(str(exc))
            self.world.record("eks:rejected", reason=str(exc), path=path)
            return 401, UNAUTHORIZED
        with self._lock:
            self.seen.append(identity)
        self.world.record(
            "eks:authenticated",
            arn=identity.arn,
            session_name=identity.session_name,
            access_key_id=identity.access_key_id,
            path=path,
        )
        if method == "GET" and path.partition("?")[0] == "/version":
            return 200, VERSION_INFO
        if (
            method == "GET"
            and path.partition("?")[0] == AWS_AUTH_PATH
            and self.aws_auth is not None
        ):
            configmap = {"kind": "ConfigMap", "apiVersion": "v1", "data": self.aws_auth}
            configmap["metadata"] = {"name": "aws-auth", "namespace": "kube-system"}
            return 200, configmap
        message = f"the server could not find the requested resource ({method} {path})"
        return 404, _status(404, "NotFound", message)
