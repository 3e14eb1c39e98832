"""The client-go exec credential protocol: which apiVersion to answer, and the JSON to print.

Pure functions over an environment mapping, so every row of the negotiation table is testable
without a process. Stdlib only: this runs on the cache-hit path.
"""

from __future__ import annotations

from eksauth import jsonlite
from eksauth.errors import KubeconfigError

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
V1ALPHA1 = "client.authentication.k8s.io/v1alpha1"

SUPPORTED = (V1, V1BETA1)
DEPRECATED = (V1ALPHA1,)
# What aws-cli answers when the client says nothing usable; every EKS-supported kubectl reads it.
FALLBACK = V1BETA1


class ExecInfo:
    """What `KUBERNETES_EXEC_INFO` told us: the apiVersion to answer, and whether we may prompt."""

    __slots__ = ("api_version", "interactive", "warning")

    def __init__(self, api_version: str, interactive: bool, warning: str | None) -> None:
        self.api_version = api_version
        self.interactive = interactive
        self.warning = warning  # one line for stderr, or None


def read_exec_info(env: Mapping[str, str], override: str | None = None) -> ExecInfo:
    """Negotiate the apiVersion as aws-cli does, and read `spec.interactive`.

    Unset or empty → v1beta1 silently (clients before 1.20 did not always set it). v1/v1beta1 →
    echoed. v1alpha1 → echoed, with a deprecation warning. Anything malformed → v1beta1 with one
    warning line. `override` (`--api-version`) wins over the environment, with a warning
    when the environment names another apiVersion: client-go refuses such an answer with a
    message that does not say where it came from.
    """
    raw = env.get("KUBERNETES_EXEC_INFO", "")
    info: object = None
    warning = None
    if raw:
        try:
            info = jsonlite.loads(raw)
        except ValueError:
            warning = f"could not parse KUBERNETES_EXEC_INFO as JSON, answering {FALLBACK}"
    interactive = _interactive(info)
    if override:
        named = info.get("apiVersion") if isinstance(info, dict) else None
        warning = None  # a malformed environment does not matter: it is not read
        if isinstance(named, str) and named and named != override:
            warning = (
                f"--api-version {override} contradicts the kubeconfig's apiVersion {named} "
                "(KUBERNETES_EXEC_INFO), so kubectl will refuse the answer; drop --api-version "
                "from the exec args"
            )
        return ExecInfo(override, interactive, warning)
    if not raw or warning:
        return ExecInfo(FALLBACK, interactive, warning)
    version = info.get("apiVersion") if isinstance(info, dict) else None
    if version in SUPPORTED:
        return ExecInfo(str(version), interactive, None)
    if version in DEPRECATED:
        return ExecInfo(
            str(version),
            interactive,
            f"the kubeconfig user entry uses the deprecated apiVersion {version}; "
            f"run `eksauth migrate-kubeconfig` or set apiVersion: {V1BETA1}",
        )
    return ExecInfo(
        FALLBACK,
        interactive,
        f"unrecognised apiVersion {version!r} in KUBERNETES_EXEC_INFO, answering {FALLBACK}",
    )


def _interactive(info: object) -> bool:
    spec = info.get("spec") if isinstance(info, dict) else None
    return isinstance(spec, dict) and spec.get("interactive") is True


def exec_credential(api_version: str, token: str, expiration: str) -> str:
    """The ExecCredential exactly as `aws eks get-token` prints it, byte for byte.

    aws-cli's JSON formatter indents by 4 and ends with a newline, and get-token then prints
    one more newline; scripts that compare outputs (and our differential tests) see no change.
    """
    # Laid out by hand, as json.dumps(indent=4, ensure_ascii=False) lays out this document
    # (a test compares the two), so that a cache hit need not import json.
    return (
        "{\n"
        '    "kind": "ExecCredential",\n'
        f'    "apiVersion": {jsonlite.quote(api_version)},\n'
        '    "spec": {},\n'
        '    "status": {\n'
        f'        "expirationTimestamp": {jsonlite.quote(expiration)},\n'
        f'        "token": {jsonlite.quote(token)}\n'
        "    }\n"
        "}\n\n"
    )


# -- spec.cluster: the cluster kubectl is talking to, with `provideClusterInfo: true` -----------

# The cluster extension kubectl hands to the plugin as spec.cluster.config (client-go's
# clientcmd reads it from the cluster's `extensions` under this name and passes it unchanged).
EXEC_EXTENSION = "client.authentication.k8s.io/exec"
# The extension keys eksauth reads, and the `token` option each stands for.
EXTENSION_KEYS = {
    "clusterName": "cluster_name",
    "clusterId": "cluster_id",
    "region": "region",
    "profile": "profile",
    "roleArn": "role_arn",
    "roleSessionName": "session_name",
}


class ExtensionError(KubeconfigError):
    """A value of the cluster's exec extension that eksauth cannot use."""


class ClusterExtension:
    """The eksauth keys of the current cluster's exec extension, by `token` option name."""

    __slots__ = ("server", "unknown", "values")

    def __init__(self, server: str, values: dict[str, str], unknown: list[str]) -> None:
        self.server = server  # spec.cluster.server, to name the cluster in messages
        self.values = values  # e.g. {"cluster_name": "prod", "region": "eu-west-1"}
        self.unknown = unknown  # keys eksauth does not read, sorted

    def key_of(self, option: str) -> str:
        """The extension key that gave `option` (`cluster_name` -> `clusterName`)."""
        return next(k for k, v in EXTENSION_KEYS.items() if v == option)

    def error(self, key: str, problem: str) -> ExtensionError:
        """An error naming the kubeconfig extension (and the cluster) as the value's source."""
        where = f" of the cluster at {self.server}" if self.server else ""
        return ExtensionError(
            f"{key} {problem} in the kubeconfig extension {EXEC_EXTENSION}{where}",
            hint="fix the cluster's extensions entry in the kubeconfig",
        )


def read_cluster_extension(env: Mapping[str, str]) -> ClusterExtension | None:
    """The exec extension of `spec.cluster` in KUBERNETES_EXEC_INFO, or None if there is none.

    None when the variable is unset or not JSON (read_exec_info warns about that), or when
    kubectl sent no cluster (provideClusterInfo unset) or the cluster has no extension. Values
    must be non-empty strings; an extension that is not a mapping, or a key of the wrong type,
    raises ExtensionError. Unknown keys are kept by name only, for a -v note.
    """
    raw = env.get("KUBERNETES_EXEC_INFO", "")
    if not raw:
        return None
    try:
        info = jsonlite.loads(raw)
    except ValueError:
        return None
    spec = info.get("spec") if isinstance(info, dict) else None
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    if not isinstance(cluster, dict) or cluster.get("config") is None:
        return None
    server = cluster.get("server")
    found = ClusterExtension(server if isinstance(server, str) else "", {}, [])
    config = cluster["config"]
    if not isinstance(config, dict):
        raise ExtensionError(
            f"the kubeconfig extension {EXEC_EXTENSION} is not a mapping",
            hint="write it as e.g. {clusterName: prod, region: eu-west-1}",
        )
    for key, value in config.items():
        option = EXTENSION_KEYS.get(key)
        if option is None:
            found.unknown.append(key)
        elif not isinstance(value, str):
            raise found.error(key, f"is a {_json_type(value)}, not a string,")
        elif not value.strip():
            raise found.error(key, "is empty")
        else:
            found.values[option] = value
    if "cluster_name" in found.values and "cluster_id" in found.values:
        raise found.error("clusterName", "and clusterId exclude each other")
    found.unknown.sort()
    return found


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "list" if isinstance(value, list) else "mapping"
