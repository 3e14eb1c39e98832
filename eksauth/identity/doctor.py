"""`eksauth doctor`: every link from AWS credentials to the Kubernetes user, checked.

Each check answers ok, warn, fail or skip, with a detail and a hint (what to do). The checks
form a graph, not a chain: each names the checks it needs, and is skipped only when one of
those failed (or was itself skipped for a failure). So with no kubeconfig at all the AWS side
is still explained, and with EKS unreachable the kubeconfig and the API server still are.
Every network step is bounded as a whole (`Inputs.timeout`). No click here; `cli/doctor.py`
prints the result.
"""

from __future__ import annotations

from typing import Callable

from eksauth.errors import EksAuthError
from eksauth.identity import doctor_aws, doctor_kube
from eksauth.identity.doctor_state import Check, Inputs, State

__all__ = ["STEPS", "Check", "Inputs", "run"]

Step = Callable[[State], Check]

# (name, the checks it needs, the check), in the order a person reads them.
STEPS: list[tuple[str, tuple[str, ...], Step]] = [
    ("credentials", (), doctor_aws.credentials),
    ("region", (), doctor_aws.region),
    ("sts reachable", ("region",), doctor_aws.sts_clock),
    ("token built", ("credentials",), doctor_aws.token_built),
    ("token accepted by sts", ("token built",), doctor_aws.sts_accepts),
    ("cluster found", ("credentials", "region"), doctor_aws.cluster),
    ("authentication mode", ("cluster found",), doctor_aws.mode),
    ("access entry", ("cluster found", "token accepted by sts"), doctor_aws.access_entry),
    ("kubeconfig", (), doctor_kube.kubeconfig),
    ("endpoint", ("token built",), doctor_kube.endpoint),
    ("aws-auth role path", ("endpoint", "token accepted by sts"), doctor_kube.role_path),
    ("mapping", ("token accepted by sts",), doctor_kube.mapping),
    ("kubeconfig exec entry", ("kubeconfig",), doctor_kube.exec_entry),
]


def run(inputs: Inputs) -> list[Check]:
    """Every check; one whose needs failed is skipped, naming the failure it waits on."""
    state = State(inputs)
    checks: list[Check] = []
    blocked: dict[str, str] = {}  # check name -> the failed check that stops it
    for name, needs, step in STEPS:
        cause = next((blocked[n] for n in needs if n in blocked), None)
        if cause is not None:
            blocked[name] = cause
            checks.append(Check(name, "skip", f"skipped: {cause} failed"))
            continue
        try:
            check = step(state)
        except EksAuthError as exc:
            check = Check(name, "fail", exc.message, exc.hint)
        checks.append(check._replace(name=name))
        if check.status == "fail":
            blocked[name] = name
    return checks
