"""Open the sign-in page in a browser that never gets our stdout, and never holds us up.

Under kubectl, eksauth's stdout is the ExecCredential pipe, which kubectl reads to its end. A
browser started in our process would share it: a launcher printing "Opening in existing browser
session." corrupts the JSON, and a browser left running keeps the pipe open, so kubectl waits for
it. A BROWSER command that never returns would also hold us past `--timeout` (Python's
webbrowser waits for such commands).

So `open_url` runs Python's webbrowser in a child process, in its own session, with no stdin
and with stdout and stderr in an unlinked temporary file (not our stderr either: a caller that
pipes stderr reads it to its end too). It waits briefly for the child's verdict; a child still
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
_OPENER = "import sys, webbrowser\nsys.exit(0 if webbrowser.open(sys.argv[1]) else 1)\n"
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
            child = subprocess.Popen(  # noqa: S603 -- our own interpreter, the URL as one argument
                [sys.executable, "-c", _OPENER, url],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=dict(env),
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            return False
        deadline = time.monotonic() + wait
        while child.poll() is None and not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        _relay(output, say)
    if child.returncode is None:
        _RUNNING.append(child)
        return True
    return child.returncode == 0


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
