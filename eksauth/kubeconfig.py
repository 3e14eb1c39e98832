"""Read, merge, migrate and write kubeconfig files, atomically and privately.

`update-kubeconfig` writes the entries `aws eks update-kubeconfig` writes (a cluster, a user and
a context, all named by the cluster ARN; a same-named entry is replaced where it stands, a new
one appended; current-context set), with an eksauth exec instead of `aws eks get-token`.
`migrate-kubeconfig` rewrites the users whose exec runs `aws … eks get-token` or
`aws-iam-authenticator token` into the eksauth exec that signs the same token.

Everything the file holds besides those entries stays. A file that is not kubeconfig YAML is an
error and is never rewritten. Files are written like cache entries: a temp file (0600) in the
same folder, fsynced, then `os.replace`d; a folder we create is 0700.

yaml is imported inside the functions that need it; boto3 only in `describe_cluster`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eksauth.errors import CredentialsError, EksAuthError, KubeconfigError, UsageError
from eksauth.privatefile import replace_private

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
# Removed from kubectl in 1.24; v1beta1 carries the same ExecCredential fields.
OLD_EXEC_API_VERSION = "client.authentication.k8s.io/v1alpha1"
DEFAULT_PATH = "~/.kube/config"
BACKUP_SUFFIX = ".eksauth-backup"
# DescribeCluster states in which the endpoint and CA are usable (aws-cli accepts the same two).
USABLE_STATES = ("ACTIVE", "UPDATING")
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


class ClusterError(EksAuthError):
    """DescribeCluster failed, or the cluster is not usable yet."""


# -- paths, reading and writing ------------------------------------------------------------------


def default_path(env: Mapping[str, str]) -> str:
    """The first path in KUBECONFIG, else ~/.kube/config (aws-cli's and kubectl's choice)."""
    for element in env.get("KUBECONFIG", "").split(os.pathsep):
        if element.strip():
            return expand(element)
    return expand(DEFAULT_PATH)


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
    """The file's text, or None when there is no file."""
    try:
        # newline="": the text (and so a backup written from it) keeps the file's line endings.
        with open(path, encoding="utf-8", newline="") as stream:
            return stream.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise KubeconfigError(f"{path} is not UTF-8 text", hint=_UNTOUCHED) from None
    except OSError as exc:
        raise KubeconfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse(text: str, path: str) -> dict[str, Any]:
    """The kubeconfig in `text`; KubeconfigError unless it has kubeconfig's shape."""
    import yaml

    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
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


def write_private(path: str, data: bytes) -> None:
    """Replace `path` with `data` atomically, mode 0600; a missing folder is created 0700.

    A symlinked kubeconfig (dotfiles) is written through: the link stays, its target changes.
    """
    target = os.path.realpath(path)
    try:
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        replace_private(target, data)
    except OSError as exc:
        raise KubeconfigError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- the cluster: from DescribeCluster or from the command line ----------------------------------


@dataclass(frozen=True)
class Cluster:
    """What a kubeconfig needs to know about one cluster."""

    name: str
    region: str
    entry_name: str  # the cluster ARN, as aws-cli names the entries
    endpoint: str
    ca_data: str  # base64 PEM, kubeconfig's certificate-authority-data
    cluster_id: str | None = None  # Outposts local clusters: the token names the id
    ca_file: str | None = None  # an offline --ca-file, for the kubelet flavour to point at


def describe_cluster(name: str, *, region: str | None, profile: str | None) -> Cluster:
    """The cluster's endpoint and CA from EKS DescribeCluster (AWS_ENDPOINT_URL_EKS honoured)."""
    import boto3
    import botocore.exceptions as failure

    offline = "or write it offline with --endpoint and --ca-data/--ca-file"
    try:
        client = boto3.session.Session(profile_name=profile, region_name=region).client("eks")
        description = client.describe_cluster(name=name)["cluster"]
    except failure.NoRegionError:
        raise UsageError("no region to look the cluster up in", hint="give --region") from None
    except failure.ProfileNotFound:
        raise CredentialsError(
            f"the AWS profile {profile!r} was not found",
            hint="list profiles with `aws configure list-profiles`",
        ) from None
    except failure.NoCredentialsError:
        raise CredentialsError(
            "no AWS credentials to call eks:DescribeCluster", hint=f"set AWS_PROFILE, {offline}"
        ) from None
    except failure.ClientError as exc:
        raise _describe_error(exc, name) from None
    except failure.BotoCoreError as exc:
        raise ClusterError(f"eks:DescribeCluster failed: {exc}", hint=offline) from None
    return cluster_from_description(dict(description), name)


def _describe_error(exc: Any, name: str) -> ClusterError:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Unknown"), error.get("Message", "")
    hints = {
        "ResourceNotFoundException": "check --name and --region (`aws eks list-clusters`)",
        "AccessDeniedException": "the caller needs eks:DescribeCluster on this cluster",
        "UnrecognizedClientException": "the credentials are not valid in this region",
    }
    return ClusterError(f"eks:DescribeCluster {name} failed: {code}: {message}", hints.get(code))


def cluster_from_description(description: Mapping[str, Any], name: str) -> Cluster:
    """A `Cluster` from DescribeCluster's `cluster`, with aws-cli's rules for region and id."""
    status = description.get("status")
    if status not in USABLE_STATES:
        raise ClusterError(f"cluster {name} is {status}", hint="retry once it is ACTIVE")
    arn = str(description.get("arn", ""))
    endpoint = description.get("endpoint")
    if arn.count(":") < 5 or not endpoint:
        raise ClusterError(f"DescribeCluster gave no ARN or endpoint for cluster {name}")
    outpost = description.get("outpostConfig")
    # aws-cli's rule: a local cluster on Outposts (no etcdInstanceType) is named by its id.
    local = outpost is not None and outpost.get("etcdInstanceType") is None
    return Cluster(
        name=name,
        region=arn.split(":")[3],
        entry_name=arn,
        endpoint=str(endpoint),
        ca_data=str(description.get("certificateAuthority", {}).get("data", "")),
        cluster_id=str(description.get("id")) if local else None,
    )


def offline_cluster(
    name: str, *, region: str, endpoint: str, ca_data: str | None, ca_file: str | None
) -> Cluster:
    """A `Cluster` from --endpoint and --ca-data or --ca-file, checked before anything is written.

    Without DescribeCluster there is no ARN: the entries are named `NAME.REGION`.
    """
    from eksauth.endpoints import sts_endpoint

    sts_endpoint(region)  # InvalidRegionError now rather than a kubeconfig that cannot sign
    if not endpoint.startswith("https://") or len(endpoint) <= len("https://"):
        raise UsageError(f"--endpoint {endpoint!r} is not an https URL")
    if (ca_data is None) == (ca_file is None):
        raise UsageError("--endpoint needs exactly one of --ca-data or --ca-file")
    if ca_file is not None:
        ca_file = expand(ca_file)
        pem = _read_ca_file(ca_file)
    else:
        pem = _decode_ca(ca_data or "")
    return Cluster(
        name=name,
        region=region,
        entry_name=f"{name}.{region}",
        endpoint=endpoint,
        ca_data=base64.b64encode(pem).decode("ascii"),
        ca_file=ca_file,
    )


def _read_ca_file(path: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            pem = stream.read()
    except OSError as exc:
        raise UsageError(f"cannot read --ca-file {path}: {exc.strerror or exc}") from None
    _check_pem(pem, f"--ca-file {path}")
    return pem


def _decode_ca(data: str) -> bytes:
    try:
        pem = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("--ca-data is not base64", hint="give the PEM encoded as base64") from None
    _check_pem(pem, "--ca-data")
    return pem


def _check_pem(pem: bytes, what: str) -> None:
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise UsageError(f"{what} holds no PEM certificate")


def resolve_region(option: str | None, env: Mapping[str, str]) -> str | None:
    """--region, then AWS_REGION, then AWS_DEFAULT_REGION (the profile's needs botocore)."""
    return option or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def resolve_profile(option: str | None, env: Mapping[str, str]) -> str | None:
    """--profile, else botocore's own order: AWS_DEFAULT_PROFILE, then AWS_PROFILE.

    aws-cli writes `env: AWS_PROFILE` for a profile from the environment too.
    """
    return option or env.get("AWS_DEFAULT_PROFILE") or env.get("AWS_PROFILE") or None


# -- the entries update-kubeconfig writes --------------------------------------------------------


@dataclass(frozen=True)
class UserOptions:
    """How the written exec signs: profile, role, and the kubelet (node) flavour."""

    profile: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    forward_session_name: bool = False
    kubelet: bool = False

    def check(self, cluster_name: str) -> None:
        """UsageError now, offline, for anything `eksauth token` would refuse later."""
        from eksauth.request import make_request

        make_request(
            cluster_name=cluster_name,
            cluster_id=None,
            profile=self.profile,
            role_arn=self.role_arn,
            session_name=self.session_name,
            forward_session_name=self.forward_session_name,
        )


@dataclass(frozen=True)
class Entries:
    """The cluster, user and context entries update-kubeconfig puts into a kubeconfig."""

    cluster: dict[str, Any]
    user: dict[str, Any]
    context: dict[str, Any]


def token_args(cluster: Cluster, options: UserOptions) -> list[str]:
    """`eksauth token` arguments that sign for `cluster` as `options` say."""
    if cluster.cluster_id is not None:
        args = ["token", "--cluster-id", cluster.cluster_id, "--region", cluster.region]
    else:
        args = ["token", "--cluster-name", cluster.name, "--region", cluster.region]
    if options.role_arn:
        args += ["--role-arn", options.role_arn]
    if options.session_name:
        args += ["--role-session-name", options.session_name]
    if options.forward_session_name:
        args.append("--forward-session-name")
    return args


def build_entries(
    cluster: Cluster,
    options: UserOptions,
    *,
    alias: str | None = None,
    user_alias: str | None = None,
    ca_path: str | None = None,
) -> Entries:
    """aws-cli's three entries, keys in aws-cli's order.

    As aws-cli names them: the cluster by its ARN, the user `user_alias` or the ARN, the context
    `alias` or the user's name. `ca_path` (kubelet) replaces certificate-authority-data.
    """
    authority = (
        {"certificate-authority": ca_path}
        if ca_path
        else {"certificate-authority-data": cluster.ca_data}
    )
    cluster_entry = {
        "cluster": {**authority, "server": cluster.endpoint},
        "name": cluster.entry_name,
    }
    user_entry = {
        "name": user_alias or cluster.entry_name,
        "user": {"exec": exec_entry(cluster, options)},
    }
    context = {
        "context": {"cluster": cluster.entry_name, "user": user_entry["name"]},
        "name": alias or user_entry["name"],
    }
    return Entries(cluster_entry, user_entry, context)


def exec_entry(cluster: Cluster, options: UserOptions) -> dict[str, Any]:
    """The `exec` of the user entry: aws-cli's layout, running `eksauth token`."""
    exec_: dict[str, Any] = {
        "apiVersion": EXEC_API_VERSION,
        "args": token_args(cluster, options),
        "command": "eksauth",
    }
    if options.profile:
        exec_["env"] = [{"name": "AWS_PROFILE", "value": options.profile}]
    # A node has nobody to answer an MFA prompt; a person at kubectl may.
    exec_["interactiveMode"] = "Never" if options.kubelet else "IfAvailable"
    return exec_


def kubelet_ca(
    cluster: Cluster, kubeconfig_path: str, ca_file: str | None
) -> tuple[str, bytes | None]:
    """Where a kubelet kubeconfig's certificate-authority points, and the PEM to put there.

    An offline --ca-file is used where it is. Otherwise the CA goes to --ca-file, or to
    `NAME-ca.crt` beside the kubeconfig (one file per cluster, as eksctl keeps /etc/eksctl/ca.crt).
    """
    if cluster.ca_file is not None:
        return cluster.ca_file, None
    path = (
        expand(ca_file)
        if ca_file
        else os.path.join(os.path.dirname(kubeconfig_path), f"{cluster.name}-ca.crt")
    )
    try:
        pem = base64.b64decode(cluster.ca_data, validate=True)
    except (binascii.Error, ValueError):
        raise ClusterError(f"the CA data of cluster {cluster.name} is not base64") from None
    return path, pem


def merge(content: dict[str, Any], entries: Entries) -> bool:
    """Put `entries` into `content` (in place) and make the context current.

    As aws-cli: an entry with the same name is replaced where it stands, a new one appended.
    Returns whether the cluster entry was already there (an update rather than an addition).
    """
    existed = any(e.get("name") == entries.cluster["name"] for e in content.get("clusters") or [])
    for key, entry in (
        ("clusters", entries.cluster),
        ("users", entries.user),
        ("contexts", entries.context),
    ):
        _put(content, key, entry)
    content["current-context"] = entries.context["name"]
    return existed


def _put(content: dict[str, Any], key: str, entry: dict[str, Any]) -> None:
    listed = content.get(key) or []
    content[key] = listed
    for index, existing in enumerate(listed):
        if existing.get("name") == entry["name"]:
            listed[index] = entry
            return
    listed.append(entry)


# -- migration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """The migrated kubeconfig, what changed (one line per user) and what was left and why."""

    content: dict[str, Any]
    changed: list[str]
    skipped: list[str]


class _Unmigratable(Exception):
    """This exec cannot be expressed as eksauth's without changing what it does."""


# aws global options that change nothing in the token kubectl receives, dropped and reported:
# get-token builds its STS clients from the region alone (no endpoint URL, no `verify`), and
# kubectl decodes an ExecCredential printed as JSON or YAML alike. --query, which can reshape
# the output, is not among them.
_AWS_IGNORED_VALUES = frozenset(
    {
        "--output",
        "--color",
        "--endpoint-url",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
    }
)
_AWS_IGNORED_FLAGS = frozenset(
    {
        "--debug",
        "--no-paginate",
        "--no-cli-pager",
        "--cli-auto-prompt",
        "--no-cli-auto-prompt",
        "--no-verify-ssl",
    }
)
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


def migrate(content: Mapping[str, Any]) -> Migration:
    """`content` with every aws-cli / aws-iam-authenticator exec user turned into eksauth's.

    Users that already run eksauth (`token …`) only lose a v1alpha1 apiVersion; anything
    eksauth could not reproduce exactly is left as it is, with the reason in `skipped`.
    """
    migrated = copy.deepcopy(dict(content))
    changed: list[str] = []
    skipped: list[str] = []
    for entry in migrated.get("users") or []:
        user = entry.get("user")
        exec_ = user.get("exec") if isinstance(user, dict) else None
        if not isinstance(exec_, dict):
            continue
        name = entry.get("name", "?")
        try:
            note = migrate_exec(exec_)
        except _Unmigratable as exc:
            skipped.append(f"user {name}: {exc}")
            continue
        if note:
            changed.append(f"user {name}: {note}")
    return Migration(migrated, changed, skipped)


def migrate_exec(exec_: dict[str, Any]) -> str | None:
    """Rewrite one exec in place; a note of what changed, or None if nothing needed to."""
    args = [str(a) for a in exec_.get("args") or []]
    program = _program(exec_.get("command"))
    notes: list[str] = []
    if program in ("aws", "eksauth") and "eks" in args and "get-token" in args:
        exec_["args"], dropped = _from_aws(args, exec_)
        notes.append(f"{program} eks get-token -> eksauth token" + _dropped(dropped))
    elif program in _AUTHENTICATORS and "token" in args:
        exec_["args"], dropped = _from_authenticator(args, exec_)
        notes.append(f"{program} token -> eksauth token" + _dropped(dropped))
    elif program != "eksauth":
        return None
    exec_["command"] = "eksauth"
    if exec_.get("apiVersion") == OLD_EXEC_API_VERSION:
        exec_["apiVersion"] = EXEC_API_VERSION
        notes.append("apiVersion v1alpha1 -> v1beta1")
    return "; ".join(notes) or None


def _program(command: object) -> str:
    name = str(command or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name[: -len(".exe")] if name.lower().endswith(".exe") else name


def _dropped(options: list[str]) -> str:
    return f" (dropped {', '.join(options)})" if options else ""


def _from_aws(args: list[str], exec_: dict[str, Any]) -> tuple[list[str], list[str]]:
    words, options = _scan(
        args, values=set(_AWS_VALUES) | _AWS_IGNORED_VALUES, flags=set(_AWS_IGNORED_FLAGS)
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


def _from_authenticator(args: list[str], exec_: dict[str, Any]) -> tuple[list[str], list[str]]:
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
    return _eksauth_args(chosen), dropped


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
    """`token` and the options, in the order update-kubeconfig writes them; checked by eksauth's
    own rules, so a migrated entry never fails where the old one worked."""
    from eksauth.request import make_request

    try:
        make_request(
            cluster_name=chosen.get("--cluster-name"),
            cluster_id=chosen.get("--cluster-id"),
            region=chosen.get("--region"),
            profile=chosen.get("--profile"),
            role_arn=chosen.get("--role-arn"),
            session_name=chosen.get("--role-session-name"),
            external_id=chosen.get("--external-id"),
            forward_session_name="--forward-session-name" in chosen,
        )
    except UsageError as exc:
        raise _Unmigratable(exc.message) from None
    order = (
        "--cluster-name",
        "--cluster-id",
        "--region",
        "--profile",
        "--role-arn",
        "--role-session-name",
        "--external-id",
    )
    args = ["token"]
    for option in order:
        if option in chosen:
            args += [option, chosen[option]]
    if "--forward-session-name" in chosen:
        args.append("--forward-session-name")
    return args


def _env_value(exec_: Mapping[str, Any], name: str) -> str | None:
    for item in exec_.get("env") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return str(item.get("value", ""))
    return None


def _set_env(exec_: dict[str, Any], name: str, value: str) -> None:
    if _env_value(exec_, name) is None:
        exec_["env"] = [*(exec_.get("env") or []), {"name": name, "value": value}]


def backup_path(path: str) -> str:
    """Where migrate-kubeconfig keeps the file as it was: beside it, `config.eksauth-backup`."""
    return os.path.realpath(path) + BACKUP_SUFFIX
