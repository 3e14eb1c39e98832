"""One error hierarchy: every failure a user can see is an `EksAuthError`.

Each carries a message that says what failed and, where there is one, a hint that says what to do.
The CLI prints `eksauth: error: <message>` (plus ` (<hint>)`) on one stderr line and exits 1;
`UsageError` exits 2. botocore's exceptions are mapped to these once, at the AWS boundary
(aws/boundary.py), keeping the original as `__cause__` (`raise … from exc`) unless its text could
hold a secret; with -v the CLI prints that chain, one `caused by:` line each (`cause_lines`).
"""

from __future__ import annotations


class EksAuthError(Exception):
    """A failure with a user-facing message; exit status 1."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint as the single stderr line the CLI prints."""
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class UsageError(EksAuthError):
    """The command line is wrong; exit status 2, like click's own usage errors."""

    exit_code = 2


class InvalidRegionError(UsageError):
    """A region name that cannot name any AWS region."""


class CredentialsError(EksAuthError):
    """No usable AWS credentials (missing, unknown profile, expired SSO session...)."""


class AwsError(EksAuthError):
    """An AWS service answered with an error (its code in `code`) or could not be reached."""

    def __init__(self, message: str, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code


class StsError(AwsError):
    """STS answered with an error (AccessDenied, ExpiredToken...) or could not be reached."""


class TokenFormatError(EksAuthError):
    """A token that is not a well-formed `k8s-aws-v1.` token."""


class VerificationError(EksAuthError):
    """A token that EKS would reject, with the reason."""


class KubeconfigError(EksAuthError):
    """A kubeconfig that cannot be read, parsed or written."""


class SsoError(CredentialsError):
    """An IAM Identity Center sign-in that failed (refused, denied, expired, timed out...).

    `code` is the SSO OIDC error code when the service answered one (AuthorizationPending...).
    """

    def __init__(self, message: str, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code


class SsoSessionError(CredentialsError):
    """A profile's IAM Identity Center session is missing or expired and botocore could not
    refresh it: a sign-in (`eksauth sso login`) is what fixes it. `profile` as botocore uses it."""

    def __init__(self, message: str, hint: str | None = None, profile: str | None = None) -> None:
        super().__init__(message, hint)
        self.profile = profile


MAX_CAUSES = 5
MAX_CAUSE_CHARS = 300


def cause_lines(exc: BaseException) -> list[str]:
    """`caused by: <Type>: <message>` for each `__cause__` under `exc`, outermost first.

    Only explicit causes (`raise … from exc`), never the implicit `__context__`: a `from None`
    marks a cause whose text may hold a secret. One line each, at most MAX_CAUSE_CHARS, and at
    most MAX_CAUSES lines (a chain that loops back stops where it repeats).
    """
    lines: list[str] = []
    seen = {id(exc)}
    cause = exc.__cause__
    while cause is not None and id(cause) not in seen and len(lines) < MAX_CAUSES:
        seen.add(id(cause))
        text = " ".join(str(cause).split())
        line = f"caused by: {type(cause).__name__}" + (f": {text}" if text else "")
        if len(line) > MAX_CAUSE_CHARS:
            line = line[: MAX_CAUSE_CHARS - 1] + "…"
        lines.append(line)
        cause = cause.__cause__
    return lines
