"""update-kubeconfig --all, the asking part: each profile's regions, their clusters, and each
cluster described, in parallel, at most WORKERS calls at a time, within one deadline.

A profile whose credentials cannot be loaded, a region that refuses or never answers, a cluster
that cannot be described: each is one `Failure`, and the rest goes on. A region counts as
answered once ListClusters has given its whole list; only answered regions may be pruned.

The workers are daemon threads fed from a queue rather than a ThreadPoolExecutor: an
executor's threads are joined when the interpreter exits, so one region that accepts and never
answers would hold the command past its deadline. Every call is also bounded by the AWS
boundary's timeouts, cut to what is left of the deadline (`aws.within`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from eksauth.errors import EksAuthError

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient

    from eksauth.aws.boundary import Session

WORKERS = 8


@dataclass(frozen=True)
class Account:
    """One profile to ask: its name (None: the default credentials), botocore session and
    own region (environment or profile), from `awscalls.listing_session`."""

    profile: str | None
    session: Session
    region: str | None
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False)


@dataclass(frozen=True)
class Found:
    """One described cluster: DescribeCluster's `cluster`, and who found it where."""

    profile: str | None
    region: str
    cluster: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    """Something that did not answer: a profile, a region or one cluster."""

    profile: str | None
    region: str | None
    cluster: str | None
    reason: str

    def where(self) -> str:
        parts = [f"profile {self.profile or 'default'}"]
        if self.region:
            parts.append(f"region {self.region}")
        if self.cluster:
            parts.append(f"cluster {self.cluster}")
        return ", ".join(parts)

    def line(self) -> str:
        return f"{self.where()}: {' '.join(self.reason.split())}"


@dataclass(frozen=True)
class Progress:
    regions_done: int
    regions_total: int
    clusters: int
    failed: int

    def line(self) -> str:
        return (
            f"regions {self.regions_done}/{self.regions_total} · clusters {self.clusters}"
            f" · failed {self.failed}"
        )


@dataclass
class Survey:
    """What the run learnt: the clusters, the answered (profile, region) lists, the failures."""

    found: list[Found] = field(default_factory=list)
    listed: dict[tuple[str | None, str], set[str]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    regions_total: int = 0


@dataclass
class _Task:
    work: Callable[[], Any]  # run by a worker
    then: Callable[[Any], None]  # run by the caller's thread with the result
    failure: Failure  # reported with the reason if it fails or never finishes


def survey(
    accounts: Sequence[Account],
    regions: Sequence[str],
    *,
    all_regions: bool,
    timeout: float,
    progress: Callable[[Progress], None] | None = None,
) -> Survey:
    """Ask every account in `regions` (or all its enabled regions, or its own region)."""
    run = _Run(regions, all_regions, timeout, progress)
    for account in accounts:
        run.ask_account(account)
    if not all_regions:
        run.result.regions_total = len(accounts) * (len(regions) or 1)
    return run.wait()


class _Run:
    """One survey: the task queue, the workers, and what has come back."""

    def __init__(
        self,
        regions: Sequence[str],
        all_regions: bool,
        timeout: float,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.regions, self.all_regions = list(regions), all_regions
        self.timeout, self.progress = timeout, progress
        self.deadline = time.monotonic() + timeout
        self.result = Survey()
        self.tasks: queue.Queue[tuple[int, _Task] | None] = queue.Queue()
        self.answers: queue.Queue[tuple[int, bool, object]] = queue.Queue()
        self.pending: dict[int, _Task] = {}
        self.numbered = self.regions_done = self.clusters = 0

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def submit(self, task: _Task) -> None:
        self.numbered += 1
        self.pending[self.numbered] = task
        self.tasks.put((self.numbered, task))

    def ask_account(self, account: Account) -> None:
        from eksauth.aws import calls

        def work() -> tuple[list[str], bool]:
            calls.resolve_credentials(account.session, account.profile)
            if not self.all_regions:
                return self.regions or [str(account.region)], False
            home = account.region or "us-east-1"
            with account.lock:
                ec2 = calls.bounded_client(account.session, "ec2", home, self.left())
            return calls.enabled_regions(ec2, account.profile, home)

        def then(answer: tuple[list[str], bool]) -> None:
            names, fallback = answer
            if fallback:
                self.result.notes.append(
                    f"profile {account.profile or 'default'}: ec2:DescribeRegions was denied;"
                    f" asked every region botocore knows in the partition ({len(names)})"
                )
            if self.all_regions:  # known only now
                self.result.regions_total += len(names)
            for name in names:
                self.ask_region(account, name)

        self.submit(_Task(work, then, Failure(account.profile, None, None, "")))

    def ask_region(self, account: Account, region: str) -> None:
        from eksauth.aws import calls

        def work() -> tuple[EKSClient, list[str]]:
            with account.lock:  # botocore sessions are not thread-safe; clients are
                eks = calls.bounded_client(account.session, "eks", region, self.left())
            return eks, calls.cluster_names(eks, account.profile)

        def then(answer: tuple[EKSClient, list[str]]) -> None:
            eks, names = answer
            self.regions_done += 1
            self.result.listed[(account.profile, region)] = set(names)
            for name in names:
                self.ask_cluster(account, region, eks, name)

        self.submit(_Task(work, then, Failure(account.profile, region, None, "")))

    def ask_cluster(self, account: Account, region: str, eks: EKSClient, name: str) -> None:
        from eksauth.aws import calls

        def then(cluster: dict[str, Any]) -> None:
            self.clusters += 1
            self.result.found.append(Found(account.profile, region, cluster))

        work = lambda: calls.described(eks, account.profile, name)  # noqa: E731
        self.submit(_Task(work, then, Failure(account.profile, region, name, "")))

    def report(self) -> None:
        if self.progress is not None:
            failed = self.result.failures
            done = self.regions_done + sum(1 for f in failed if f.region and not f.cluster)
            total = self.result.regions_total
            self.progress(Progress(done, total, self.clusters, len(failed)))

    def wait(self) -> Survey:
        """Run the tasks (and those they add) until none is left or the deadline passes."""
        workers = [
            threading.Thread(
                target=_work, args=(self.tasks, self.answers), daemon=True, name=f"eksauth-{i}"
            )
            for i in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        self.report()
        while self.pending and self.left() > 0:
            try:
                number, ok, value = self.answers.get(timeout=self.left())
            except queue.Empty:
                break
            task = self.pending.pop(number)
            if ok:
                task.then(value)
            else:
                self.result.failures.append(_failed(task.failure, str(value)))
            self.report()
        for task in self.pending.values():  # still running at the deadline: not waited for
            reason = f"no answer within {self.timeout:g} s"
            self.result.failures.append(_failed(task.failure, reason))
        with suppress(queue.Empty):  # tasks not yet started are dropped, not run late
            while True:
                self.tasks.get_nowait()
        for _ in workers:
            self.tasks.put(None)
        self.report()
        return self.result


def _failed(failure: Failure, reason: str) -> Failure:
    return Failure(failure.profile, failure.region, failure.cluster, reason)


def _work(
    tasks: queue.Queue[tuple[int, _Task] | None], answers: queue.Queue[tuple[int, bool, object]]
) -> None:
    while True:
        item = tasks.get()
        if item is None:
            return
        number, task = item
        try:
            answers.put((number, True, task.work()))
        except EksAuthError as exc:
            answers.put((number, False, exc.one_line()))
        except Exception as exc:  # noqa: BLE001 -- one line for this region, not a traceback
            answers.put((number, False, f"{type(exc).__name__}: {exc}"))
