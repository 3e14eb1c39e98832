"""`cache.read_owned_json`: the one reader of the private JSON files (cache entries, SSO token
files, aws-cli's role sessions). Each hostile or broken file is one row, read in both modes:
`private` (our own cache: no group/other bits at all) and shared (aws-cli's folders, made under
its umask: only group/other write is refused)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from eksauth.cache import read_owned_json
from tests.conftest import mkfifo

# Room for JSON nested past every interpreter's limit: 3.9-3.11 stop at the recursion limit
# (1000), 3.12+ at the C stack's (about 10000 levels on 3.13).
LIMIT = 64 * 1024
TOO_DEEP = 25_000
DEEP = b'{"a": ' + b"[" * TOO_DEEP + b"]" * TOO_DEEP + b"}"
GOOD = b'{"a": 1}'
POSIX_MODES = hasattr(os, "getuid")


def _file(data: bytes, mode: int = 0o600) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(data)
        path.chmod(mode)

    return make


def _symlink(path: Path) -> None:
    target = path.with_name("target.json")
    _file(GOOD)(target)
    path.symlink_to(target)


def _not_ours(path: Path) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    _file(GOOD)(path)
    os.chown(path, 12345, 12345)


def _loose(mode: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        if not POSIX_MODES:
            pytest.skip("modes mean nothing on Windows (the folder's ACL protects the file)")
        _file(GOOD, mode)(path)

    return make


def _sized(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    return b'{"a": "' + b"x" * (size - 9) + b'"}'


# name, how the file is made, what `private` reads, what shared reads (None: refused)
ROWS: list[tuple[str, Callable[[Path], None], object, object]] = [
    ("ours", _file(GOOD), {"a": 1}, {"a": 1}),
    ("missing", lambda path: None, None, None),
    ("not ours", _not_ours, None, None),
    ("others may read it", _loose(0o644), None, {"a": 1}),
    ("others may write to it", _loose(0o620), None, None),
    ("a symlink to a good file", _symlink, None, None),
    ("a FIFO", lambda path: mkfifo(path, 0o600), None, None),
    ("a folder", lambda path: path.mkdir(mode=0o700), None, None),
    ("exactly the limit", _file(_sized(LIMIT)), {"a": "x" * (LIMIT - 9)}, {"a": "x" * (LIMIT - 9)}),
    ("one byte too big", _file(_sized(LIMIT + 1)), None, None),
    ("not JSON", _file(b'{"a": 1'), None, None),
    ("not UTF-8", _file(b'{"a": "\xff"}'), None, None),
    (
        "nested beyond reason",
        _file(DEEP),
        None,
        None,
    ),
    ("NaN, which is not JSON", _file(b'{"a": NaN}'), None, None),
    ("a JSON array", _file(b"[1, 2]"), None, None),
    ("JSON null", _file(b"null"), None, None),
    ("a JSON string", _file(b'"a"'), None, None),
]


@pytest.mark.parametrize("private", [True, False], ids=["private", "shared"])
@pytest.mark.parametrize(
    ("make", "in_private", "in_shared"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_read_owned_json(tmp_path: Path, make, in_private, in_shared, private: bool) -> None:
    path = tmp_path / "entry.json"
    make(path)
    expected = in_private if private else in_shared
    assert read_owned_json(str(path), LIMIT, private=private) == expected
