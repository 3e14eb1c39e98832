"""The two IAM Identity Center sign-in flows: authorization code with PKCE, and device code.

Each returns the CreateToken reply (a dict) or raises one `SsoError` line. The `oidc` client is
made by `sso_oidc.client` (the AWS boundary), whose `call` runs every call and maps its
errors; `say` prints one line on stderr.
Nothing here prints a token, client secret, code or code verifier.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from eksauth.aws import ssooidc
from eksauth.errors import SsoError
from eksauth.sso import browser

if TYPE_CHECKING:
    from mypy_boto3_sso_oidc import SSOOIDCClient

Say = Callable[[str], None]
CALLBACK_PATH = "/oauth/callback"
REDIRECT_URI = "http://127.0.0.1" + CALLBACK_PATH  # registered without a port (RFC 8252 7.3)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 3.2: when the server gives none
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: each slow_down adds 5 seconds
MIN_INTERVAL = 1.0
DEFAULT_DEVICE_CODE_LIFETIME = 600.0  # when StartDeviceAuthorization gives no expiresIn
# Any lifetime IAM Identity Center gives is far below this; a larger one is read as this.
MAX_SECONDS = 10 * 365 * 24 * 3600.0
# Any local process can connect to the listener; each connection has this long in all (request
# line, headers, answer), and this many may be open at once.
CONNECTION_SECONDS = 5.0
MAX_CONNECTIONS = 16
_PAGE = b"<html><body>Signed in. You can close this tab and return to the terminal.</body></html>"


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge): 64 unreserved characters, base64url without '='."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


class _Callback:
    """What the one-shot listener received: a code, or an error, for the expected state."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.done = threading.Event()
        self.code: str | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def accept(self, code: str | None, error: str | None) -> bool:
        """Take the first right callback; False for any later one (connections are concurrent)."""
        with self._lock:
            if self.done.is_set():
                return False
            self.code, self.error = code, error
            self.done.set()
            return True


class _CallbackHandler(BaseHTTPRequestHandler):
    timeout = CONNECTION_SECONDS  # each read; the whole connection has the same bound (below)
    server: _CallbackServer

    def do_GET(self) -> None:
        waiting: _Callback = self.server.waiting
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        right = (
            parts.path == CALLBACK_PATH
            # As bytes: compare_digest refuses non-ASCII str (a forged state is just wrong).
            and secrets.compare_digest(query.get("state", "").encode(), waiting.state.encode())
            and ("code" in query or "error" in query)
        )
        if not right or not waiting.accept(query.get("code"), query.get("error")):
            self._answer(400, b"Unexpected request.")
            return
        self._answer(200, _PAGE)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # the request line carries the code


class _CallbackServer(ThreadingHTTPServer):
    """The loopback listener, which any local process can connect to.

    Each connection is served in its own thread and cut after `CONNECTION_SECONDS` in all, so a
    client that says nothing, or drips a byte at a time, holds only itself, never the browser's
    callback; beyond `MAX_CONNECTIONS` at once new ones are dropped. Closing never waits for a
    connection still open: its thread is a daemon and its socket is cut.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, waiting: _Callback, seconds: float) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.waiting = waiting
        self.seconds = seconds
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._open: set[Any] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: someone is flooding us
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        cut = threading.Timer(self.seconds, _cut, (request,))
        cut.daemon = True
        cut.start()
        try:
            super().process_request_thread(request, client_address)
        finally:
            cut.cancel()
            with self._open_lock:
                self._open.discard(request)
            self._slots.release()

    def close_all(self) -> None:
        """Stop listening and cut every connection still open, waiting for none of them."""
        self.server_close()
        with self._open_lock:
            still_open = list(self._open)
        for request in still_open:
            _cut(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a broken request is ignored: no traceback on our stderr


def _cut(connection: Any) -> None:
    """End a connection from any thread: a read or write blocked on it returns at once."""
    try:  # noqa: SIM105 -- one line, and the reason is worth its comment
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def authorization_code_flow(
    oidc: SSOOIDCClient,
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
    and is ignored. The browser starts in a child process that never gets our stdout
    (`eksauth.sso.browser`); `timeout` counts from before its launch. The listener serves from a
    thread and is closed on every exit, timeout and Ctrl-C included.
    """
    verifier, challenge = pkce_pair()
    waiting = _Callback(secrets.token_urlsafe(24))
    server = _CallbackServer(waiting, CONNECTION_SECONDS)
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
        url = f"{ssooidc.endpoint(oidc)}/authorize?{query}&code_challenge={challenge}"
        say(f"Sign in to AWS IAM Identity Center at: {url}")
        deadline = time.monotonic() + timeout
        if open_browser and not browser.open_url(url, say=say, done=waiting.done.is_set):
            return None
        if not waiting.done.wait(max(0.0, deadline - time.monotonic())):
            raise SsoError(
                f"no sign-in completed within {int(timeout)} seconds",
                hint="run the command again, or use --use-device-code",
            )
    finally:
        server.shutdown()  # the accept loop only: it never waits on a connection
        server.close_all()
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
    oidc: SSOOIDCClient,
    *,
    client_id: str,
    client_secret: str,
    start_url: str,
    say: Say,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Sign in with a user code, polling CreateToken until approved, denied or expired
    (the code's own expiresIn, or `timeout` if shorter: a waiting kubectl is bounded).

    The bound is a deadline on `clock`: the time each CreateToken takes counts, not only the
    polling interval."""
    started = ssooidc.call(
        lambda: oidc.start_device_authorization(
            clientId=client_id, clientSecret=client_secret, startUrl=start_url
        ),
        "StartDeviceAuthorization",
    )
    uri = answer_text(started, "verificationUriComplete", "StartDeviceAuthorization")
    code = answer_text(started, "userCode", "StartDeviceAuthorization")
    device_code = answer_text(started, "deviceCode", "StartDeviceAuthorization")
    say(f"Open {uri} and confirm the code {code}")
    # RFC 8628 3.2: a client never polls faster than the server asks, nor in a tight loop (a
    # zero or negative interval would spin; 1 s is the least anyone needs).
    interval = max(MIN_INTERVAL, answer_seconds(started, "interval", DEFAULT_INTERVAL))
    # expiresIn 0 means the code is already expired, not "unset".
    lifetime = answer_seconds(started, "expiresIn", DEFAULT_DEVICE_CODE_LIFETIME)
    deadline = clock() + min(lifetime, timeout)
    while clock() < deadline:
        try:
            return _create_token(
                oidc,
                grantType=DEVICE_GRANT,
                clientId=client_id,
                clientSecret=client_secret,
                deviceCode=device_code,
            )
        except SsoError as exc:
            if exc.code == "SlowDownException":
                interval += SLOW_DOWN_STEP
            elif exc.code != "AuthorizationPendingException":
                raise
        sleep(min(interval, max(0.0, deadline - clock())))
    raise SsoError("the sign-in code expired before it was confirmed", hint="run it again")


def answer_text(answer: dict[str, Any], field: str, what: str) -> str:
    """A string field of an SSO OIDC answer; one `SsoError` line when it is missing."""
    value = answer.get(field)
    if not isinstance(value, str) or not value:
        raise unusable_answer(field, what)
    return value


def answer_number(answer: dict[str, Any], field: str) -> float | None:
    """A numeric field of an SSO OIDC answer, or None when absent or not a finite number."""
    value = answer.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if abs(number) < float("inf") else None  # NaN fails this too


def answer_seconds(answer: dict[str, Any], field: str, default: float) -> float:
    """A duration field of an SSO OIDC answer: `default` when absent or not a number, else
    clamped to 0..MAX_SECONDS (0 is honoured: already expired, or no wait)."""
    value = answer_number(answer, field)
    return default if value is None else min(max(value, 0.0), MAX_SECONDS)


def unusable_answer(field: str, what: str) -> SsoError:
    return SsoError(
        f"IAM Identity Center answered {what} without a usable {field}",
        hint="try again; check AWS_ENDPOINT_URL_SSO_OIDC if it is set",
    )


# What CreateToken's refusals mean for the person signing in; pending and slow-down pass
# through (with their code) for the device-code loop.
_REFUSALS = {
    "AccessDeniedException": ("the sign-in was denied", None),
    "ExpiredTokenException": ("the sign-in expired before it completed", "run it again"),
    "InvalidGrantException": ("IAM Identity Center rejected the sign-in (invalid_grant)", None),
}


def _create_token(oidc: SSOOIDCClient, **params: Any) -> dict[str, Any]:
    try:
        return ssooidc.call(lambda: oidc.create_token(**params), "CreateToken")
    except SsoError as exc:
        if exc.code in _REFUSALS:
            message, hint = _REFUSALS[exc.code]
            raise SsoError(message, hint=hint, code=exc.code) from exc
        raise
