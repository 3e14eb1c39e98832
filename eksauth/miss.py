"""What every cache miss shares: its context, and the one "take the lock, look again, else make
it" step. The orchestrator (`orchestrator.py`) uses both for tokens and role credentials, the
sign-in (`sso/signin.py`) for IAM Identity Center sessions; both import this module, so neither
imports the other's caller. Never loaded on a cache hit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, TypeVar

from eksauth.cache import LOCK_WAIT_SECONDS, Cache
from eksauth.request import TokenRequest

T = TypeVar("T")
Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Context:
    """One run's request and what it works with: the environment, the clock reading, the
    cache, whether a person may be asked (`interactive`), and its two voices: `log` (-v) and
    `say`, which talks to the person at the terminal (None: never, so never sign in)."""

    request: TokenRequest
    env: Mapping[str, str]
    now: float
    cache: Cache
    interactive: bool = False
    log: Log = _quiet
    say: Log | None = None


def looked_up_or_made(
    cache: Cache,
    name: str,
    look: Callable[[], T | None],
    make: Callable[[], T],
    log: Log,
    *,
    timeout: float = LOCK_WAIT_SECONDS,
    without_lock: Callable[[str | None], None] | None = None,
    reusing: str | None = None,
) -> T:
    """The one miss step: take `name`'s lock, look again (another process may have made it
    meanwhile), else make it. Of many processes missing together, one makes, the rest read.

    `timeout` bounds the wait for the lock. A lock not had is logged and the step goes on
    without it, unless `without_lock` is given: it hears why (and may raise).
    `reusing` is the -v line when another process made it (default: names the entry).
    """
    lock = cache.lock(name, timeout)
    with lock as held:
        if not held:
            if without_lock is None:
                log(f"{lock.problem}; going on without the cache lock")
            else:
                without_lock(lock.problem)
        found = look()
        if found is not None:
            log(reusing or f"{name} was made by another process meanwhile; reusing it")
            return found
        return make()
