"""Map an identity through the aws-auth ConfigMap, as EKS's aws-iam-authenticator does.

What this reproduces (facts, not code):

- aws-auth (pkg/mapper/configmap): mapRoles and mapUsers are YAML lists whose entry keys match
  case-insensitively (Go's JSON decoding), while the data keys themselves are case-sensitive.
  An entry without its ARN is dropped. Roles are searched first, then users, comparing the
  lower-cased ARNs; a later entry for the same ARN replaces an earlier one. An ARN written with
  a role path never matches. Only when neither matches is mapAccounts consulted, and then the
  username is the canonical ARN, with no groups.
- renderTemplate (pkg/server/server.go): {{EC2PrivateDNSName}} first, and only if the session
  name is an instance id (`^i-(\\w{8}|\\w{17})$`, else the token is refused), then
  {{AccountID}}, {{SessionName}} (`@` becomes `-`), {{SessionNameRaw}}, {{AccessKeyID}}.

Stdlib only at import; yaml is imported when an aws-auth file is read.
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

from eksauth.errors import EksAuthError, VerificationError
from eksauth.identity.replay import CallerIdentity

EC2_DNS_TEMPLATE = "{{EC2PrivateDNSName}}"
# Go's \w is ASCII-only and its `$` means end of text: hence [0-9A-Za-z_] and fullmatch.
_INSTANCE_ID = re.compile(r"i-(?:[0-9A-Za-z_]{8}|[0-9A-Za-z_]{17})")
_ROLE_WITH_PATH = re.compile(r"(arn:[^:]*:iam::[^:]*:role/)(?:[^/]*/)+([^/]+)")


class Entry(NamedTuple):
    """One mapRoles or mapUsers entry."""

    arn: str
    username: str
    groups: tuple[str, ...]
    where: str  # e.g. "mapRoles[2]", for messages


class AwsAuth(NamedTuple):
    """The aws-auth ConfigMap's mappings, and what could not be read in it."""

    roles: tuple[Entry, ...]
    users: tuple[Entry, ...]
    accounts: frozenset[str]
    problems: tuple[str, ...]


class IdentityMapping(NamedTuple):
    """What aws-auth makes of an identity. `username` None: EKS would refuse it (`reason`)."""

    username: str | None
    groups: tuple[str, ...]
    source: str | None  # "mapRoles[0]", "mapUsers[1]" or "mapAccounts"
    reason: str | None
    notes: tuple[str, ...]  # what the reader should know: unresolved templates, near misses

    @property
    def mapped_by(self) -> str | None:
        """The one spelling every command prints: `aws-auth:mapRoles[0]`, ... or None."""
        return None if self.source is None else f"aws-auth:{self.source}"


_DATA_KEYS = ("mapRoles", "mapUsers", "mapAccounts")


def load_aws_auth(text: str) -> AwsAuth:
    """Read the ConfigMap as `kubectl get configmap aws-auth -o yaml` (or json) prints it, or
    just its `data`. Broken entries become `problems`, as the authenticator skips them."""
    data = _configmap_data(_yaml(text, "the aws-auth file"))
    problems = [
        f"data key {key!r} is ignored: EKS reads {known!r} (data keys are case-sensitive)"
        for key in data
        for known in _DATA_KEYS
        if key != known and key.lower() == known.lower()
    ]
    roles = _entries(data.get("mapRoles"), "mapRoles", "rolearn", problems)
    users = _entries(data.get("mapUsers"), "mapUsers", "userarn", problems)
    accounts = _accounts(data.get("mapAccounts"), problems)
    return AwsAuth(roles, users, accounts, tuple(problems))


def _yaml(text: str, what: str) -> Any:
    import yaml

    from eksauth.files import boundedyaml

    try:
        # BaseLoader: every scalar stays the text it was written as (an account id like
        # 012345670123 is not read as an octal number), and no Python object can be built.
        # Bounded: anyone who can edit the ConfigMap could plant an alias bomb.
        return boundedyaml.base_load(text)
    except yaml.YAMLError as exc:
        raise VerificationError(f"{what} is not valid YAML: {' '.join(str(exc).split())}") from exc


def _configmap_data(document: Any) -> dict[str, Any]:
    if isinstance(document, dict) and isinstance(document.get("data"), dict):
        return dict(document["data"])
    if isinstance(document, dict) and any(key in document for key in _DATA_KEYS):
        return dict(document)
    raise VerificationError(
        "the aws-auth file has no mapRoles, mapUsers or mapAccounts",
        hint="pass `kubectl get configmap aws-auth -n kube-system -o yaml`, or its data",
    )


def _entries(text: Any, section: str, arn_key: str, problems: list[str]) -> tuple[Entry, ...]:
    items = _section(text, section, problems)
    entries = []
    for index, item in enumerate(items):
        where = f"{section}[{index}]"
        # Go's JSON decoding matches field names case-insensitively: RoleARN, rolearn, rOlEaRn.
        fields = {str(k).lower(): v for k, v in item.items()} if isinstance(item, dict) else {}
        arn, username, groups = (
            fields.get(arn_key),
            fields.get("username", ""),
            fields.get("groups"),
        )
        if not isinstance(arn, str) or not arn:
            hint = " (sso entries are not evaluated)" if "sso" in fields else ""
            problems.append(f"{where} has no {arn_key} and is ignored{hint}")
            continue
        if groups in (None, ""):
            groups = []
        if not isinstance(username, str) or not isinstance(groups, list):
            problems.append(f"{where} has a malformed username or groups and is ignored")
            continue
        entries.append(Entry(arn, username, tuple(str(g) for g in groups), where))
    return tuple(entries)


def _section(text: Any, section: str, problems: list[str]) -> list[Any]:
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        problems.append(f"{section} must be a YAML string (`{section}: |`) and is ignored")
        return []
    try:
        items = _yaml(text, section)
    except VerificationError as exc:
        problems.append(f"{exc.message}; it is ignored")
        return []
    if items is None or items == "":
        return []
    if not isinstance(items, list):
        problems.append(f"{section} is not a YAML list and is ignored")
        return []
    return items


def _accounts(text: Any, problems: list[str]) -> frozenset[str]:
    items = _section(text, "mapAccounts", problems)
    return frozenset(str(item).strip() for item in items if isinstance(item, str))


def map_identity(
    caller: CallerIdentity,
    aws_auth: AwsAuth,
    *,
    resolve_dns: Callable[[str], str] | None = None,
) -> IdentityMapping:
    """The Kubernetes user and groups aws-auth gives `caller`, as the authenticator computes
    them. `resolve_dns` turns an instance id into its private DNS name (EksAuthError if it
    cannot); without it {{EC2PrivateDNSName}} stays unresolved, with a note saying so."""
    key = caller.canonical_arn.lower()
    entry = _last_match(aws_auth.roles, key) or _last_match(aws_auth.users, key)
    if entry is not None:
        return _render_entry(entry, caller, resolve_dns)
    if caller.account in aws_auth.accounts:
        return IdentityMapping(caller.canonical_arn, (), "mapAccounts", None, ())
    reason = (
        f"{caller.canonical_arn} is not mapped by aws-auth: no mapRoles or mapUsers entry "
        f"matches it, and account {caller.account} is not in mapAccounts"
    )
    return IdentityMapping(None, (), None, reason, _near_misses(aws_auth.roles, key))


def _last_match(entries: tuple[Entry, ...], key: str) -> Entry | None:
    # The authenticator stores entries in a map keyed by the lower-cased ARN: the last wins.
    return next((e for e in reversed(entries) if e.arn.lower() == key), None)


def strip_role_path(arn: str) -> str:
    """`arn:P:iam::A:role/some/path/R` → `arn:P:iam::A:role/R`; other ARNs unchanged."""
    return _ROLE_WITH_PATH.sub(r"\1\2", arn)


def _near_misses(roles: tuple[Entry, ...], key: str) -> tuple[str, ...]:
    return tuple(
        f"{entry.where} names {entry.arn} with a path; EKS compares role ARNs without "
        f"their path, so write {strip_role_path(entry.arn)}"
        for entry in roles
        if entry.arn.lower() != key and strip_role_path(entry.arn).lower() == key
    )


def _render_entry(
    entry: Entry, caller: CallerIdentity, resolve_dns: Callable[[str], str] | None
) -> IdentityMapping:
    dns_name: str | None = None
    notes: tuple[str, ...] = ()
    if any(EC2_DNS_TEMPLATE in text for text in (entry.username, *entry.groups)):
        if not _INSTANCE_ID.fullmatch(caller.session_name):
            reason = (
                f"{entry.where} maps to {EC2_DNS_TEMPLATE}, but the session name "
                f"{caller.session_name!r} is not an EC2 instance id, so EKS refuses the token"
            )
            return IdentityMapping(None, (), entry.where, reason, ())
        dns_name, notes = _resolve(caller.session_name, resolve_dns)
    return IdentityMapping(
        render(entry.username, caller, dns_name),
        tuple(render(group, caller, dns_name) for group in entry.groups),
        entry.where,
        None,
        notes,
    )


def _resolve(
    instance_id: str, resolve_dns: Callable[[str], str] | None
) -> tuple[str | None, tuple[str, ...]]:
    if resolve_dns is None:
        return None, (f"{EC2_DNS_TEMPLATE} left unresolved: no EC2 lookup was requested",)
    try:
        return resolve_dns(instance_id), ()
    except EksAuthError as exc:
        return None, (f"{EC2_DNS_TEMPLATE} left unresolved: {exc.one_line()}",)


def render(template: str, caller: CallerIdentity, dns_name: str | None = None) -> str:
    """Fill in the aws-auth templates in the authenticator's order; with no `dns_name`,
    {{EC2PrivateDNSName}} is left as written."""
    if dns_name is not None:
        template = template.replace(EC2_DNS_TEMPLATE, dns_name)
    return (
        template.replace("{{AccountID}}", caller.account)
        .replace("{{SessionName}}", caller.session_name.replace("@", "-"))
        .replace("{{SessionNameRaw}}", caller.session_name)
        .replace("{{AccessKeyID}}", caller.access_key_id)
    )


def read_source(path: str) -> str:
    """An --aws-auth file, read like a kubeconfig (`boundedread`); `-` is stdin, bounded too."""
    import sys

    from eksauth.files.boundedread import MAX_BYTES, read_text

    if path == "-":
        text = sys.stdin.read(MAX_BYTES + 1)
        if len(text) > MAX_BYTES:
            raise EksAuthError(
                f"the aws-auth ConfigMap on stdin is larger than {MAX_BYTES >> 20} MiB"
            )
        return text
    found = read_text(path, what="the aws-auth file")
    if found is None:
        raise EksAuthError(f"cannot read the aws-auth file {path}: it does not exist")
    return found


def map_caller(
    caller: CallerIdentity, tables: AwsAuth, region: str | None, profile: str | None
) -> IdentityMapping:
    """aws-auth's answer for `caller`, asking EC2 for {{EC2PrivateDNSName}} when needed."""

    def resolve(instance_id: str) -> str:
        # {{EC2PrivateDNSName}}: ask EC2 with the caller's profile, in the region given
        # (flag, then the environment's) or else the token's.
        import os

        from eksauth.aws import boundary, calls

        ec2_region = boundary.region(region, os.environ, None) or caller.region
        return calls.ec2_private_dns_name(instance_id, region_name=ec2_region, profile=profile)

    return map_identity(caller, tables, resolve_dns=resolve)
