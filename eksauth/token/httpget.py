"""One bounded HTTPS GET, for every request eksauth makes outside botocore.

Replaying a token to STS, reading the Kubernetes API server and probing STS's clock all go
through `get()`, so each has the same guarantees:

- a deadline for the whole exchange (connect, TLS, headers and body), not for each read: a
  server that sends its status line and then one byte every few seconds cannot hold a command
  past `timeout` (`within` runs the exchange in a daemon thread and stops waiting for it);
- no redirects: a 3xx is an answer, never a new place to send a token;
- at most `limit` bytes of body read;
- loopback hosts never go through a proxy (as Go's ProxyFromEnvironment, which EKS and kubectl
  use); the caller decides about every other host.

Stdlib only; imported off the cache-hit path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable, NamedTuple, TypeVar
from urllib.parse import urlsplit

from eksauth.errors import EksAuthError

if TYPE_CHECKING:
    import ssl

T = TypeVar("T")
DEFAULT_LIMIT = 1 << 20
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Reply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


def within(seconds: float, work: Callable[[], T], late: Callable[[], EksAuthError]) -> T:
    """`work()`, or `late()` raised once `seconds` have passed without an answer.

    The work runs in a daemon thread: when we stop waiting, process exit does not wait for it.
    Whatever it raises is raised here, in the caller's thread.
    """
    import threading

    outcome: list[T | BaseException] = []

    def attempt() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the caller's thread below
            outcome.append(exc)

    worker = threading.Thread(target=attempt, name="eksauth-bounded", daemon=True)
    worker.start()
    worker.join(max(seconds, 0.0))
    if not outcome:
        raise late()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def is_loopback(host: str | None) -> bool:
    return host in _LOOPBACK


def get(
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    what: str,
    ssl_context: ssl.SSLContext | None = None,
    use_proxy: bool = True,
    limit: int = DEFAULT_LIMIT,
    error: type[EksAuthError] = EksAuthError,
    hint: str | None = None,
) -> Reply:
    """GET `url` within `timeout` seconds in all; any status is a `Reply`.

    Unreachable, refused, TLS failures and the deadline raise `error`, naming `what`
    ("STS at sts.amazonaws.com"), with `hint`.
    """

    def late() -> EksAuthError:
        return error(f"{what} did not answer within {timeout:g} s", hint=hint)

    def exchange() -> Reply:
        return _exchange(url, headers, timeout, ssl_context, use_proxy=use_proxy, limit=limit)

    try:
        return within(timeout, exchange, late)
    except _Unreachable as exc:
        # No cause: the reason is already in the message, and its own cause is cut (below).
        raise error(f"could not reach {what}: {exc.reason}", hint=hint) from None


class _Unreachable(Exception):
    def __init__(self, reason: object) -> None:
        super().__init__(str(reason))
        self.reason = reason


def _exchange(
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    ssl_context: ssl.SSLContext | None,
    *,
    use_proxy: bool,
    limit: int,
) -> Reply:
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    direct = not use_proxy or is_loopback(urlsplit(url).hostname)
    opener = urllib.request.build_opener(
        NoRedirect,
        urllib.request.ProxyHandler({} if direct else None),
        urllib.request.HTTPSHandler(context=ssl_context or ssl.create_default_context()),
    )
    # S310: callers pass https URLs, or http only for a host the user named (--sts-url).
    request = urllib.request.Request(url, headers=dict(headers), method="GET")  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as reply:
            return Reply(int(reply.status), dict(reply.headers.items()), reply.read(limit))
    except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx: the server's answer
        with exc:
            found = dict(exc.headers.items()) if exc.headers is not None else {}
            return Reply(exc.code, found, exc.read(limit))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        # No cause: urllib's and http.client's errors may quote the URL or a header, and those
        # carry the token (a replayed presigned URL, a kube API `Authorization: Bearer`).
        raise _Unreachable(getattr(exc, "reason", exc)) from None
