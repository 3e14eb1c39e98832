"""A "browser" for tests: run as ``BROWSER`` (through :func:`tests.standins.sso.browser_command`).

Given the sign-in URL, it fetches it, reads the 302 Location the SSO OIDC stand-in answers and
delivers it to the loopback callback, as a signed-in user's browser would. Stdlib only.

Environment:
``STANDIN_BROWSER_MODE``  ``approve`` (default): deliver the redirect as is;
                          ``wrong-state``: deliver it with a forged ``state``;
                          ``wrong-challenge``: sign in with a forged PKCE challenge, so
                          the client's verifier no longer matches;
                          ``silent``: open nothing, never call back;
                          ``fail``: exit 1 (webbrowser.open then returns False).
``STANDIN_BROWSER_LOG``   a file to append one line per event to (``open``, ``callback <status>``),
                          so tests can count the tabs opened.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _log(line: str) -> None:
    path = os.environ.get("STANDIN_BROWSER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _status(url: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _location(url: str) -> str:
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        opener.open(url, timeout=10).close()
    except urllib.error.HTTPError as err:
        if err.code in (301, 302, 303, 307) and err.headers.get("Location"):
            return str(err.headers["Location"])
        raise
    raise RuntimeError("the sign-in page did not redirect")


def main(argv: list[str]) -> int:
    mode = os.environ.get("STANDIN_BROWSER_MODE", "approve")
    _log(f"open {mode}")
    if mode == "fail":
        return 1
    if mode == "silent":
        return 0
    url = argv[1]
    if mode == "wrong-challenge":
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        query["code_challenge"] = "forged-challenge-" + "A" * 27
        url = urlunsplit(parts._replace(query=urlencode(query)))
    callback = _location(url)
    if mode == "wrong-state":
        parts = urlsplit(callback)
        query = dict(parse_qsl(parts.query))
        query["state"] = "forged-state"
        callback = urlunsplit(parts._replace(query=urlencode(query)))
    _log(f"callback {_status(callback)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
