"""Open the sign-in page in a browser that never gets our stdout, and never holds us up.

Under kubectl, eksauth's stdout is the ExecCredential pipe, which kubectl reads to its end. A
browser started in our process would share it: a launcher printing "Opening in existing browser
session." corrupts the JSON, and a browser left running keeps the pipe open, so kubectl waits for
it. A BROWSER command that never returns would also hold us past `--timeout` (Python's
webbrowser waits for such commands).

So `open_url` runs Python's webbrowser in a child process, in its own session, with the URL on
its stdin (never on its command line, which every local user can read in /proc), and with stdout
and stderr in an unlinked temporary file (not our stderr either: a caller that pipes stderr
reads it to its end too). It waits briefly for the child's verdict; a child still
running then is taken as a browser showing the page. What the launcher printed meanwhile is
relayed on stderr.

Without a graphical session (no DISPLAY or WAYLAND_DISPLAY, not macOS or Windows) and without
BROWSER, there is no browser: webbrowser would start a text browser (lynx, w3m...), which, with
no terminal of its own, could only draw into our output. The caller then uses the device code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import IO, Callable

# How long the launcher has to say whether it could open a browser.
LAUNCH_WAIT_SECONDS = 3.0
MAX_RELAYED_BYTES = 2048
# The URL (with the sign-in's `state`) comes on stdin, not the command line: /proc shows every
# process's command line to every local user. The browser itself still gets it as an argument,
# as from any CLI.
_OPENER = (
    "import sys, webbrowser\n"
    "url = sys.stdin.readline().strip()\n"
    "sys.stdin.close()\n"
    "sys.exit(0 if url and webbrowser.open(url) else 1)\n"
)
# Launchers still running when we finish: kept referenced, never waited for or killed (killing
# them could close the browser they started).
_RUNNING: list[subprocess.Popen[bytes]] = []


def graphical(env: Mapping[str, str], platform: str | None = None) -> bool:
    """Whether a browser can show a page: BROWSER is set, or there is a graphical session."""
    platform = sys.platform if platform is None else platform
    if env.get("BROWSER"):
        return True
    if platform == "darwin" or platform.startswith(("win", "cygwin")):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def open_url(
    url: str,
    *,
    say: Callable[[str], None],
    done: Callable[[], bool] = lambda: False,
    wait: float = LAUNCH_WAIT_SECONDS,
    env: Mapping[str, str] = os.environ,
) -> bool:
    """Show `url` in a browser; False when none could be opened.

    Returns as soon as the launcher exits, `done()` is true (the page was already answered) or
    `wait` seconds have passed (a launcher still running is a browser showing the page).
    """
    if not graphical(env):
        return False
    with tempfile.TemporaryFile() as output:
        try:
            child = subprocess.Popen(  # noqa: S603 -- our own interpreter and code
                [sys.executable, "-c", _OPENER],
                stdin=subprocess.PIPE,
                stdout=output,
                stderr=output,
                env=dict(env),
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            return False
        if not _hand_over(child, url):
            return False
        deadline = time.monotonic() + wait
        while child.poll() is None and not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        _relay(output, say)
    if child.returncode is None:
        _RUNNING.append(child)
        return True
    return child.returncode == 0


def _hand_over(child: subprocess.Popen[bytes], url: str) -> bool:
    """Give the launcher the URL on its stdin (one line, far below a pipe's buffer)."""
    pipe = child.stdin
    if pipe is None:  # cannot happen with stdin=PIPE; for the type checker
        return False
    try:
        pipe.write(url.encode("utf-8", "replace") + b"\n")
        pipe.close()
    except OSError:  # it died before reading: no browser
        return False
    return True


def _relay(output: IO[bytes], say: Callable[[str], None]) -> None:
    """What the launcher printed so far, line by line on stderr (bounded)."""
    try:
        output.seek(0)
        data = output.read(MAX_RELAYED_BYTES)
    except (OSError, ValueError):
        return
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            say(f"browser: {line.strip()}")
