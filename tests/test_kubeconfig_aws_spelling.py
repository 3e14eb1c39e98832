"""`eksauth eks update-kubeconfig`: aws-cli's options and meaning, compared with the real aws.

DescribeCluster (and, for --assume-role-arn, AssumeRole) is answered by moto on loopback; the
file eksauth writes must equal the one `aws eks update-kubeconfig` writes for the same cluster
and options, but for the exec's command, args, env and interactiveMode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_tool
from tests.standins.moto_eks import create_cluster

# moto's default account, so that a role assumed there still sees the cluster.
ROLE = "arn:aws:iam::123456789012:role/EksAdmin"
DESCRIBER = "arn:aws:iam::123456789012:role/Describer"


def without_exec(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    content = yaml.safe_load(path.read_text())
    exec_ = content["users"][0]["user"]["exec"]
    content["users"][0]["user"]["exec"] = {"apiVersion": exec_["apiVersion"]}
    return content, exec_


@pytest.mark.e2e
@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--role-arn", ROLE, "--alias", "dev", "--user-alias", "me"],
        ["--assume-role-arn", DESCRIBER],
        ["--proxy-url", "http://proxy.internal:3128"],
    ],
    ids=["plain", "role-and-aliases", "assume-role-arn", "proxy-url"],
)
def test_the_file_aws_cli_writes(
    eksauth, moto_eks, moto_url, aws_env, tmp_path, monkeypatch, extra
):
    create_cluster(moto_eks)
    # aws-cli v1 would otherwise fetch an http:// option value (the --proxy-url) as a URL.
    (aws_env / ".aws" / "config").write_text("[default]\ncli_follow_urlparam = false\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_url)  # --assume-role-arn's AssumeRole
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    args = ["eks", "update-kubeconfig", "--name", "demo", "--region", "eu-west-1", *extra]
    result = eksauth(*args, "--kubeconfig", str(ours))
    assert result.exit_code == 0, result.stderr
    done = run_tool("aws", *args, "--kubeconfig", str(theirs))
    assert done.returncode == 0, done.stderr
    (mine, exec_), (reference, _) = without_exec(ours), without_exec(theirs)
    assert list(mine) == list(reference)
    assert mine == reference
    assert exec_["command"] == "eksauth"
    assert ("--role-arn" in exec_["args"]) == ("--role-arn" in extra)
    assert DESCRIBER not in exec_["args"]  # assumed for DescribeCluster only


class TestAwsSpelling:
    def test_an_unknown_aws_flag_names_the_supported_ones(self, eksauth) -> None:
        result = eksauth("eks", "update-kubeconfig", "--name", "demo", "--kubelet")
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(
            "eksauth: error: --kubelet is not an option of `aws eks update-kubeconfig` that "
            "eksauth takes; it takes --name, --region, --profile, --kubeconfig, --role-arn, "
            "--assume-role-arn, --alias, --user-alias, --proxy-url, --dry-run, --verbose"
        )

    def test_dry_run_and_verbose(self, eksauth, moto_eks, tmp_path) -> None:
        create_cluster(moto_eks)
        config = tmp_path / "config"
        args = ["eks", "update-kubeconfig", "--name", "demo", "--region", "eu-west-1"]
        result = eksauth(*args, "--kubeconfig", str(config), "--dry-run")
        assert result.exit_code == 0, result.stderr
        assert yaml.safe_load(result.stdout)["current-context"].endswith(":cluster/demo")
        assert not config.exists()
        result = eksauth(*args, "--kubeconfig", str(config), "--verbose")
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert "get-token" not in result.stderr
        assert "command: eksauth" in result.stderr

    def test_assume_role_arn_with_endpoint_is_refused(self, eksauth) -> None:
        result = eksauth(
            "update-kubeconfig",
            "--name",
            "demo",
            "--region",
            "eu-west-1",
            "--endpoint",
            "https://example.invalid",
            "--ca-data",
            "eA==",
            "--assume-role-arn",
            DESCRIBER,
        )
        assert result.exit_code == 2
        assert "--assume-role-arn is for DescribeCluster" in result.stderr

    @pytest.mark.parametrize("command", [["token"], ["get-token"], ["eks", "get-token"]])
    def test_token_with_assume_role_arn_says_what_to_do(self, eksauth, command) -> None:
        result = eksauth(*command, "--cluster-name", "demo", "--assume-role-arn", DESCRIBER)
        assert result.exit_code == 2
        assert result.stderr == (
            "eksauth: error: --assume-role-arn is update-kubeconfig's role for DescribeCluster, "
            "not for tokens (aws eks get-token has no such option); to sign the token as a "
            "role, give --role-arn\n"
        )
