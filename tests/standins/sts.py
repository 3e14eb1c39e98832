"""A loopback stand-in for AWS STS: GetCallerIdentity (presigned GET or signed POST), AssumeRole.

Responses use the real STS XML shapes (JSON when the caller sends ``Accept: application/json``,
as aws-iam-authenticator does), so botocore parses them with an ``endpoint_url`` override.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from ._server import DEFAULT_MAX_LIFETIME, StandInHandler, StandInServer
from .sigv4 import SigV4Failure, VerifiedRequest, parse_query, verify_header_auth, verify_presigned
from .world import Principal, World, WorldError, iso8601z

API_VERSION = "2011-06-15"
XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"

#: HTTP status STS uses for each error code.
ERROR_STATUS = {
    "AccessDenied": 403,
    "ExpiredToken": 400,
    "IncompleteSignature": 400,
    "InternalFailure": 500,
    "InvalidAction": 400,
    "InvalidClientTokenId": 403,
    "MissingAuthenticationToken": 403,
    "RequestExpired": 400,
    "ServiceUnavailable": 503,
    "SignatureDoesNotMatch": 403,
    "Throttling": 400,
    "ValidationError": 400,
    "XAmzContentSHA256Mismatch": 400,
}

_REGIONAL_HOST = re.compile(
    r"^sts(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?:amazonaws\.com(?:\.cn)?|api\.aws)$"
)


def expected_region_for_host(host: str) -> str | None:
    """Signing region an STS endpoint host requires; None (any) for unknown hosts (loopback)."""
    hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
    if hostname == "sts.amazonaws.com":
        return "us-east-1"
    match = _REGIONAL_HOST.match(hostname)
    return match.group("region") if match else None


@dataclass(frozen=True)
class _Forced:
    code: str
    status: int
    message: str


def _x(value: object) -> str:
    return escape(str(value))


def _new_request_id() -> str:
    return str(uuid.uuid4())


def _claimed_access_key(params: dict[str, str], authorization: str | None) -> str | None:
    credential = params.get("X-Amz-Credential")
    if credential is None and authorization:
        match = re.search(r"Credential=([^/,\s]+)/", authorization)
        credential = match.group(1) if match else None
    return credential.split("/")[0] if credential else None


class _StsHandler(StandInHandler):
    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        sts: StsServer = self.standin
        path, raw_query = self.split_path()
        try:
            body = self.read_body() if self.command == "POST" else b""
        except ValueError:
            self.respond(400, b"bad request")
            return
        reply = sts.handle(self.command, path, raw_query, self.headers, body)
        self.respond(
            reply.status, reply.body, reply.content_type, {"x-amzn-RequestId": reply.request_id}
        )


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    raw_query: str
    headers: Any
    body: bytes
    params: dict[str, str]
    presigned: bool
    wants_json: bool
    request_id: str


@dataclass(frozen=True)
class StsReply:
    status: int
    content_type: str
    body: bytes
    request_id: str


class StsServer(StandInServer):
    """Stand-in STS on ``http://127.0.0.1:<port>``; see module docstring.

    Attributes: ``world``, ``url``, ``port``, ``host``, ``check_region`` (reject a credential
    scope region that does not match a real STS ``Host`` header; default True).
    """

    handler_class = _StsHandler

    def __init__(self, world: World, *, max_lifetime: float = DEFAULT_MAX_LIFETIME) -> None:
        super().__init__(max_lifetime=max_lifetime)
        self.world = world
        self.check_region = True
        self._forced: list[_Forced] = []
        self._forced_lock = threading.Lock()

    # failure injection -----------------------------------------------------------------

    def fail_with(
        self, code: str, status: int | None = None, *, count: int = 1, message: str = ""
    ) -> None:
        """Answer the next ``count`` requests with error ``code`` (before any verification)."""
        forced = _Forced(code, status or ERROR_STATUS.get(code, 400), message or f"Forced {code}")
        with self._forced_lock:
            self._forced.extend([forced] * count)

    def _take_forced(self) -> _Forced | None:
        with self._forced_lock:
            return self._forced.pop(0) if self._forced else None

    # request handling (called from handler threads) ---------------------------------------

    def handle(self, method: str, path: str, raw_query: str, headers: Any, body: bytes) -> StsReply:
        """Answer one request (``headers``: ``http.server`` headers or a mapping)."""
        params = dict(parse_query(raw_query))
        if method == "POST" and "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        request = _Request(
            method=method,
            path=path,
            raw_query=raw_query,
            headers=headers,
            body=body,
            params=params,
            presigned="X-Amz-Signature" in params or "X-Amz-Credential" in params,
            wants_json="application/json" in (headers.get("Accept") or ""),
            request_id=_new_request_id(),
        )
        status, ctype, payload = self._handle(request)
        return StsReply(status, ctype, payload, request.request_id)

    def _handle(self, request: _Request) -> tuple[int, str, bytes]:
        params, headers = request.params, request.headers
        action = params.get("Action", "")
        if action == "GetCallerIdentity":
            if request.presigned:
                suffix = "presigned"
            else:
                suffix = "post" if request.method == "POST" else "get"
            counter = f"GetCallerIdentity:{suffix}"
        else:
            counter = action or "sts:no-action"
        fields: dict[str, Any] = {
            "method": request.method,
            "auth": "presigned" if request.presigned else "header",
            "host": headers.get("Host"),
            "x_k8s_aws_id": headers.get("x-k8s-aws-id"),
            "access_key_id": _claimed_access_key(params, headers.get("Authorization")),
            "request_id": request.request_id,
        }
        forced = self._take_forced()
        if forced is not None:
            self.world.record(counter, result=forced.code, forced=True, **fields)
            return self._error(forced.code, forced.message, forced.status, request)
        try:
            verified = self._verify(request)
            principal = self.world.lookup(verified.access_key_id)
            if principal is None:  # revoked between verification and now
                raise SigV4Failure(
                    "InvalidClientTokenId", "The security token included in the request is invalid."
                )
            fields["region"] = verified.region
            fields["arn"] = principal.arn
            if params.get("Version") != API_VERSION:
                raise WorldError(
                    "InvalidAction",
                    f"Could not find operation {action} for version {params.get('Version')}",
                    status=400,
                )
            if action == "GetCallerIdentity":
                reply = self._get_caller_identity(principal, request)
            elif action == "AssumeRole":
                reply = self._assume_role(principal, request, fields)
            else:
                raise WorldError(
                    "InvalidAction",
                    f"Could not find operation {action} for version {API_VERSION}",
                    status=400,
                )
        except SigV4Failure as failure:
            self.world.record(counter, result=failure.code, **fields)
            status = ERROR_STATUS.get(failure.code, 403)
            return self._error(failure.code, failure.message, status, request)
        except WorldError as refusal:
            self.world.record(counter, result=refusal.code, **fields)
            return self._error(refusal.code, refusal.message, refusal.status, request)
        self.world.record(counter, result="ok", **fields)
        return reply

    def _verify(self, request: _Request) -> VerifiedRequest:
        host = request.headers.get("Host") or ""
        region = expected_region_for_host(host) if self.check_region else None
        now = self.world.now()
        if request.presigned:
            return verify_presigned(
                request.method,
                request.path,
                request.raw_query,
                request.headers,
                self.world.lookup,
                now,
                expected_region=region,
            )
        return verify_header_auth(
            request.method,
            request.path,
            request.raw_query,
            request.headers,
            request.body,
            self.world.lookup,
            now,
            expected_region=region,
        )

    def _get_caller_identity(
        self, principal: Principal, request: _Request
    ) -> tuple[int, str, bytes]:
        request_id = request.request_id
        if request.wants_json:
            doc = {
                "GetCallerIdentityResponse": {
                    "GetCallerIdentityResult": {
                        "Account": principal.account,
                        "Arn": principal.arn,
                        "UserId": principal.user_id,
                    },
                    "ResponseMetadata": {"RequestId": request_id},
                }
            }
            return 200, "application/json", json.dumps(doc).encode()
        xml = (
            f'<GetCallerIdentityResponse xmlns="{XMLNS}">\n'
            "  <GetCallerIdentityResult>\n"
            f"    <Arn>{_x(principal.arn)}</Arn>\n"
            f"    <UserId>{_x(principal.user_id)}</UserId>\n"
            f"    <Account>{_x(principal.account)}</Account>\n"
            "  </GetCallerIdentityResult>\n"
            "  <ResponseMetadata>\n"
            f"    <RequestId>{request_id}</RequestId>\n"
            "  </ResponseMetadata>\n"
            "</GetCallerIdentityResponse>\n"
        )
        return 200, "text/xml", xml.encode()

    def _assume_role(
        self, caller: Principal, request: _Request, fields: dict[str, Any]
    ) -> tuple[int, str, bytes]:
        params, request_id = request.params, request.request_id
        role_arn = params.get("RoleArn")
        session_name = params.get("RoleSessionName")
        fields.update(role_arn=role_arn, session_name=session_name)
        if not role_arn:
            raise WorldError(
                "ValidationError",
                "1 validation error detected: Value null at 'roleArn' failed to satisfy "
                "constraint: Member must not be null",
                status=400,
            )
        self.world.validate_session_name(session_name)
        assert session_name is not None
        raw_duration = params.get("DurationSeconds", "3600")
        if not raw_duration.isdigit() or not 900 <= int(raw_duration) <= 43200:
            raise WorldError(
                "ValidationError",
                f"1 validation error detected: Value '{raw_duration}' at 'durationSeconds' "
                "failed to satisfy constraint: Member must have value between 900 and 43200",
                status=400,
            )
        duration = int(raw_duration)
        fields.update(duration=duration, external_id_given="ExternalId" in params)
        self.world.authorize_assume(
            caller, role_arn, external_id=params.get("ExternalId"), duration=duration
        )
        creds = self.world.issue_session(role_arn, session_name, duration, source=caller.arn)
        fields["issued_access_key_id"] = creds.access_key_id
        xml = (
            f'<AssumeRoleResponse xmlns="{XMLNS}">\n'
            "  <AssumeRoleResult>\n"
            "    <AssumedRoleUser>\n"
            f"      <AssumedRoleId>{_x(creds.assumed_role_id)}</AssumedRoleId>\n"
            f"      <Arn>{_x(creds.arn)}</Arn>\n"
            "    </AssumedRoleUser>\n"
            "    <Credentials>\n"
            f"      <AccessKeyId>{_x(creds.access_key_id)}</AccessKeyId>\n"
            f"      <SecretAccessKey>{_x(creds.secret_access_key)}</SecretAccessKey>\n"
            f"      <SessionToken>{_x(creds.session_token)}</SessionToken>\n"
            f"      <Expiration>{iso8601z(creds.expiration)}</Expiration>\n"
            "    </Credentials>\n"
            "  </AssumeRoleResult>\n"
            "  <ResponseMetadata>\n"
            f"    <RequestId>{request_id}</RequestId>\n"
            "  </ResponseMetadata>\n"
            "</AssumeRoleResponse>\n"
        )
        return 200, "text/xml", xml.encode()

    @staticmethod
    def _error(code: str, message: str, status: int, request: _Request) -> tuple[int, str, bytes]:
        request_id = request.request_id
        kind = "Receiver" if status >= 500 else "Sender"
        if request.wants_json:
            doc = {
                "Error": {"Code": code, "Message": message, "Type": kind},
                "RequestId": request_id,
            }
            return status, "application/json", json.dumps(doc).encode()
        xml = (
            f'<ErrorResponse xmlns="{XMLNS}">\n'
            "  <Error>\n"
            f"    <Type>{kind}</Type>\n"
            f"    <Code>{_x(code)}</Code>\n"
            f"    <Message>{_x(message)}</Message>\n"
            "  </Error>\n"
            f"  <RequestId>{request_id}</RequestId>\n"
            "</ErrorResponse>\n"
        )
        return status, "text/xml", xml.encode()
