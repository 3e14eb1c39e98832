"""`update-kubeconfig --all` end to end: the real kubectl reads what it wrote, and one context's
exec, run by kubectl, mints a token the HTTPS API-server stand-in accepts for that cluster only
(it replays the token to the STS stand-in with its own name as x-k8s-aws-id).

ListClusters and DescribeCluster are answered by moto; moto's endpoints are fictional, so the
written clusters' server and CA are pointed at the stand-in (their extensions kept) before
kubectl runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import USER_ARN, kubectl_version, run_tool
from tests.standins import EksApiServer
from tests.standins.moto_eks import create_cluster

pytestmark = pytest.mark.e2e


def test_kubectl_reads_the_file_and_the_exec_signs_for_that_cluster(
    eksauth, moto_eks, moto_url, world, sts_server, kubectl_env, tmp_path
) -> None:
    import boto3

    create_cluster(moto_eks, "demo")  # eu-west-1
    create_cluster(moto_eks, "other")
    create_cluster(boto3.client("eks", region_name="us-east-2", endpoint_url=moto_url), "dev")
    config = Path(kubectl_env["KUBECONFIG"])
    result = eksauth("update-kubeconfig", "--all", "--region", "eu-west-1", "--region", "us-east-2")
    assert result.exit_code == 0, result.stderr

    listed = run_tool("kubectl", "config", "get-contexts", "-o", "name", env=kubectl_env)
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == ["demo", "dev", "other"]

    (tmp_path / "api").mkdir()
    with EksApiServer(world, sts_server.url, "dev", tmp_path / "api") as api:
        point_at(config, api)
        done = kubectl_version(kubectl_env, "--context", "dev")
        assert done.returncode == 0, done.stderr
        assert [s.arn for s in api.seen] == [USER_ARN]
        assert api.rejections == []
        # The token named the cluster and the region its extension holds.
        replayed = [
            (e["x_k8s_aws_id"], e["host"])
            for e in world.entries("GetCallerIdentity:presigned")
            if e.get("result") == "ok"
        ]
        assert replayed == [("dev", "sts.us-east-2.amazonaws.com")]
        # Another context's exec signs for its own cluster, which this server refuses.
        refused = kubectl_version(kubectl_env, "--context", "demo")
        assert refused.returncode != 0
        assert len(api.seen) == 1
        assert api.rejections


def point_at(path: Path, api: EksApiServer) -> None:
    """Every cluster entry's server and CA become the stand-in's; extensions stay."""
    content = yaml.safe_load(path.read_text())
    for entry in content["clusters"]:
        entry["cluster"]["server"] = api.url
        entry["cluster"]["certificate-authority-data"] = api.ca_data_b64
    path.write_text(yaml.safe_dump(content))
