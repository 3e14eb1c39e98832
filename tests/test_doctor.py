"""`eksauth doctor` end to end: the STS, EKS control-plane and API-server stand-ins, and a
kubeconfig whose exec entry the real kubectl runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import ACCOUNT, ADMINS, kubectl_version, tool
from tests.standins import EksApiServer
from tests.standins.eks_control import EksControlServer
from tests.standins.sts import StsServer

pytestmark = pytest.mark.e2e

NAMES = [
    "credentials",
    "region",
    "sts reachable",
    "token built",
    "token accepted by sts",
    "cluster found",
    "authentication mode",
    "access entry",
    "kubeconfig",
    "endpoint",
    "aws-auth role path",
    "mapping",
    "kubeconfig exec entry",
]


def add_demo(eks: EksControlServer, eks_api: EksApiServer, **kwargs: Any) -> None:
    """Cluster demo, whose endpoint (as DescribeCluster says) is the API-server stand-in."""
    eks.add_cluster("demo", endpoint=eks_api.url, ca_data=eks_api.ca_data_b64, **kwargs)


@pytest.fixture
def kubeconfig(
    alice: Any,
    sts_server: StsServer,
    eks_api: EksApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """Signed in as alice of role teams/eks-admins; a kubeconfig that runs `eksauth token`."""
    args = ["token", "-c", "demo", "--region", "eu-west-1", "--sts-url", sts_server.url]
    path = eks_api.write_kubeconfig(
        tmp_path / "kubeconfig", exec_command=tool("eksauth"), exec_args=args
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.fixture
def doctor(eksauth: Any, sts_server: StsServer, kubeconfig: Path) -> Callable[..., Any]:
    def run(*args: str) -> Any:
        common = ("-c", "demo", "--region", "eu-west-1", "--sts-url", sts_server.url)
        return eksauth("doctor", *common, *args, now=time.time())

    return run


def statuses(result: Any) -> dict[str, str]:
    return {c["name"]: c["status"] for c in json.loads(result.stdout)["checks"]}


class TestDoctor:
    def test_every_link_holds_and_kubectl_agrees(
        self, doctor: Any, eks: EksControlServer, eks_api: EksApiServer, kubeconfig: Path
    ) -> None:
        add_demo(eks, eks_api, mode="API_AND_CONFIG_MAP", creator_arn=ADMINS)
        result = doctor("--json")
        assert result.exit_code == 0, result.stdout + result.stderr
        checks = json.loads(result.stdout)["checks"]
        assert [c["name"] for c in checks] == NAMES
        assert all(set(c) == {"name", "status", "detail", "hint"} for c in checks)
        assert all(c["status"] == "ok" for c in checks), checks  # aws-auth: 404, none names you
        mapping = next(c for c in checks if c["name"] == "mapping")
        assert "via access-entry" in mapping["detail"]
        assert "cluster creator" in mapping["detail"]
        done = kubectl_version(dict(os.environ), "--kubeconfig", str(kubeconfig))  # eksauth on PATH
        assert done.returncode == 0, done.stderr

    def test_unmapped_in_api_mode_names_the_missing_access_entry(
        self, doctor: Any, eks: EksControlServer, eks_api: EksApiServer
    ) -> None:
        add_demo(eks, eks_api, mode="API")
        result = doctor()
        assert result.exit_code == 1
        lines = result.stdout.splitlines()
        role = f"arn:aws:iam::{ACCOUNT}:role/eks-admins"
        entry = lines.index(
            f"[FAIL] access entry           no access entry for {role}: in API mode EKS "
            "answers Unauthorized"
        )
        assert lines[entry + 1].strip() == (
            f"→ aws eks create-access-entry --cluster-name demo --principal-arn {role}, then aws "
            f"eks associate-access-policy --cluster-name demo --principal-arn {role} "
            "--policy-arn POLICY --access-scope type=cluster"
        )
        assert any(line.startswith("[FAIL] mapping") for line in lines), result.stdout
        # A graph, not a chain: what does not depend on the mapping is still checked.
        assert lines[-1].startswith("[ok  ] kubeconfig exec entry"), result.stdout

    def test_the_role_path_trap_in_aws_auth(
        self, doctor: Any, eks: EksControlServer, eks_api: EksApiServer
    ) -> None:
        add_demo(eks, eks_api, mode="CONFIG_MAP")
        eks_api.aws_auth = {"mapRoles": f"- rolearn: {ADMINS}\n  username: admin\n"}
        result = doctor("--json")
        assert result.exit_code == 1
        checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
        assert checks["authentication mode"]["detail"].startswith("CONFIG_MAP")
        trap = checks["aws-auth role path"]
        assert trap["status"] == "warn"
        assert trap["hint"] == f"write rolearn: arn:aws:iam::{ACCOUNT}:role/eks-admins"
        assert checks["mapping"]["status"] == "fail"

    def test_an_old_exec_api_version_is_caught(
        self, doctor: Any, eks: EksControlServer, eks_api: EksApiServer, kubeconfig: Path
    ) -> None:
        add_demo(eks, eks_api, mode="API_AND_CONFIG_MAP", creator_arn=ADMINS)
        content = json.loads(kubeconfig.read_text())
        content["users"][0]["user"]["exec"]["apiVersion"] = "client.authentication.k8s.io/v1alpha1"
        kubeconfig.write_text(json.dumps(content))
        result = doctor("--json")
        assert result.exit_code == 1
        entry = json.loads(result.stdout)["checks"][-1]
        assert entry["status"] == "fail"
        assert "removed in kubectl 1.24" in entry["detail"]

    def test_a_silent_eks_endpoint_fails_in_seconds(
        self, doctor: Any, eks: EksControlServer
    ) -> None:
        eks.add_cluster("demo")
        eks.hang = True
        started = time.monotonic()
        result = doctor("--json", "--timeout", "1")  # the default, 10 s, is the same code path
        assert result.exit_code == 1
        found = statuses(result)
        assert found["cluster found"] == "fail"
        assert found["authentication mode"] == found["access entry"] == "skip"
        # The kubeconfig's context names the cluster: its server is still checked.
        assert found["endpoint"] == "ok"
        assert 1 <= time.monotonic() - started < 10

    def test_no_credentials_is_the_first_broken_link(
        self, doctor: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
        result = doctor("--json")
        assert result.exit_code == 1
        found = statuses(result)
        assert found["credentials"] == "fail"
        needs_credentials = ["token built", "token accepted by sts", "cluster found", "endpoint"]
        assert {found[n] for n in needs_credentials} == {"skip"}
        # What does not need credentials is still explained.
        assert (found["region"], found["sts reachable"], found["kubeconfig"]) == ("ok",) * 3
        assert found["kubeconfig exec entry"] == "ok"


class TestSharedUser:
    """One user entry for every cluster (provideClusterInfo): the cluster is in each cluster
    entry's exec extension, not in the user's args."""

    EXTENSION = "client.authentication.k8s.io/exec"

    @pytest.fixture
    def shared(self, alice, sts_server, eks_api, tmp_path, monkeypatch) -> Path:
        monkeypatch.setenv("EKSAUTH_STS_URL", sts_server.url)

        def cluster(name: str, server: str, **more: str) -> dict[str, object]:
            values = {"clusterName": name, "region": "eu-west-1"}
            extensions = [{"name": self.EXTENSION, "extension": values}]
            return {"name": name, "cluster": {"server": server, **more, "extensions": extensions}}

        exec_ = {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": tool("eksauth"),
            "args": ["token"],
            "provideClusterInfo": True,
            "interactiveMode": "IfAvailable",
        }
        content = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                cluster("other", "https://127.0.0.1:1"),
                cluster("demo", eks_api.url, **{"certificate-authority-data": eks_api.ca_data_b64}),
            ],
            "users": [{"name": "eksauth", "user": {"exec": exec_}}],
            "contexts": [
                {"name": name, "context": {"cluster": name, "user": "eksauth"}}
                for name in ("other", "demo")
            ],
            "current-context": "other",  # not the cluster asked about
        }
        path = tmp_path / "kubeconfig"
        path.write_text(json.dumps(content))
        monkeypatch.setenv("KUBECONFIG", str(path))
        return path

    @pytest.mark.parametrize("context", [(), ("--context", "demo")], ids=["found", "given"])
    def test_the_shared_users_context_for_the_cluster(
        self, eksauth, eks, eks_api, shared, context
    ) -> None:
        add_demo(eks, eks_api, mode="API_AND_CONFIG_MAP", creator_arn=ADMINS)
        result = eksauth(
            "doctor", "-c", "demo", "--region", "eu-west-1", *context, "--json", now=time.time()
        )
        found = statuses(result)
        assert found["endpoint"] == "ok", result.stdout
        assert found["kubeconfig exec entry"] == "ok", result.stdout
