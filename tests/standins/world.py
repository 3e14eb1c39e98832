"""Shared, thread-safe state behind the stand-in STS, IMDS and EKS API servers."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

DEFAULT_ACCOUNT = "111122223333"
_ALNUM = string.ascii_uppercase + string.digits
_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/"
    r"(?:[\x21-\x7e]+/)*(?P<name>[\w+=,.@-]{1,64})$"
)
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _random_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(16))


def _stable_id(prefix: str, seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:16])


def _random_secret() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode()


def _random_session_token() -> str:
    # Real session tokens are long base64 with '+', '/' and '=': they exercise URL encoding.
    return "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(420)).decode()


def iso8601z(moment: datetime) -> str:
    """``2024-01-02T03:04:05Z`` (the format STS and IMDS use)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class WorldError(Exception):
    """An AWS-level refusal (AccessDenied, ValidationError, ...) with its HTTP status."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Principal:
    """One access key id and the identity it proves (satisfies ``sigv4.KeyRecord``)."""

    access_key_id: str
    secret_key: str
    session_token: str | None
    arn: str
    user_id: str
    account: str
    expiration: datetime | None = None

    @property
    def canonical_arn(self) -> str:
        """IAM role ARN for assumed-role sessions, the ARN itself otherwise."""
        match = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/", self.arn)
        if match:
            return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}"
        return self.arn


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials minted by :meth:`World.issue_session`."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    arn: str
    assumed_role_id: str
    account: str


@dataclass
class RoleRule:
    """Who may assume a role. ``allow=None`` means any known principal."""

    allow: set[str] | None = None
    deny: set[str] = field(default_factory=set)
    deny_all: bool = False
    external_id: str | None = None
    max_session_duration: int = 43200


@dataclass(frozen=True)
class RoleArn:
    partition: str
    account: str
    name: str


def parse_role_arn(role_arn: str) -> RoleArn:
    match = _ROLE_ARN.match(role_arn)
    if not match:
        raise WorldError(
            "ValidationError", f"{role_arn} is invalid", status=400
        )  # real STS: "Value ... at 'roleArn' failed to satisfy constraint"
    return RoleArn(match.group("partition"), match.group("account"), match.group("name"))


class World:
    """Principals, roles, a settable clock, call counters and a request log.

    All mutating helpers take ``self.lock``; servers read through the same helpers.
    """

    def __init__(self, *, partition: str = "aws", account: str = DEFAULT_ACCOUNT) -> None:
        self.lock = threading.RLock()
        self.partition = partition
        self.account = account
        self.principals: dict[str, Principal] = {}
        self.roles: dict[str, RoleRule] = {}
        #: When False, AssumeRole on a role ARN never passed to ``add_role`` is denied.
        self.unknown_roles_assumable = True
        #: Returns the current aware UTC time; replace it (or use :meth:`freeze`) in tests.
        self.clock: Callable[[], datetime] = _utcnow
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.log: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ clock

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("World.clock must return an aware datetime")
        return moment.astimezone(timezone.utc)

    def freeze(self, moment: datetime) -> None:
        """Stop the clock at ``moment`` (aware)."""
        if moment.tzinfo is None:
            raise ValueError("freeze() needs an aware datetime")
        self.clock = lambda: moment

    def advance(self, delta: timedelta) -> None:
        """Move the clock (frozen or real) by ``delta``."""
        previous = self.clock
        self.clock = lambda: previous() + delta

    # ------------------------------------------------------------------ principals

    def add_user(
        self,
        access_key: str,
        secret: str,
        *,
        arn: str | None = None,
        user_id: str | None = None,
        account: str | None = None,
        session_token: str | None = None,
        expiration: datetime | None = None,
    ) -> Principal:
        """Register long-term (or, with ``session_token``, temporary) credentials."""
        acct = account or self.account
        principal = Principal(
            access_key_id=access_key,
            secret_key=secret,
            session_token=session_token,
            arn=arn or f"arn:{self.partition}:iam::{acct}:user/test-user",
            user_id=user_id or _stable_id("AIDA", access_key),
            account=acct,
            expiration=expiration,
        )
        with self.lock:
            self.principals[access_key] = principal
        return principal

    def new_user(self, name: str = "test-user", *, account: str | None = None) -> Principal:
        """Mint a random ``AKIA...`` user called ``name``."""
        acct = account or self.account
        return self.add_user(
            _random_id("AKIA"),
            _random_secret(),
            arn=f"arn:{self.partition}:iam::{acct}:user/{name}",
            account=acct,
        )

    def lookup(self, access_key_id: str) -> Principal | None:
        with self.lock:
            return self.principals.get(access_key_id)

    def revoke(self, access_key_id: str) -> None:
        with self.lock:
            self.principals.pop(access_key_id, None)

    def role_id(self, role_arn: str) -> str:
        """Stable ``AROA...`` id for a role ARN."""
        return _stable_id("AROA", role_arn)

    def issue_session(
        self,
        arn_of_role: str,
        session_name: str,
        duration: int | timedelta = 3600,
        source: str = "sts",
    ) -> Credentials:
        """Mint ``ASIA...`` credentials for ``arn_of_role`` and register them.

        The identity ARN drops the role path as AWS does:
        ``arn:<partition>:sts::<acct>:assumed-role/<RoleName>/<session>``.
        """
        role = parse_role_arn(arn_of_role)
        seconds = duration if isinstance(duration, int) else int(duration.total_seconds())
        expiration = (self.now() + timedelta(seconds=seconds)).replace(microsecond=0)
        arn = f"arn:{role.partition}:sts::{role.account}:assumed-role/{role.name}/{session_name}"
        user_id = f"{self.role_id(arn_of_role)}:{session_name}"
        creds = Credentials(
            access_key_id=_random_id("ASIA"),
            secret_access_key=_random_secret(),
            session_token=_random_session_token(),
            expiration=expiration,
            arn=arn,
            assumed_role_id=user_id,
            account=role.account,
        )
        with self.lock:
            self.principals[creds.access_key_id] = Principal(
                access_key_id=creds.access_key_id,
                secret_key=creds.secret_access_key,
                session_token=creds.session_token,
                arn=arn,
                user_id=user_id,
                account=role.account,
                expiration=expiration,
            )
        self.record(
            "issue_session",
            count=False,
            source=source,
            role_arn=arn_of_role,
            session_name=session_name,
            access_key_id=creds.access_key_id,
            expiration=iso8601z(expiration),
        )
        return creds

    # ------------------------------------------------------------------ roles

    def add_role(
        self,
        role_arn: str,
        *,
        allow: Iterable[str] | None = None,
        deny: Iterable[str] = (),
        deny_all: bool = False,
        external_id: str | None = None,
        max_session_duration: int = 43200,
    ) -> RoleRule:
        parse_role_arn(role_arn)
        rule = RoleRule(
            allow=set(allow) if allow is not None else None,
            deny=set(deny),
            deny_all=deny_all,
            external_id=external_id,
            max_session_duration=max_session_duration,
        )
        with self.lock:
            self.roles[role_arn] = rule
        return rule

    def deny(self, role_arn: str, principal_arn: str | None = None) -> None:
        """Deny ``principal_arn`` (or everyone, when None) from assuming ``role_arn``."""
        with self.lock:
            rule = self.roles.get(role_arn)
            if rule is None:
                rule = self.add_role(role_arn)
            if principal_arn is None:
                rule.deny_all = True
            else:
                rule.deny.add(principal_arn)

    def authorize_assume(
        self,
        caller: Principal,
        role_arn: str,
        *,
        external_id: str | None,
        duration: int,
    ) -> None:
        """Raise :class:`WorldError` unless ``caller`` may assume ``role_arn``."""
        parse_role_arn(role_arn)
        denied = WorldError(
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole "
            f"on resource: {role_arn}",
        )
        with self.lock:
            rule = self.roles.get(role_arn)
            if rule is None:
                if not self.unknown_roles_assumable:
                    raise denied
                rule = RoleRule()
            names = {caller.arn, caller.canonical_arn}
            if rule.deny_all or names & rule.deny:
                raise denied
            if rule.allow is not None and not names & rule.allow:
                raise denied
            if rule.external_id is not None and external_id != rule.external_id:
                raise denied
            if duration > rule.max_session_duration:
                raise WorldError(
                    "ValidationError",
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                    "this role.",
                    status=400,
                )
        if ":assumed-role/" in caller.arn and duration > 3600:
            raise WorldError(
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining.",
                status=400,
            )

    @staticmethod
    def validate_session_name(name: str | None) -> str:
        if name is None or not _SESSION_NAME.match(name):
            raise WorldError(
                "ValidationError",
                f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                "[\\w+=,.@-]*",
                status=400,
            )
        return name

    # ------------------------------------------------------------------ accounting

    def record(self, action: str, *, count: bool = True, **fields: Any) -> None:
        """Count ``action`` and log the (non-secret) ``fields`` seen with it."""
        entry: dict[str, Any] = {"action": action, "at": iso8601z(self.now())}
        entry.update(fields)
        with self.lock:
            if count:
                self.calls[action] += 1
            result = fields.get("result")
            if isinstance(result, str) and result != "ok":
                self.errors[result] += 1
            self.log.append(entry)

    def entries(self, action: str | None = None) -> list[dict[str, Any]]:
        """A snapshot of the log, optionally only one action."""
        with self.lock:
            return [dict(e) for e in self.log if action is None or e["action"] == action]
