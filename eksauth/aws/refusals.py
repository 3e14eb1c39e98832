"""What AWS's refusals mean for someone trying to reach EKS, and what to do next.

One table for both places a refusal arrives: botocore's errors at the AWS boundary
(`aws/boundary.py`: AssumeRole, EKS, credential providers) and STS's answer to a replayed token
(`identity/replay.py`). Stdlib only.
"""

from __future__ import annotations

EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException"})
DENIED = frozenset({"AccessDenied", "AccessDeniedException"})

# botocore's RefreshableCredentials raises a bare RuntimeError with this sentence (the same in
# every botocore since 2014) when a refresh returns credentials already past their Expiration.
# It has no error code, so the whole sentence is matched, not a word of another error's text.
STILL_EXPIRED = "Credentials were refreshed, but the refreshed credentials are still expired."

_HINTS = {
    "AccessDenied": "check that the role's trust policy allows the calling identity",
    "AccessDeniedException": "the caller lacks the IAM permission named above",
    "InvalidClientTokenId": (
        "the access key is unknown to STS: deleted or deactivated, from another partition "
        "(aws-cn, aws-us-gov), or used in a region that is not enabled for the account"
    ),
    "UnrecognizedClientException": "the credentials are not valid in this region",
    "RegionDisabledException": "activate STS in this region, or choose another --region",
    "ResourceNotFoundException": "check --name and --region (`aws eks list-clusters`)",
}


def sso_login_command(profile: str | None) -> str:
    """The command that signs `profile` in, as hints name it."""
    return f"eksauth sso login --profile {profile}" if profile else "eksauth sso login"


def hint(
    code: str | None,
    *,
    profile: str | None = None,
    role: str | None = None,
    message: str = "",
) -> str | None:
    """What to do about error `code`: `profile` names the credentials' profile, `role` the
    role being assumed, `message` the service's own text (it names the caller)."""
    if code in EXPIRED:
        login = f"`{sso_login_command(profile)}`" if profile else "`eksauth sso login --profile P`"
        return f"refresh the credentials; for an SSO profile, {login}"
    if code in DENIED and role:
        return (
            f"{caller_in(message) or 'the calling identity'} may not assume {role}: the role's "
            "trust policy must allow it, and the caller's own policy must allow sts:AssumeRole"
        )
    return _HINTS.get(code or "")


def caller_in(message: str) -> str | None:
    """The caller's ARN in an AccessDenied message ("User: arn:aws:... is not authorized")."""
    _, found, rest = message.partition("User: ")
    word = rest.split(" ", 1)[0] if found else ""
    return word if word.startswith("arn:") else None
