"""migrate-kubeconfig: users that run `aws … eks get-token` or `aws-iam-authenticator token`
become users that run the eksauth exec signing the same token.

Anything eksauth could not reproduce exactly is left as it is, with the reason.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eksauth.aws import cliargs
from eksauth.aws.cliargs import TOKEN_NEUTRAL
from eksauth.errors import UsageError
from eksauth.kubeconfig.command import INSTALL_HINT
from eksauth.kubeconfig.command import program as command_program
from eksauth.kubeconfig.entries import EXEC_API_VERSION

# Removed from kubectl in 1.24; v1beta1 carries the same ExecCredential fields.
OLD_EXEC_API_VERSION = "client.authentication.k8s.io/v1alpha1"
# kubectl refuses a v1 exec without interactiveMode; IfAvailable is its default for v1beta1.
V1_EXEC_API_VERSION = "client.authentication.k8s.io/v1"


@dataclass(frozen=True)
class Migration:
    """The migrated kubeconfig, what changed (one line per user) and what was left and why."""

    content: dict[str, Any]
    changed: list[str]
    skipped: list[str]


class _Unmigratable(Exception):
    """This exec cannot be expressed as eksauth's without changing what it does."""


_AWS_SAME_OUTPUT = ("json", "yaml", "yaml-stream")
_AWS_VALUES = {
    "--region": "--region",
    "--profile": "--profile",
    "--cluster-name": "--cluster-name",
    "--cluster-id": "--cluster-id",
    "--role-arn": "--role-arn",
    "--role": "--role-arn",  # what aws-cli's update-kubeconfig writes
    "--ca-bundle": "AWS_CA_BUNDLE",  # a session setting: the same as the variable
}
_AUTHENTICATOR_VALUES = {
    "--region": "--region",
    "-i": "--cluster-name",  # the authenticator's cluster ID is EKS's cluster name
    "--cluster-id": "--cluster-name",
    "-r": "--role-arn",
    "--role": "--role-arn",
    "-e": "--external-id",
    "--external-id": "--external-id",
    "-s": "--role-session-name",
    "--session-name": "--role-session-name",
    "-l": None,  # log format and level: diagnostics only
    "--log-format": None,
    "--loglevel": None,
}
_AUTHENTICATOR_FLAGS = {"--forward-session-name": "--forward-session-name", "--cache": None}
# The authenticator reads these when the flags are absent; eksauth does not, so they move to args.
_AUTHENTICATOR_ENV = {
    "KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID": "--cluster-name",
    "DEFAULT_ROLE": "--role-arn",
}
_AUTHENTICATORS = ("aws-iam-authenticator", "heptio-authenticator-aws")
# Where the authenticator (the Go SDK's default config) and eksauth both find a region at run time.
_REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def migrate(content: Mapping[str, Any], command: str = "eksauth") -> Migration:
    """`content` with every aws-cli / aws-iam-authenticator exec user turned into eksauth's.

    Users that already run eksauth (`token …`) only lose a v1alpha1 apiVersion; anything
    eksauth could not reproduce exactly is left as it is, with the reason in `skipped`.
    Migrated execs run `command` (see `kubeconfig.command.exec_command`).
    """
    migrated = copy.deepcopy(dict(content))
    changed: list[str] = []
    skipped: list[str] = []
    regions = _endpoint_regions(migrated)
    for entry in migrated.get("users") or []:
        user = entry.get("user")
        exec_ = user.get("exec") if isinstance(user, dict) else None
        if not isinstance(exec_, dict):
            continue
        name = entry.get("name", "?")
        try:
            note = migrate_exec(exec_, command, region_hint=regions.get(str(name)))
        except _Unmigratable as exc:
            skipped.append(f"user {name}: {exc}")
            continue
        if note:
            changed.append(f"user {name}: {note}")
    return Migration(migrated, changed, skipped)


def migrate_exec(
    exec_: dict[str, Any], command: str = "eksauth", *, region_hint: str | None = None
) -> str | None:
    """Rewrite one exec in place; a note of what changed, or None if nothing needed to.

    `region_hint` is the region to suggest for an authenticator exec that names none."""
    args = [str(a) for a in exec_.get("args") or []]
    program = command_program(exec_.get("command"))
    notes: list[str] = []
    if program in ("aws", "eksauth") and "eks" in args and "get-token" in args:
        exec_["args"], dropped = _from_aws(args, exec_)
        notes.append(f"{program} eks get-token -> eksauth token" + _dropped(dropped))
    elif program in _AUTHENTICATORS and "token" in args:
        exec_["args"], dropped = _from_authenticator(args, exec_, region_hint)
        notes.append(f"{program} token -> eksauth token" + _dropped(dropped))
    elif program != "eksauth":
        return None
    if notes:  # an exec that already runs eksauth keeps its own command (and hint)
        exec_["command"] = command
        exec_["installHint"] = INSTALL_HINT  # another program's hint would mislead
    if exec_.get("apiVersion") == OLD_EXEC_API_VERSION:
        exec_["apiVersion"] = EXEC_API_VERSION
        notes.append("apiVersion v1alpha1 -> v1beta1")
    if exec_.get("apiVersion") == V1_EXEC_API_VERSION and not exec_.get("interactiveMode"):
        exec_["interactiveMode"] = "IfAvailable"
        notes.append("interactiveMode: IfAvailable added (kubectl requires one with v1)")
    return "; ".join(notes) or None


def as_eksauth(exec_: Mapping[str, Any]) -> dict[str, Any] | str:
    """A copy of `exec_` as the eksauth exec that signs the same token, or the reason there is
    none: how doctor and whoami read an aws-cli or aws-iam-authenticator user entry."""
    rewritten = copy.deepcopy(dict(exec_))
    try:
        migrate_exec(rewritten)
    except _Unmigratable as exc:
        return str(exc)
    if command_program(rewritten.get("command")) != "eksauth":
        return f"it runs {exec_.get('command')!r}, not eksauth, aws or aws-iam-authenticator"
    return rewritten


def _dropped(options: list[str]) -> str:
    return f" (dropped {', '.join(options)})" if options else ""


def _from_aws(args: list[str], exec_: dict[str, Any]) -> tuple[list[str], list[str]]:
    words, options = _scan(
        args,
        values=set(_AWS_VALUES) | (TOKEN_NEUTRAL & cliargs.VALUES),
        flags=set(TOKEN_NEUTRAL & cliargs.FLAGS),
    )
    if words != ["eks", "get-token"]:
        raise _Unmigratable(f"unexpected arguments {' '.join(words)!r}")
    if options.get("--output", "json") not in _AWS_SAME_OUTPUT:
        raise _Unmigratable(f"--output {options['--output']} prints no ExecCredential")
    chosen = {_AWS_VALUES[o]: v for o, v in options.items() if o in _AWS_VALUES}
    dropped = [o for o in options if o not in _AWS_VALUES]
    bundle = chosen.pop("AWS_CA_BUNDLE", None)
    args = _eksauth_args(chosen)  # may refuse: touch the exec only after it did not
    if bundle is not None:
        _set_env(exec_, "AWS_CA_BUNDLE", bundle)
    return args, dropped


def _from_authenticator(
    args: list[str], exec_: dict[str, Any], region_hint: str | None
) -> tuple[list[str], list[str]]:
    words, options = _scan(args, values=set(_AUTHENTICATOR_VALUES), flags=set(_AUTHENTICATOR_FLAGS))
    if words != ["token"]:
        raise _Unmigratable(f"unexpected arguments {' '.join(words)!r}")
    table: dict[str, str | None] = {**_AUTHENTICATOR_VALUES, **_AUTHENTICATOR_FLAGS}
    chosen = {str(table[o]): v for o, v in options.items() if table[o] is not None}
    dropped = [o for o in options if table[o] is None]
    for variable, option in _AUTHENTICATOR_ENV.items():
        value = _env_value(exec_, variable)
        if value and option not in chosen:
            chosen[option] = value
    migrated = _eksauth_args(chosen)  # its refusals first: they say what is missing
    if "--region" not in chosen and not any(_env_value(exec_, v) for v in _REGION_VARIABLES):
        # The authenticator then signs for the EC2 instance's region, else us-east-1's regional
        # host; eksauth would sign the global host, which EKS outside aws refuses.
        raise _Unmigratable(
            "it names no region (aws-iam-authenticator then uses the instance's, else "
            "us-east-1's regional STS; eksauth would use the global one): add "
            f"`--region {region_hint or 'REGION'}` to its args and run this again"
        )
    return migrated, dropped


def _endpoint_regions(content: Mapping[str, Any]) -> dict[str, str]:
    """{user name: region} from the EKS endpoint (`….REGION.eks.amazonaws.com[.cn]`) of the
    cluster of a context that uses the user; users with no such single region are left out."""
    servers = {}
    for entry in content.get("clusters") or []:
        cluster = entry.get("cluster")
        if isinstance(cluster, dict):
            servers[entry.get("name")] = str(cluster.get("server") or "")
    found: dict[str, set[str]] = {}
    for entry in content.get("contexts") or []:
        context = entry.get("context")
        if not isinstance(context, dict):
            continue
        try:
            host = urlsplit(servers.get(context.get("cluster"), "")).hostname or ""
        except ValueError:  # not a URL kubectl could use either
            continue
        for suffix in (".eks.amazonaws.com", ".eks.amazonaws.com.cn"):
            labels = host[: -len(suffix)].split(".") if host.endswith(suffix) else []
            if len(labels) == 3:  # ID.gr7.REGION: EKS's endpoint names
                found.setdefault(str(context.get("user")), set()).add(labels[2])
    return {user: regions.pop() for user, regions in found.items() if len(regions) == 1}


def _scan(
    args: Sequence[str], *, values: set[str], flags: set[str]
) -> tuple[list[str], dict[str, str]]:
    """(positional words, {option: value}) in the GNU style both tools parse.

    `--opt value`, `--opt=value` and `-xvalue` are understood; the last repeat wins, as in
    argparse and cobra. An option without an eksauth equivalent makes the exec unmigratable.
    """
    words: list[str] = []
    options: dict[str, str] = {}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("-") or arg == "-":
            words.append(arg)
            continue
        name, value = _split_option(arg, values)
        if name in flags and value is None:
            options[name] = ""
        elif name in values:
            if value is None:
                if not rest:
                    raise _Unmigratable(f"{name} has no value")
                value = rest.pop(0)
            options[name] = value
        else:
            raise _Unmigratable(f"{name} has no eksauth equivalent")
    return words, options


def _split_option(arg: str, values: set[str]) -> tuple[str, str | None]:
    if arg.startswith("--"):
        name, sep, value = arg.partition("=")
        return name, value if sep else None
    if len(arg) > 2 and arg[:2] in values:  # cobra's -iVALUE and -i=VALUE
        return arg[:2], arg[2:].removeprefix("=")
    return arg, None


def _eksauth_args(chosen: Mapping[str, str]) -> list[str]:
    """The `eksauth token` arguments for the options `chosen` (named as eksauth names them),
    checked by eksauth's own rules, so a migrated entry never fails where the old one worked."""
    from eksauth.request import request_from_values

    values: dict[str, object] = {
        option[2:].replace("-", "_").replace("role_session_name", "session_name"): value
        for option, value in chosen.items()
    }
    values["forward_session_name"] = "--forward-session-name" in chosen
    try:
        return request_from_values(values).argv()
    except UsageError as exc:
        raise _Unmigratable(exc.message) from exc


def _env_value(exec_: Mapping[str, Any], name: str) -> str | None:
    for item in exec_.get("env") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return str(item.get("value", ""))
    return None


def _set_env(exec_: dict[str, Any], name: str, value: str) -> None:
    if _env_value(exec_, name) is None:
        exec_["env"] = [*(exec_.get("env") or []), {"name": name, "value": value}]
