"""Loopback HTTP(S) server plumbing shared by the stand-ins.

Every server binds 127.0.0.1 on an ephemeral port, serves from a daemon thread, is a context
manager, and is stopped by a watchdog after ``max_lifetime`` seconds even if a test forgets.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar, cast

DEFAULT_MAX_LIFETIME = 300.0
LOOPBACK = "127.0.0.1"
_S = TypeVar("_S", bound="StandInServer")


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, standin: StandInServer, handler: type[BaseHTTPRequestHandler]) -> None:
        self.standin = standin
        self.tls_context: ssl.SSLContext | None = None
        super().__init__((LOOPBACK, 0), handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake runs here, in the per-connection thread, so a stuck client cannot
        # block the accept loop.
        raw = cast(socket.socket, request)
        raw.settimeout(10)
        try:
            tls = self.tls_context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, cast(Any, self))
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connection resets from clients are expected (probes, aborted kubectl runs).
        pass


class StandInHandler(BaseHTTPRequestHandler):
    """Base handler: quiet, HTTP/1.0 (one request per connection), helpers to respond."""

    server_version = "StandIn/1.0"
    sys_version = ""
    timeout = 30

    @property
    def standin(self) -> Any:
        return cast(_LoopbackHTTPServer, self.server).standin

    def log_message(self, format: str, *args: Any) -> None:
        return

    def split_path(self) -> tuple[str, str]:
        path, _, query = self.path.partition("?")
        return path, query

    def read_body(self, limit: int = 1 << 20) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > limit:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def respond(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def respond_json(
        self, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.respond(status, json.dumps(payload).encode(), "application/json", headers)


class StandInServer:
    """Lifecycle of one loopback server. Subclasses set ``handler_class``."""

    handler_class: ClassVar[type[StandInHandler]]
    scheme: ClassVar[str] = "http"

    def __init__(self, *, max_lifetime: float = DEFAULT_MAX_LIFETIME) -> None:
        self.max_lifetime = max_lifetime
        self.stopped_by_watchdog = False
        self._httpd: _LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Timer | None = None
        self._lifecycle = threading.Lock()

    # Subclasses may return a server-side TLS context.
    def _tls_context(self) -> ssl.SSLContext | None:
        return None

    def start(self: _S) -> _S:
        with self._lifecycle:
            if self._httpd is not None:
                raise RuntimeError(f"{type(self).__name__} already started")
            httpd = _LoopbackHTTPServer(self, self.handler_class)
            httpd.tls_context = self._tls_context()
            name = type(self).__name__
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{name}:{httpd.server_address[1]}",
                daemon=True,
            )
            watchdog = threading.Timer(self.max_lifetime, self._watchdog_fired)
            watchdog.daemon = True
            watchdog.name = f"{name}-watchdog"
            self._httpd, self._thread, self._watchdog = httpd, thread, watchdog
            thread.start()
            watchdog.start()
        return self

    def _watchdog_fired(self) -> None:
        self.stopped_by_watchdog = True
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the socket. Idempotent; safe from any thread but the server's."""
        with self._lifecycle:
            httpd, thread, watchdog = self._httpd, self._thread, self._watchdog
            if httpd is None or thread is None:
                return
            if watchdog is not None and watchdog is not threading.current_thread():
                watchdog.cancel()
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=5)
            self._thread = self._watchdog = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>`` (what clients send as the Host header)."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"
