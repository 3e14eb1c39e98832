"""What differs between Linux, macOS and Windows for every file eksauth touches, decided once.

Stdlib only, and small: the cache-hit path imports it.

- `home_folder`: where `~` is. botocore finds the aws config and credentials files, the SSO
  token cache and aws-cli's role-session cache with `os.path.expanduser("~")`, so eksauth
  follows the same rule for those and for its own cache, or a rewritten credentials file on
  Windows (where cmd and PowerShell set USERPROFILE, usually not HOME) would not renew tokens.
  `expand_home` is the same rule for a `~` in a path (`--cache-dir ~/x`, the SSO cache).
- `OPEN_ALWAYS`: ORed into every `os.open`. On Windows `os.open` defaults to text mode, where a
  written LF becomes CRLF and a Ctrl-Z byte ends a read; O_BINARY turns that off (0 elsewhere).
- `NOFOLLOW` and `NONBLOCK`: 0 where the platform has none (Windows). What eksauth does instead
  there is in the README ("Windows and macOS").
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping


def open_always(module: object) -> int:
    """The flags every `os.open` adds on the platform whose `os` module is `module`."""
    return getattr(module, "O_BINARY", 0) | getattr(module, "O_CLOEXEC", 0)


OPEN_ALWAYS = open_always(os)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def home_folder(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """`os.path.expanduser("~")` as `platform` computes it from `env`, when that is absolute.

    Windows (ntpath, Python >= 3.8): USERPROFILE, else HOMEDRIVE + HOMEPATH; HOME is not read.
    Elsewhere (posixpath): HOME, else the password database's entry. One deliberate difference:
    a relative or empty HOME counts as unset (platformdirs' rule too), because a relative home
    would put private files under whatever the working folder is. None when nothing usable.
    """
    if platform == "win32":
        import ntpath  # os.path itself on Windows: free there

        home = env.get("USERPROFILE")
        if home is None and "HOMEPATH" in env:
            home = ntpath.join(env.get("HOMEDRIVE", ""), env["HOMEPATH"])
        return home if home and ntpath.isabs(home) else None
    home = env.get("HOME")
    if not home or not home.startswith("/"):
        if sys.platform == "win32":  # no password database (a POSIX `platform` asked there)
            home = None
        else:
            try:
                import pwd  # POSIX only, and only without a usable HOME

                home = pwd.getpwuid(os.getuid()).pw_dir
            except (ImportError, KeyError, AttributeError):
                home = None
        if home is None:
            return None
    home = home.rstrip("/") or "/"
    return home if home.startswith("/") else None


def expand_home(path: str, env: Mapping[str, str], platform: str = sys.platform) -> str:
    """`os.path.expanduser(path)` as `platform` computes it, with `~` from `home_folder(env)`.

    A path without a leading `~`, or naming another user's home (`~alice/x`), is expanduser's
    alone. Without a usable home the answer is expanduser's too (from the process's own
    environment), as botocore gets it for `~/.aws/...`: the path unchanged, so relative to the
    working folder, when no home can be found at all; else from the relative or empty HOME
    that `home_folder` refuses.
    """
    seps = "\\/" if platform == "win32" else "/"
    if not path.startswith("~") or path[1:2] not in ("", *seps):
        return os.path.expanduser(path)
    home = home_folder(env, platform)
    if home is None:
        return os.path.expanduser(path)
    if platform == "win32":
        return home + path[1:]  # ntpath.expanduser's own join
    return (home.rstrip("/") + path[1:]) or "/"  # posixpath.expanduser's own join
