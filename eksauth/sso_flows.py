"""The two IAM Identity Center sign-in flows: authorization code with PKCE, and device code.

Each returns botocore's CreateToken reply (a dict) or raises one `SsoError` line. The `oidc`
client is a botocore ``sso-oidc`` client made by the caller; `say` prints one line on stderr.
Nothing here prints a token, client secret, code or code verifier.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import webbrowser
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from eksauth.errors import SsoError

Say = Callable[[str], None]
CALLBACK_PATH = "/oauth/callback"
REDIRECT_URI = "http://127.0.0.1" + CALLBACK_PATH  # registered without a port (RFC 8252 7.3)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 3.2: when the server gives none
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: each slow_down adds 5 seconds
_PAGE = b"<html><body>Signed in. You can close this tab and return to the terminal.</body></html>"


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge): 64 unreserved characters, base64url without '='."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def supports_auth_code(oidc: Any) -> bool:
    """Whether this botocore's sso-oidc model has PKCE (botocore 1.31.0 has not: device code)."""
    shape = oidc.meta.service_model.operation_model("CreateToken").input_shape
    return "codeVerifier" in shape.members


def endpoint_of(oidc: Any) -> str:
    """``scheme://host[:port]`` the client sends requests to (the sign-in page lives there too).

    Asked of botocore's own endpoint resolution (rulesets, FIPS, AWS_ENDPOINT_URL_SSO_OIDC) by
    stopping a RegisterClient call in `before-call`, before anything is sent.
    """
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    seen: list[str] = []

    def stop(params: Mapping[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        seen.append(str(params["url"]))
        return AWSResponse(str(params["url"]), 200, HTTPHeaders(), None), {}

    events = oidc.meta.events
    events.register_first("before-call.sso-oidc.RegisterClient", stop, unique_id="eksauth-probe")
    try:
        oidc.register_client(clientName="eksauth-probe", clientType="public")
    finally:
        events.unregister("before-call.sso-oidc.RegisterClient", unique_id="eksauth-probe")
    parts = urlsplit(seen[0])
    return f"{parts.scheme}://{parts.netloc}"


class _Callback:
    """What the one-shot listener received: a code, or an error, for the expected state."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.done = threading.Event()
        self.code: str | None = None
        self.error: str | None = None


class _CallbackHandler(BaseHTTPRequestHandler):
    timeout = 5  # a client that connects and says nothing cannot hold the listener
    server: Any

    def do_GET(self) -> None:
        waiting: _Callback = self.server.waiting
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        right = (
            parts.path == CALLBACK_PATH
            and not waiting.done.is_set()
            and secrets.compare_digest(query.get("state", ""), waiting.state)
            and ("code" in query or "error" in query)
        )
        if not right:
            self._answer(400, b"Unexpected request.")
            return
        waiting.code, waiting.error = query.get("code"), query.get("error")
        self._answer(200, _PAGE)
        waiting.done.set()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request line carries the code


def authorization_code_flow(
    oidc: Any,
    *,
    client_id: str,
    client_secret: str,
    scopes: list[str],
    say: Say,
    open_browser: bool,
    timeout: float,
) -> dict[str, Any] | None:
    """Sign in through the browser; None when no browser could be opened (fall back).

    The listener takes one GET on /oauth/callback with the right state; anything else gets 400
    and is ignored. It serves from a thread while the browser command runs (webbrowser waits
    for text browsers), and is closed on every exit, timeout and Ctrl-C included.
    """
    verifier, challenge = pkce_pair()
    waiting = _Callback(secrets.token_urlsafe(24))
    server = HTTPServer(("127.0.0.1", 0), _CallbackHandler)
    server.waiting = waiting  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    try:
        thread.start()
        redirect_uri = f"http://127.0.0.1:{server.server_port}{CALLBACK_PATH}"
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": waiting.state,
                "code_challenge_method": "S256",
                "scopes": " ".join(scopes),
            }
        )
        url = f"{endpoint_of(oidc)}/authorize?{query}&code_challenge={challenge}"
        say(f"Sign in to AWS IAM Identity Center at: {url}")
        if open_browser and not webbrowser.open(url):
            return None
        if not waiting.done.wait(timeout):
            raise SsoError(
                f"no sign-in completed within {int(timeout)} seconds",
                hint="run the command again, or use --use-device-code",
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    if waiting.error is not None or waiting.code is None:
        raise SsoError(f"the sign-in was refused ({waiting.error})")
    return _create_token(
        oidc,
        grantType="authorization_code",
        clientId=client_id,
        clientSecret=client_secret,
        code=waiting.code,
        codeVerifier=verifier,
        redirectUri=redirect_uri,
    )


def device_code_flow(
    oidc: Any,
    *,
    client_id: str,
    client_secret: str,
    start_url: str,
    say: Say,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Sign in with a user code, polling CreateToken until approved, denied or expired."""
    with oidc_errors():
        started = oidc.start_device_authorization(
            clientId=client_id, clientSecret=client_secret, startUrl=start_url
        )
    say(f"Open {started['verificationUriComplete']} and confirm the code {started['userCode']}")
    interval = float(started.get("interval") or DEFAULT_INTERVAL)
    remaining = float(started.get("expiresIn") or 600)
    errors = oidc.exceptions
    while remaining > 0:
        try:
            return _create_token(
                oidc,
                grantType=DEVICE_GRANT,
                clientId=client_id,
                clientSecret=client_secret,
                deviceCode=started["deviceCode"],
            )
        except errors.AuthorizationPendingException:
            pass
        except errors.SlowDownException:
            interval += SLOW_DOWN_STEP
        sleep(interval)
        remaining -= interval
    raise SsoError("the sign-in code expired before it was confirmed", hint="run it again")


def _create_token(oidc: Any, **params: Any) -> dict[str, Any]:
    """CreateToken; pending and slow-down pass through for the device loop, the rest map."""
    errors = oidc.exceptions
    with oidc_errors(passthrough=(errors.AuthorizationPendingException, errors.SlowDownException)):
        try:
            return dict(oidc.create_token(**params))
        except errors.AccessDeniedException:
            raise SsoError("the sign-in was denied") from None
        except errors.ExpiredTokenException:
            raise SsoError("the sign-in expired before it completed", hint="run it again") from None
        except errors.InvalidGrantException:
            raise SsoError("IAM Identity Center rejected the sign-in (invalid_grant)") from None


@contextmanager
def oidc_errors(passthrough: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Map any other botocore failure of an SSO OIDC call to one SsoError line."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except passthrough:
        raise
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SsoError(f"IAM Identity Center refused the request ({code})") from None
    except BotoCoreError as exc:
        raise SsoError(f"cannot reach IAM Identity Center: {exc}") from None
