"""Kubeconfig files: where they are, reading, parsing, and writing them atomically and privately.

A file that is not kubeconfig YAML is an error and is never rewritten. Files are written like
cache entries: a temp file (0600) in the same folder, fsynced, then `os.replace`d; a folder we
create is 0700. yaml is imported inside the functions that need it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from eksauth.errors import KubeconfigError
from eksauth.files.boundedread import MAX_BYTES
from eksauth.files.boundedread import read_text as read_bounded
from eksauth.files.locks import FILE_LOCK_WAIT_SECONDS, LockTimeout, exclusive
from eksauth.files.private import PlantedError, make_private_dirs, replace_own, replace_private
from eksauth.portable import home_folder

DEFAULT_PATH = "~/.kube/config"
BACKUP_SUFFIX = ".eksauth-backup"
# Far above any real kubeconfig (hundreds of clusters fit in a few hundred KiB).
MAX_KUBECONFIG_BYTES = MAX_BYTES
# The top-level keys kubectl types, and what they must be when present (aws-cli checks the same).
_SHAPE: dict[str, type] = {
    "apiVersion": str,
    "clusters": list,
    "contexts": list,
    "current-context": str,
    "kind": str,
    "preferences": dict,
    "users": list,
}
# PyYAML folds long scalars at 80 columns; a kubeconfig reads better with one value per line.
_NO_FOLDING = 1 << 20
_UNTOUCHED = "the file was not changed"


def kubeconfig_paths(env: Mapping[str, str]) -> list[str]:
    """Every path in KUBECONFIG, in order, expanded; else ~/.kube/config (aws-cli's and
    kubectl's reading: empty and blank elements are skipped)."""
    paths = [expand(e) for e in env.get("KUBECONFIG", "").split(os.pathsep) if e.strip()]
    return paths or [expand(DEFAULT_PATH)]


def default_path(env: Mapping[str, str]) -> str:
    """The first path in KUBECONFIG, else ~/.kube/config. update-kubeconfig does not write
    here blindly: it writes to the file that holds the cluster (`kubeconfig.selector`)."""
    return kubeconfig_paths(env)[0]


def expand(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def new_config() -> dict[str, Any]:
    """An empty kubeconfig, keys in the order aws-cli writes them."""
    return {
        "apiVersion": "v1",
        "clusters": [],
        "contexts": [],
        "current-context": "",
        "kind": "Config",
        "preferences": {},
        "users": [],
    }


def read_text(path: str) -> str | None:
    """The file's text, or None when there is no file.

    Bounded like every read: opened non-blocking (a FIFO in its place cannot hang us, and is
    refused), a regular file only (a symlink to one is fine, as for kubectl), at most
    MAX_KUBECONFIG_BYTES. The text keeps the file's line endings (and so does a backup).
    """
    return read_bounded(
        path, what="", error=KubeconfigError, hint=_UNTOUCHED, limit=MAX_KUBECONFIG_BYTES
    )


def parse(text: str, path: str) -> dict[str, Any]:
    """The kubeconfig in `text`; KubeconfigError unless it has kubeconfig's shape."""
    import yaml

    from eksauth.files import boundedyaml

    try:
        content = boundedyaml.safe_load(text)
    except yaml.YAMLError as exc:
        # No cause: PyYAML's message quotes the lines around the problem, and a kubeconfig can
        # hold tokens, passwords and client keys; `_yaml_problem` keeps only the what and where.
        raise KubeconfigError(
            f"{path} is not valid YAML: {_yaml_problem(exc)}", hint=_UNTOUCHED
        ) from None
    if content is None:  # an empty file, as kubectl also accepts
        return new_config()
    if not isinstance(content, dict):
        raise KubeconfigError(f"{path} is not a kubeconfig: not a mapping", hint=_UNTOUCHED)
    _check_shape(content, path)
    return content


def _yaml_problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def _check_shape(content: dict[str, Any], path: str) -> None:
    for key, kind in _SHAPE.items():
        value = content.get(key)
        if value is not None and not isinstance(value, kind):
            raise KubeconfigError(
                f"{path} is not a kubeconfig: {key} is a {type(value).__name__}, "
                f"not a {kind.__name__}",
                hint=_UNTOUCHED,
            )
        if isinstance(value, list) and not all(isinstance(entry, dict) for entry in value):
            raise KubeconfigError(
                f"{path} is not a kubeconfig: an entry of {key} is not a mapping", hint=_UNTOUCHED
            )


def load(path: str) -> dict[str, Any]:
    """The kubeconfig at `path`, an empty one if there is no file; KubeconfigError if invalid."""
    text = read_text(path)
    return new_config() if text is None else parse(text, path)


def dump(content: Mapping[str, Any]) -> str:
    """YAML as aws-cli writes it: block style, keys in the order they are held."""
    import yaml

    return yaml.safe_dump(
        dict(content),
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=_NO_FOLDING,
    )


def make_folder(folder: str) -> None:
    """A missing kubeconfig folder (and its parents), each 0700 whatever the umask; a missing
    home folder is never made (`privatefile.make_private_dirs`, the one folder maker)."""
    make_private_dirs(folder, home_folder(os.environ))


def write_private(path: str, data: bytes) -> None:
    """Replace the kubeconfig `path` with `data` atomically; a missing folder is created 0700.

    A new file is 0600; a rewritten one keeps its owner, group and mode (kubectl does: root
    rewriting a user's kubeconfig must leave it theirs). A symlinked kubeconfig (dotfiles) is
    written through: the link stays, its target changes.
    """
    target = os.path.realpath(path)
    try:
        make_folder(os.path.dirname(target))
        try:
            like: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            like = None
        if like is not None and not stat.S_ISREG(like.st_mode):
            raise OSError(errno.EEXIST, "not a regular file")
        replace_private(target, data, like=like)
    except OSError as exc:
        raise KubeconfigError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_beside(path: str, data: bytes, *, kubeconfig: str | None = None) -> None:
    """Write a file eksauth keeps beside user data (a backup, a kubelet CA): created with
    O_EXCL|O_NOFOLLOW, or replacing only a regular file of ours; never through a symlink.

    It belongs to the owner of `kubeconfig` when there is one: root migrating a user's
    kubeconfig leaves a backup that user can read, restore and later replace.
    """
    try:
        owner = None
        if kubeconfig is not None:
            with suppress(FileNotFoundError):
                st = os.stat(kubeconfig)
                owner = (st.st_uid, st.st_gid)
        make_folder(os.path.dirname(path))
        replace_own(path, data, owner=owner)
    except OSError as exc:
        raise KubeconfigError(f"cannot write {path}: {exc.strerror or exc}") from exc


@contextmanager
def locked(path: str, timeout: float = FILE_LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold kubectl's `<kubeconfig>.lock` while reading and rewriting the file, so that
    concurrent writers (eksauth, kubectl, aws-cli...) each see the others' entries. The lock
    is named after the path as given, as kubectl names it, even when that is a symlink."""
    try:
        make_folder(os.path.dirname(path))
    except OSError as exc:
        raise KubeconfigError(f"cannot lock {path}: {exc.strerror or exc}") from exc
    try:
        with exclusive(path, timeout):
            yield
    except (LockTimeout, PlantedError) as exc:
        raise KubeconfigError(f"cannot lock {path}: {exc.strerror}") from exc
    except OSError as exc:
        if exc.filename is None or not str(exc.filename).endswith(".lock"):
            raise
        raise KubeconfigError(f"cannot lock {path}: {exc.strerror or exc}") from exc


def backup_path(path: str) -> str:
    """Where migrate-kubeconfig keeps the file as it was: beside it, `config.eksauth-backup`."""
    return os.path.realpath(path) + BACKUP_SUFFIX
