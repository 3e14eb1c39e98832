"""The client-go exec credential protocol: which apiVersion to answer, and the JSON to print.

Pure functions over an environment mapping, so every row of the negotiation table is testable
without a process. Stdlib only: this runs on the cache-hit path.
"""

from __future__ import annotations

from eksauth import jsonlite

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
    warning line. `override` (`--api-version`) wins over the environment.
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
        return ExecInfo(override, interactive, None)
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
