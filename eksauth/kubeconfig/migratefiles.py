"""migrate-kubeconfig on files: each under kubectl's lock, the old file kept as a backup;
`migrate_files` yields one report per file, and the command prints them as they come.

The migration itself (which users change, and how) is `migrate.migrate` and `shared.share`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from eksauth.errors import KubeconfigError


@dataclass(frozen=True)
class FileReport:
    """One file migrated (or, dry, what would be): the lines to say, the YAML to show."""

    path: str
    backup: str
    dry_run: bool
    several: bool  # one of several files of KUBECONFIG
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    dry_run_yaml: str | None = None
    note: str | None = None  # why the exec names a path rather than `eksauth`


@dataclass(frozen=True)
class FileFailure:
    """One of several files that could not be migrated; the others still were."""

    path: str
    error: KubeconfigError

    def line(self) -> str:
        return self.error.message + (f" ({self.error.hint})" if self.error.hint else "")


def migrate_files(
    kubeconfig: str | None, env: Mapping[str, str], *, shared_user: str | None, dry_run: bool
) -> Iterator[FileReport | FileFailure]:
    """--kubeconfig, else each file of KUBECONFIG (missing ones passed over, as kubectl does);
    KubeconfigError at the end when none exists or some failed."""
    from eksauth.kubeconfig import selector

    paths = list(dict.fromkeys(selector.candidate_paths(kubeconfig, env)))
    if len(paths) == 1:
        report = _migrate_one(paths[0], shared_user=shared_user, dry_run=dry_run)
        if report is not None:  # always: only one of several files may be missing
            yield report
        return
    found, failed = 0, 0
    for path in paths:
        try:
            report = _migrate_one(path, shared_user=shared_user, dry_run=dry_run, several=True)
        except KubeconfigError as exc:  # one broken file does not keep the others unmigrated
            found, failed = found + 1, failed + 1
            yield FileFailure(path, exc)
            continue
        if report is not None:
            found += 1
            yield report
    if not found:
        raise KubeconfigError("no file of KUBECONFIG exists", hint="give --kubeconfig FILE")
    if failed:
        raise KubeconfigError(f"{failed} of the {found} files of KUBECONFIG were left as they were")


def _migrate_one(
    path: str, *, shared_user: str | None, dry_run: bool, several: bool = False
) -> FileReport | None:
    """Migrate one file, under kubectl's lock unless dry; None if it is missing and `several`."""
    from eksauth.kubeconfig import files

    if several and not os.path.lexists(path):
        return None  # no lock either: taking one would create the file's folder
    if dry_run:
        return _migrate(path, shared_user=shared_user, dry_run=True, several=several)
    with files.locked(path):  # no concurrent writer's change is lost between read and write
        return _migrate(path, shared_user=shared_user, dry_run=False, several=several)


def _migrate(
    path: str, *, shared_user: str | None, dry_run: bool, several: bool
) -> FileReport | None:
    from eksauth.kubeconfig import files
    from eksauth.kubeconfig.command import exec_command
    from eksauth.kubeconfig.migrate import migrate

    text = files.read_text(path)
    if text is None and several:
        return None
    if text is None:
        raise KubeconfigError(f"no kubeconfig at {path}", hint="give --kubeconfig FILE")
    chosen = exec_command()
    migration = migrate(files.parse(text, path), chosen.command)
    if shared_user is not None:
        from eksauth.kubeconfig.shared import share

        changed, skipped = share(migration.content, shared_user, chosen.command)
        migration.changed.extend(changed)
        migration.skipped.extend(skipped)
    backup = files.backup_path(path)
    if migration.changed and not dry_run:  # written first: a refusal is then the only line
        files.write_beside(backup, text.encode("utf-8"), kubeconfig=path)
        files.write_private(path, files.dump(migration.content).encode("utf-8"))
    return FileReport(
        path=path,
        backup=backup,
        dry_run=dry_run,
        several=several,
        changed=list(migration.changed),
        skipped=list(migration.skipped),
        dry_run_yaml=files.dump(migration.content) if dry_run else None,
        note=chosen.note,
    )
