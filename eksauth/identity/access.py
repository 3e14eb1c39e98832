"""Which Kubernetes user EKS makes of a caller: access entries, aws-auth, and the mode between.

Facts this module applies (EKS user guide "access entries", the EKS API reference, and
aws-iam-authenticator for aws-auth):

- The cluster's `accessConfig.authenticationMode` decides what is consulted: `CONFIG_MAP` reads
  only aws-auth; `API_AND_CONFIG_MAP` reads access entries first and aws-auth only when no entry
  matches; `API` reads only access entries.
- An access entry names an IAM role or user by its ARN *with* its IAM path
  (`role/teams/eks-admins`), while STS's assumed-role ARN never carries the path. EKS matches
  the principal itself, and IAM names are unique per account (case-insensitively), so a caller
  matches an entry by partition + account + kind + name; the ARN is never rebuilt.
- An entry without a custom username gets EKS's default: `arn:P:sts::A:assumed-role/ROLE/
  {{SessionName}}` for a role, the user's ARN for a user, `system:node:{{EC2PrivateDNSName}}`
  for EC2 node entries. Templates render as in aws-auth (`awsauth.render`).
- Access policies authorise through EKS's own authorizer, not through groups: an entry with
  neither groups nor policies authenticates but may do nothing (Forbidden, not Unauthorized).

Stdlib only; pure functions over values that `access_fetch.gather` collects.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from eksauth.errors import EksAuthError
from eksauth.identity.aws_auth import EC2_DNS_TEMPLATE, render
from eksauth.identity.aws_auth import IdentityMapping as AwsAuthMapping
from eksauth.identity.replay import CallerIdentity

MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# EKS records no "creator" field. With bootstrapClusterCreatorAdminPermissions true (the
# default) EKS itself, during CreateCluster, gives the calling principal a STANDARD entry with
# AmazonEKSClusterAdminPolicy at cluster scope. Nobody else can add an entry before the cluster
# is ACTIVE, which takes several minutes. So an entry is taken to be the creator's when the flag
# is true, the entry is STANDARD, carries that policy at cluster scope, and was created within
# this many seconds of the cluster. A creator entry deleted and re-added later is not flagged;
# it is then an ordinary, visible grant anyway.
CREATOR_WINDOW_SECONDS = 300.0
_NODE_USERNAMES = {
    "EC2_LINUX": "system:node:" + EC2_DNS_TEMPLATE,
    "EC2_WINDOWS": "system:node:" + EC2_DNS_TEMPLATE,
    "FARGATE_LINUX": "system:node:{{SessionName}}",
    "HYBRID_LINUX": "system:node:{{SessionName}}",
}
_PRIVILEGED_GROUPS = {
    "system:masters": "full cluster-admin that no RBAC rule can restrict",
    "system:nodes": "the kubelet's group: node permissions, limited by the NodeRestriction plugin",
}


class AccessPolicy(NamedTuple):
    """One ListAssociatedAccessPolicies item."""

    policy_arn: str
    scope_type: str  # "cluster" or "namespace"
    namespaces: tuple[str, ...]


class AccessEntry(NamedTuple):
    """What DescribeAccessEntry says about one entry."""

    principal_arn: str
    username: str | None  # None or "": EKS's default applies
    kubernetes_groups: tuple[str, ...]
    type: str
    created_at: float | None = None  # epoch seconds


class ClusterAccess(NamedTuple):
    """Everything EKS told us (or refused to tell us) about a cluster's access config.

    `principal_arns` None: the entries were not listed (CONFIG_MAP, or denied). `entry` is the
    caller's matching entry when one was found and described.
    """

    cluster: str
    authentication_mode: str | None  # None: unknown
    bootstrap_creator_admin: bool | None = None
    cluster_created_at: float | None = None
    principal_arns: tuple[str, ...] | None = None
    entry: AccessEntry | None = None
    policies: tuple[AccessPolicy, ...] | None = None
    missing_permissions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    endpoint: str | None = None  # DescribeCluster's API server endpoint and CA
    ca_data: str | None = None
    status: str | None = None  # ACTIVE, CREATING...


class Verdict(NamedTuple):
    """The Kubernetes user EKS makes of the caller, and how sure we are."""

    authentication_mode: str | None
    access_entry: AccessEntry | None
    access_policies: tuple[AccessPolicy, ...]
    mapped: bool
    mapped_by: str | None  # "access-entry", "aws-auth:mapRoles[N]", ... or None
    username: str | None
    groups: tuple[str, ...]
    cluster_creator: bool
    determined: bool  # False: a missing permission or input leaves the answer open
    missing_permissions: tuple[str, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The keys `whoami --json` adds to the caller's identity."""
        entry = self.access_entry
        return {
            "authentication_mode": self.authentication_mode,
            "access_entry": None
            if entry is None
            else {
                "principal_arn": entry.principal_arn,
                "username": entry.username,
                "kubernetes_groups": list(entry.kubernetes_groups),
                "type": entry.type,
            },
            "access_policies": [
                {
                    "policy_arn": p.policy_arn,
                    "access_scope": {"type": p.scope_type, "namespaces": list(p.namespaces)},
                }
                for p in self.access_policies
            ],
            "mapped": self.mapped,
            "mapped_by": self.mapped_by,
            "username": self.username,
            "groups": list(self.groups),
            "cluster_creator": self.cluster_creator,
            "determined": self.determined,
            "missing_permissions": list(self.missing_permissions),
            "notes": list(self.notes),
        }


# -- matching ------------------------------------------------------------------------------------


def _principal_key(arn: str) -> tuple[str, str, str, str] | None:
    """(partition, account, "role"|"user", lower-cased name) of an IAM role or user ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam":
        return None
    kind, slash, rest = parts[5].partition("/")
    if kind not in ("role", "user") or not slash or not rest:
        return None
    return parts[1], parts[4], kind, rest.rsplit("/", 1)[-1].lower()


def match_entry(caller: CallerIdentity, principal_arns: tuple[str, ...]) -> str | None:
    """The entry ARN (as EKS stores it, path and all) that names the caller's IAM principal."""
    key = _principal_key(caller.canonical_arn)
    if key is None:
        return None
    return next((arn for arn in principal_arns if _principal_key(arn) == key), None)


def entry_username(entry: AccessEntry) -> str:
    """The entry's username template: its own, or the default EKS gives its type."""
    if entry.username:
        return entry.username
    if entry.type in _NODE_USERNAMES:
        return _NODE_USERNAMES[entry.type]
    parts = entry.principal_arn.split(":", 5)
    key = _principal_key(entry.principal_arn)
    if key is not None and key[2] == "role":
        name = parts[5].rsplit("/", 1)[-1]
        return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/{{{{SessionName}}}}"
    return entry.principal_arn


def is_creator_entry(access: ClusterAccess) -> bool:
    """Whether `access.entry` is the one EKS made for the cluster's creator (see
    CREATOR_WINDOW_SECONDS for the rule)."""
    entry = access.entry
    if entry is None or not access.bootstrap_creator_admin or entry.type != "STANDARD":
        return False
    if entry.created_at is None or access.cluster_created_at is None:
        return False
    admin = any(
        p.policy_arn == CLUSTER_ADMIN_POLICY and p.scope_type == "cluster"
        for p in access.policies or ()
    )
    return admin and abs(entry.created_at - access.cluster_created_at) <= CREATOR_WINDOW_SECONDS


# -- the verdict ---------------------------------------------------------------------------------


class _Outcome(NamedTuple):
    mapped: bool
    mapped_by: str | None
    username: str | None
    groups: tuple[str, ...]
    complete: bool


def _entry_outcome(caller: CallerIdentity, access: ClusterAccess) -> _Outcome | None:
    """The outcome through access entries; None when no entry matches."""
    if access.entry is not None:
        template = entry_username(access.entry)
        username = render(template, caller)
        groups = tuple(render(g, caller) for g in access.entry.kubernetes_groups)
        return _Outcome(True, "access-entry", username, groups, True)
    if access.principal_arns is not None and match_entry(caller, access.principal_arns):
        return _Outcome(True, "access-entry", None, (), False)  # matched, but not described
    return None


def _outcome(
    mode: str, caller: CallerIdentity, access: ClusterAccess, aws_auth: AwsAuthMapping | None
) -> _Outcome:
    if mode != "CONFIG_MAP":
        if access.principal_arns is None:
            return _Outcome(False, None, None, (), False)
        through_entry = _entry_outcome(caller, access)
        if through_entry is not None:
            return through_entry
        if mode == "API":
            return _Outcome(False, None, None, (), True)
    if aws_auth is None:
        return _Outcome(False, None, None, (), False)
    if aws_auth.username is None:
        return _Outcome(False, None, None, (), True)
    return _Outcome(True, aws_auth.mapped_by, aws_auth.username, aws_auth.groups, True)


def _possible_modes(access: ClusterAccess) -> tuple[str, ...]:
    if access.authentication_mode is not None:
        return (access.authentication_mode,)
    if access.principal_arns is not None:  # EKS lists entries only outside CONFIG_MAP
        return ("API_AND_CONFIG_MAP", "API")
    return ("API_AND_CONFIG_MAP", "API", "CONFIG_MAP")


def decide(
    caller: CallerIdentity, access: ClusterAccess, aws_auth: AwsAuthMapping | None = None
) -> Verdict:
    """EKS's answer for `caller`: access entry and aws-auth weighed by the authentication mode.

    `aws_auth` is `awsauth.map_identity`'s result, or None when the ConfigMap was not read.
    When the mode is unknown every possible mode is tried; the answer is determined only if
    they agree.
    """
    modes = _possible_modes(access)
    outcomes = [_outcome(mode, caller, access, aws_auth) for mode in modes]
    first = outcomes[0]
    determined = all(o.complete for o in outcomes) and all(o[:4] == first[:4] for o in outcomes)
    entries_count = modes != ("CONFIG_MAP",)
    entry = access.entry if entries_count else None
    creator = entries_count and is_creator_entry(access)
    notes = list(access.notes)
    notes += _mode_notes(modes, outcomes, access, aws_auth, caller)
    notes += _entry_notes(entry, access, caller, creator)
    notes += _group_notes(first.groups)
    return Verdict(
        authentication_mode=access.authentication_mode,
        access_entry=entry._replace(username=entry_username(entry)) if entry else None,
        access_policies=tuple(access.policies or ()) if entry else (),
        mapped=first.mapped,
        mapped_by=first.mapped_by,
        username=first.username,
        groups=first.groups,
        cluster_creator=creator,
        determined=determined,
        missing_permissions=access.missing_permissions,
        notes=tuple(notes),
    )


# -- notes ---------------------------------------------------------------------------------------


def _describe(outcome: _Outcome) -> str:
    if not outcome.complete:
        return "unknown"
    if not outcome.mapped:
        return "not mapped"
    return f"{outcome.username} via {outcome.mapped_by}"


def _mode_notes(
    modes: tuple[str, ...],
    outcomes: list[_Outcome],
    access: ClusterAccess,
    aws_auth: AwsAuthMapping | None,
    caller: CallerIdentity,
) -> list[str]:
    notes: list[str] = []
    if len(modes) > 1:
        answers = "; ".join(f"{m}: {_describe(o)}" for m, o in zip(modes, outcomes))
        notes.append(
            f"the authentication mode is unknown, and the answer depends on it ({answers})"
        )
    mode, outcome = modes[0], outcomes[0]
    aws_auth_maps = aws_auth is not None and aws_auth.username is not None
    if aws_auth is not None and mode != "API" and outcome.mapped_by != "access-entry":
        notes += [f"aws-auth: {text}" for text in (aws_auth.reason, *aws_auth.notes) if text]
    if aws_auth_maps and aws_auth is not None and len(modes) == 1:
        if mode == "API":
            notes.append(
                f"aws-auth maps you ({aws_auth.source}), but the cluster's mode is API: EKS "
                "ignores aws-auth; add an access entry instead"
            )
        elif outcome.mapped_by == "access-entry":
            notes.append(
                f"aws-auth also maps you ({aws_auth.source}), but in API_AND_CONFIG_MAP mode "
                "the access entry takes precedence"
            )
    if mode == "API" and len(modes) == 1 and outcome.complete and not outcome.mapped:
        notes.append(
            "no access entry names you, and in API mode nothing else maps you: "
            f"`aws eks create-access-entry --cluster-name {access.cluster} "
            f"--principal-arn {caller.canonical_arn}`, then associate an access policy"
        )
    hidden_creator = access.bootstrap_creator_admin is not False
    if mode == "CONFIG_MAP" and len(modes) == 1 and not outcome.mapped and hidden_creator:
        notes.append(
            "in CONFIG_MAP mode the cluster's creator has admin access that appears in no "
            "aws-auth entry; if you created the cluster, that is how you get in"
        )
    if not caller.canonical_arn.split(":", 5)[5].startswith(("role/", "user/")) and any(
        m != "CONFIG_MAP" for m in modes
    ):
        notes.append(
            f"{caller.canonical_arn} is neither an IAM role nor an IAM user, so no access "
            "entry can name it"
        )
    return notes


def _entry_notes(
    entry: AccessEntry | None, access: ClusterAccess, caller: CallerIdentity, creator: bool
) -> list[str]:
    if entry is None:
        return []
    notes: list[str] = []
    if entry.principal_arn != caller.canonical_arn:
        notes.append(
            f"the access entry names {entry.principal_arn}; EKS matches it to you by the IAM "
            "principal, so its path and case do not matter (unlike in aws-auth)"
        )
    if creator:
        notes.append(
            "this is the entry EKS created for the cluster's creator "
            "(bootstrapClusterCreatorAdminPermissions): cluster-admin through "
            "AmazonEKSClusterAdminPolicy, visible in no aws-auth or RBAC object"
        )
    template = entry_username(entry)
    if EC2_DNS_TEMPLATE in template or any(EC2_DNS_TEMPLATE in g for g in entry.kubernetes_groups):
        notes.append(f"{EC2_DNS_TEMPLATE} left unresolved: it is the instance's private DNS name")
    if access.policies is not None and not access.policies and not entry.kubernetes_groups:
        notes.append(
            "the access entry has no access policies and no Kubernetes groups: you are "
            "authenticated but authorised for nothing (Forbidden, not Unauthorized)"
        )
    return notes


def _group_notes(groups: tuple[str, ...]) -> list[str]:
    return [f"group {g}: {_PRIVILEGED_GROUPS[g]}" for g in groups if g in _PRIVILEGED_GROUPS]


def undetermined(verdict: Verdict, access: ClusterAccess) -> EksAuthError:
    """The error for a verdict EKS left open: what could not be asked, and what to do."""
    missing = ", ".join(verdict.missing_permissions)
    unasked = next((n for n in access.notes if n.startswith("could not ask EKS")), None)
    if unasked is not None:
        return EksAuthError(
            f"could not determine which Kubernetes user you are: {unasked}",
            hint="check the network and AWS_ENDPOINT_URL_EKS; --no-eks with --aws-auth FILE "
            "answers from aws-auth alone",
        )
    return EksAuthError(
        "could not determine which Kubernetes user you are"
        + (f": missing {missing}" if missing else ""),
        hint=f"grant {missing}, or give --aws-auth" if missing else "give --aws-auth",
    )
