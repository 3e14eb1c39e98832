"""HTTP(S) servers that misbehave on purpose, for the explain path's bounds and safety.

``DrippingServer``  HTTPS; answers a status line, then one header byte every ``interval``
                    seconds, never finishing: a per-read timeout never fires.
``RecordingServer`` HTTPS; records every connection and request (path, Authorization), and
                    answers 200 ``{}``: a server that must never be sent a token.
``BadDateServer``   HTTP; answers 403 with ``Date: garbage`` (STS's clock probe).

All bind 127.0.0.1, stop themselves (the shared watchdog), and release hanging handlers on
stop.
"""

from __future__ import annotations

import base64
import ssl
import threading
from typing import Any

import trustme

from ._server import LOOPBACK, StandInHandler, StandInServer


class _TlsServer(StandInServer):
    scheme = "https"

    def __init__(self, *, max_lifetime: float = 120.0) -> None:
        super().__init__(max_lifetime=max_lifetime)
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert(LOOPBACK, "localhost")
        self.ca_data_b64 = base64.b64encode(self.ca.cert_pem.bytes()).decode()
        self.released = threading.Event()

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    def stop(self) -> None:
        self.released.set()
        super().stop()

    def cluster_entry(self, name: str) -> dict[str, Any]:
        """A kubeconfig cluster entry for this server, trusting its CA."""
        return {
            "name": name,
            "cluster": {"server": self.url, "certificate-authority-data": self.ca_data_b64},
        }


class _DripHandler(StandInHandler):
    def do_GET(self) -> None:
        server: DrippingServer = self.standin
        with server.lock:
            server.requests.append(self.path)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        self.wfile.flush()
        while not server.released.wait(server.interval):
            try:
                self.wfile.write(b".")
                self.wfile.flush()
            except OSError:
                return


class DrippingServer(_TlsServer):
    handler_class = _DripHandler

    def __init__(self, interval: float = 2.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interval = interval
        self.lock = threading.Lock()
        self.requests: list[str] = []


class _RecordHandler(StandInHandler):
    def setup(self) -> None:
        server: RecordingServer = self.standin
        with server.lock:
            server.connections += 1
        super().setup()

    def do_GET(self) -> None:
        server: RecordingServer = self.standin
        with server.lock:
            server.requests.append((self.path, self.headers.get("Authorization")))
        self.respond_json(200, {})


class RecordingServer(_TlsServer):
    handler_class = _RecordHandler

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[tuple[str, str | None]] = []


class _BadDateHandler(StandInHandler):
    def date_time_string(self, timestamp: float | None = None) -> str:
        return "garbage"

    def do_GET(self) -> None:
        self.respond(403, b"<ErrorResponse/>", "text/xml")


class BadDateServer(StandInServer):
    handler_class = _BadDateHandler
