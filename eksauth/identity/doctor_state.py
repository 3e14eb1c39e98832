"""What doctor's checks share: a check's result, the run's inputs, and what earlier checks
learnt. Data only; the checks are in `identity/doctor_aws.py` and `identity/doctor_kube.py`, the
runner in `identity/doctor.py`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient

    from eksauth.aws.signer import Source
    from eksauth.cache import Cache
    from eksauth.identity.access import ClusterAccess
    from eksauth.identity.aws_auth import AwsAuth, IdentityMapping
    from eksauth.identity.kubeapi import Target
    from eksauth.identity.replay import CallerIdentity
    from eksauth.kubeconfig.inputs import Resolved
    from eksauth.request import TokenRequest

Log = Callable[[str], None]
DEFAULT_TIMEOUT_SECONDS = 10.0  # each network exchange, in all


class Check(NamedTuple):
    name: str
    status: str  # "ok", "warn", "fail" or "skip"
    detail: str
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self._asdict())


class Inputs(NamedTuple):
    """What doctor is given: the token request, and kubectl's view of the cluster."""

    request: TokenRequest
    env: Mapping[str, str]
    now: float
    cache: Cache
    kube: Resolved  # the kubeconfig: files, the context of this run, why it is unreadable
    log: Log
    timeout: float = DEFAULT_TIMEOUT_SECONDS


class State:
    """What earlier checks learnt, for the later ones."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.profile: str | None = None  # as botocore uses it, for hints
        self.region: str | None = None
        self.sts_host: str | None = None
        self.source: Source | None = None
        self.token: str | None = None
        self.caller: CallerIdentity | None = None
        self.client: EKSClient | None = None
        self.access: ClusterAccess | None = None
        self.target: Target | None = None
        self.tables: AwsAuth | None = None
        self.mapping: IdentityMapping | None = None
        self.aws_auth_problem: str | None = None

    def update_kubeconfig_command(self) -> str:
        """The command that writes this cluster's kubeconfig entries."""
        request = self.inputs.request
        words = ["eksauth update-kubeconfig", "--name", request.cluster]
        if self.region:
            words += ["--region", self.region]
        if request.profile:
            words += ["--profile", request.profile]
        if request.role_arn:
            words += ["--role-arn", request.role_arn]
        return " ".join(words)
