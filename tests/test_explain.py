"""The explain path as a person in trouble uses it: `eksauth doctor` and `eksauth whoami` with no
flags, in the shell where kubectl just failed, and what they must never do.

Stand-ins: STS (SigV4 checked by its own code), the EKS control plane (AWS_ENDPOINT_URL_EKS),
the HTTPS API server, and servers that misbehave on purpose (tests/standins/hostile_http.py).
Tokens name the STS stand-in through EKSAUTH_STS_URL, as kubectl's runs of the exec would.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import (
    ACCESS_KEY,
    ACCOUNT,
    SECRET_KEY,
    SESSION_ARN,
    mkfifo,
    not_on_windows,
    requires_awscli,
    run_tool,
)
from tests.standins import EksApiServer
from tests.standins.eks_control import EksControlServer
from tests.standins.hostile_http import BadDateServer, DrippingServer, RecordingServer
from tests.standins.sts import StsServer
from tests.standins.world import World

pytestmark = pytest.mark.e2e

ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-admins"  # the canonical ARN: no path
AWS_AUTH = {"mapRoles": f"- rolearn: {ROLE}\n  username: cm-{{{{SessionName}}}}\n  groups: [ops]\n"}


@pytest.fixture
def alice(alice: Any, sts_server: StsServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """conftest's alice (signed in to role teams/eks-admins); tokens name the STS stand-in."""
    monkeypatch.setenv("EKSAUTH_STS_URL", sts_server.url)
    return alice


def run(eksauth: Any, *args: str) -> Any:
    return eksauth(*args, now=time.time())


def checks(result: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def exec_user(name: str, args: list[str]) -> dict[str, Any]:
    exec_ = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "eksauth",
        "args": args,
        "interactiveMode": "IfAvailable",
    }
    return {"name": name, "user": {"exec": exec_}}


def write(path: Path, **content: Any) -> Path:
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", **content}))
    return path


def one_line_error(result: Any) -> str:
    """The single stderr line of a refusal (no traceback, nothing else)."""
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("eksauth: error: "), line
    return str(line)


class TestNoFlags:
    """`eksauth doctor` and `eksauth whoami`, typed as they are, after kubectl said Unauthorized."""

    @pytest.fixture
    def api_mode_cluster(
        self, eks: EksControlServer, eks_api: EksApiServer, tmp_path: Path, monkeypatch
    ) -> Path:
        """An API-mode cluster with no access entry for alice; KUBECONFIG in tmp_path."""
        eks.add_cluster("demo", mode="API", endpoint=eks_api.url, ca_data=eks_api.ca_data_b64)
        config = tmp_path / "kube" / "config"
        monkeypatch.setenv("KUBECONFIG", str(config))
        return config

    def assert_access_entry_named(self, eksauth: Any) -> None:
        result = run(eksauth, "doctor")
        assert result.exit_code == 1, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        failed = [line for line in lines if line.startswith("[FAIL]")]
        assert failed[0] == (
            f"[FAIL] access entry           no access entry for {ROLE}: in API mode EKS "
            "answers Unauthorized"
        ), result.stdout
        hint = lines[lines.index(failed[0]) + 1].strip()
        assert hint.startswith(
            f"→ aws eks create-access-entry --cluster-name demo --principal-arn {ROLE}"
        )
        assert result.stderr == "eksauth: error: doctor: access entry failed\n"
        found = checks(run(eksauth, "doctor", "--json"))
        assert found["region"]["detail"].startswith("eu-west-1")  # from the exec's args
        named = checks(run(eksauth, "doctor", "-c", "demo", "--json"))  # the context for demo
        assert named["region"]["detail"].startswith("eu-west-1")
        assert found["kubeconfig"]["status"] == "ok"
        assert found["endpoint"]["status"] == "ok"

        whoami = run(eksauth, "whoami", "--json")
        assert whoami.exit_code == 0, whoami.stderr  # determined: not mapped
        answer = json.loads(whoami.stdout)
        assert (answer["arn"], answer["authentication_mode"]) == (SESSION_ARN, "API")
        assert (answer["mapped"], answer["determined"]) == (False, True)
        assert (
            "eksauth: note: no access entry names you, and in API mode nothing else maps you: "
            f"`aws eks create-access-entry --cluster-name demo --principal-arn {ROLE}`, then "
            "associate an access policy"
        ) in whoami.stderr.splitlines()

    def test_a_kubeconfig_written_by_eksauth(self, eksauth, alice, api_mode_cluster) -> None:
        written = run(eksauth, "update-kubeconfig", "--name", "demo", "--region", "eu-west-1")
        assert written.exit_code == 0, written.stderr
        self.assert_access_entry_named(eksauth)

    @requires_awscli
    def test_a_kubeconfig_written_by_aws_cli_then_migrated(
        self, eksauth, alice, api_mode_cluster, eks: EksControlServer
    ) -> None:
        env = {**os.environ, "AWS_ENDPOINT_URL_EKS": eks.url}
        update = ("eks", "update-kubeconfig", "--name", "demo", "--region", "eu-west-1")
        done = run_tool("aws", *update, env=env)
        assert done.returncode == 0, done.stderr
        exec_ = yaml.safe_load(api_mode_cluster.read_text())["users"][0]["user"]["exec"]
        assert exec_["command"] == "aws"
        self.assert_access_entry_named(eksauth)  # aws-cli's exec, read as eksauth reads it
        migrated = run(eksauth, "migrate-kubeconfig")
        assert migrated.exit_code == 0, migrated.stderr
        self.assert_access_entry_named(eksauth)

    def test_no_kubeconfig_at_all_still_explains_the_aws_side(
        self, eksauth, alice, api_mode_cluster
    ) -> None:
        result = run(eksauth, "doctor", "-c", "demo", "--region", "eu-west-1", "--json")
        found = checks(result)
        assert result.exit_code == 1
        for name in ("credentials", "region", "token accepted by sts", "cluster found"):
            assert found[name]["status"] == "ok", found[name]
        assert found["authentication mode"]["detail"].startswith("API:")
        assert found["access entry"]["status"] == "fail"
        assert found["kubeconfig"]["status"] == "warn"
        assert found["kubeconfig"]["hint"] == (
            "write one: eksauth update-kubeconfig --name demo --region eu-west-1"
        )
        # The API server is EKS's own endpoint, trusted through EKS's CA.
        assert found["endpoint"]["status"] == "ok"
        assert "(context (EKS's endpoint))" in found["endpoint"]["detail"]

    def test_no_flags_and_no_kubeconfig_is_one_line(self, eksauth, alice, tmp_path) -> None:
        for command in ("doctor", "whoami"):
            result = run(eksauth, command)
            assert result.exit_code == 2
            assert one_line_error(result) == (
                "eksauth: error: no cluster: there is no kubeconfig to take it from "
                "(give --cluster-name NAME)"
            )

    def test_verbose_names_where_each_value_came_from(
        self, eksauth, alice, eks_api: EksApiServer, tmp_path, monkeypatch
    ) -> None:
        args = ["token", "--cluster-name", "demo", "--region", "eu-west-1"]
        cluster = {"name": "c", "cluster": {"server": eks_api.url}}
        user = exec_user("u", args)
        user["user"]["exec"]["env"] = [{"name": "AWS_PROFILE", "value": "nope"}]
        context = {"name": "ctx", "context": {"cluster": "c", "user": "u"}}
        config = write(
            tmp_path / "config",
            clusters=[cluster],
            users=[user],
            contexts=[context],
            **{"current-context": "ctx"},
        )
        monkeypatch.setenv("KUBECONFIG", str(config))
        result = run(eksauth, "whoami", "--no-eks", "--region", "eu-north-1", "-v")
        assert f"eksauth: context: ctx (in {config})" in result.stderr
        assert "eksauth: AWS_PROFILE=nope (from the exec env of the context's user)" in (
            result.stderr
        )
        assert f"cluster name: demo (from the exec args of user u in {config})" in result.stderr
        assert "region: eu-north-1 (from --region on the command line)" in result.stderr
        # The exec's env applies as kubectl applies it: its profile does not exist here.
        assert result.stderr.splitlines()[-2:] == [
            "eksauth: error: the AWS profile 'nope' was not found (list profiles with "
            "`aws configure list-profiles`)",
            "eksauth: caused by: ProfileNotFound: The config profile (nope) could not be found",
        ]
        assert "AWS_PROFILE" not in os.environ  # and it does not outlive the command


class TestKubeconfigFiles:
    def test_two_files_merged_as_kubectl_merges_them(
        self, eksauth, alice, eks_api: EksApiServer, tmp_path, monkeypatch
    ) -> None:
        """The first file sets current-context and a decoy of the same user name; the context
        lives in the second file. kubectl: first file wins per name."""
        args = ["token", "-c", "demo", "--region", "eu-west-1"]
        first = write(
            tmp_path / "first",
            users=[exec_user("u", args)],
            **{"current-context": "demo"},
        )
        second = write(
            tmp_path / "second",
            clusters=[{"name": "c", "cluster": {"server": eks_api.url}}],
            users=[exec_user("u", ["token", "-c", "decoy"])],
            contexts=[{"name": "demo", "context": {"cluster": "c", "user": "u"}}],
            **{"current-context": "other"},
        )
        monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")
        result = run(eksauth, "whoami", "--no-eks", "--json", "-v")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["arn"] == SESSION_ARN
        assert f"context: demo (in {second})" in result.stderr
        assert f"cluster name: demo (from the exec args of user u in {first})" in result.stderr


def only_other_cluster(tmp_path: Path, server: RecordingServer) -> Path:
    """A kubeconfig whose only (and current) context is for cluster `other`, at `server`."""
    return write(
        tmp_path / "config",
        clusters=[server.cluster_entry("other")],
        users=[exec_user("u", ["token", "-c", "other"])],
        contexts=[{"name": "other", "context": {"cluster": "other", "user": "u"}}],
        **{"current-context": "other"},
    )


class TestNeverTheWrongServer:
    def test_whoami_refuses_a_context_for_another_cluster(
        self, eksauth, alice, tmp_path, monkeypatch
    ) -> None:
        with RecordingServer() as elsewhere:
            monkeypatch.setenv("KUBECONFIG", str(only_other_cluster(tmp_path, elsewhere)))
            result = run(
                eksauth, "whoami", "--cluster-name", "prod", "--aws-auth", "cluster", "--no-eks"
            )
            assert result.exit_code == 1
            assert result.stderr.splitlines()[-1] == (
                f"eksauth: error: not sending a token for cluster prod to {elsewhere.url} "
                "(context other): no context names the cluster, and EKS was not asked for its "
                "endpoint (give --context NAME for the cluster's context, or a region so EKS "
                "can be asked)"
            )
            assert "arn:aws:sts::" in result.stdout  # the identity is still printed
            assert (elsewhere.connections, elsewhere.requests) == (0, [])

    def test_doctor_asks_the_endpoint_eks_named_and_nothing_else(
        self,
        eksauth,
        alice,
        eks: EksControlServer,
        eks_api: EksApiServer,
        tmp_path,
        monkeypatch,
    ) -> None:
        eks.add_cluster(
            "prod", mode="CONFIG_MAP", endpoint=eks_api.url, ca_data=eks_api.ca_data_b64
        )
        eks_api.cluster_id = "prod"
        eks_api.aws_auth = AWS_AUTH
        with RecordingServer() as elsewhere:
            monkeypatch.setenv("KUBECONFIG", str(only_other_cluster(tmp_path, elsewhere)))
            result = run(eksauth, "doctor", "-c", "prod", "--region", "eu-west-1", "--json")
            found = checks(result)
            assert (elsewhere.connections, elsewhere.requests) == (0, [])
        assert found["kubeconfig"]["status"] == "warn"
        assert found["endpoint"]["detail"].startswith(f"{eks_api.url} (context (EKS's endpoint))")
        assert found["mapping"]["detail"] == "cm-alice (ops) via aws-auth:mapRoles[0]"
        assert result.exit_code == 0, result.stdout


class TestBounded:
    def test_a_dripping_api_server_ends_within_the_deadline(
        self, eksauth, alice, eks: EksControlServer, tmp_path, monkeypatch
    ) -> None:
        with DrippingServer(interval=0.5) as drip:
            eks.add_cluster("demo", mode="CONFIG_MAP", endpoint=drip.url)
            config = write(
                tmp_path / "config",
                clusters=[drip.cluster_entry("demo")],
                users=[exec_user("u", ["token", "-c", "demo", "--region", "eu-west-1"])],
                contexts=[{"name": "demo", "context": {"cluster": "demo", "user": "u"}}],
                **{"current-context": "demo"},
            )
            monkeypatch.setenv("KUBECONFIG", str(config))
            started = time.monotonic()
            result = run(eksauth, "whoami", "--aws-auth", "cluster", "--no-eks", "--timeout", "2")
            assert time.monotonic() - started < 6
            assert result.exit_code == 1
            assert result.stderr.splitlines()[-1] == (
                f"eksauth: error: the API server {drip.url} did not answer within 2 s (check "
                "the kubeconfig's server and certificate-authority)"
            )
            started = time.monotonic()
            doctor = run(eksauth, "doctor", "--timeout", "2", "--json")
            assert time.monotonic() - started < 8
            found = checks(doctor)
            assert found["endpoint"]["status"] == "fail"
            assert found["endpoint"]["detail"].endswith("did not answer within 2 s")
            assert found["aws-auth role path"]["detail"] == "skipped: endpoint failed"

    def test_a_bad_date_header_is_a_check_result(self, eksauth, static_keys, monkeypatch) -> None:
        with BadDateServer() as sts:
            result = eksauth(
                "doctor", "-c", "demo", "--region", "eu-west-1", "--sts-url", sts.url, "--json"
            )
        assert "Traceback" not in result.stderr
        found = checks(result)
        assert found["sts reachable"]["status"] == "warn"
        assert found["sts reachable"]["detail"] == (
            f"{sts.url} answered with a Date header that is no date: 'garbage'"
        )

    @not_on_windows("no /dev/zero device to read")
    def test_aws_auth_from_dev_zero_is_one_line(self, eksauth, alice) -> None:
        result = run(eksauth, "whoami", "-c", "demo", "--aws-auth", "/dev/zero", "--no-eks")
        assert result.exit_code == 1
        assert one_line_error(result) == (
            "eksauth: error: the aws-auth file /dev/zero is not a regular file"
        )

    def test_a_fifo_as_the_ca_file_is_one_line(
        self, eksauth, alice, eks_api: EksApiServer, tmp_path, monkeypatch
    ) -> None:
        fifo = tmp_path / "ca.fifo"
        mkfifo(fifo)
        config = write(
            tmp_path / "config",
            clusters=[
                {
                    "name": "c",
                    "cluster": {"server": eks_api.url, "certificate-authority": "ca.fifo"},
                }
            ],
            users=[exec_user("u", ["token", "-c", "demo"])],
            contexts=[{"name": "demo", "context": {"cluster": "c", "user": "u"}}],
            **{"current-context": "demo"},
        )
        monkeypatch.setenv("KUBECONFIG", str(config))
        started = time.monotonic()
        result = run(eksauth, "whoami", "--aws-auth", "cluster", "--no-eks")
        assert time.monotonic() - started < 10
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (
            f"eksauth: error: the CA file {fifo} is not a regular file"
        )


class TestDegrades:
    def test_eks_unreachable_keeps_the_identity_and_aws_auth(
        self, eksauth, alice, eks: EksControlServer, tmp_path
    ) -> None:
        eks.add_cluster("demo")
        eks.hang = True
        aws_auth = tmp_path / "aws-auth.json"
        aws_auth.write_text(json.dumps({"data": AWS_AUTH}))
        result = run(
            eksauth, "whoami", "-c", "demo", "--region", "eu-west-1", "--aws-auth", str(aws_auth),
            "--json", "--timeout", "2",
        )  # fmt: skip
        assert result.exit_code == 1
        answer = json.loads(result.stdout)
        assert answer["arn"] == SESSION_ARN
        assert answer["determined"] is False
        assert answer["aws_auth"] == {
            "mapped_by": "aws-auth:mapRoles[0]",
            "username": "cm-alice",
            "groups": ["ops"],
            "reason": None,
        }
        assert "eksauth: note: could not ask EKS: EKS in eu-west-1 did not answer within 2 s" in (
            result.stderr
        )


class TestHints:
    def test_expired_credentials_say_how_to_refresh(
        self, eksauth, world: World, sts_server: StsServer, aws_env: Path
    ) -> None:
        world.add_user(ACCESS_KEY, SECRET_KEY)
        (aws_env / ".aws" / "credentials").write_text(
            f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )
        sts_server.fail_with("ExpiredToken", message="The security token included has expired")
        result = run(
            eksauth, "whoami", "-c", "demo", "--profile", "dev", "--sts-url", sts_server.url,
            "--no-eks",
        )  # fmt: skip
        assert result.exit_code == 1
        assert one_line_error(result).endswith(
            "(refresh the credentials; for an SSO profile, `eksauth sso login --profile dev`)"
        )

    def test_an_unknown_key_names_the_likely_causes(
        self, eksauth, static_keys, sts_server: StsServer
    ) -> None:
        result = run(eksauth, "whoami", "-c", "demo", "--sts-url", sts_server.url, "--no-eks")
        assert result.exit_code == 1
        assert one_line_error(result).endswith(
            "(the access key is unknown to STS: deleted or deactivated, from another partition "
            "(aws-cn, aws-us-gov), or used in a region that is not enabled for the account)"
        )

    def test_assume_role_denied_names_the_role_and_the_caller(
        self, eksauth, static_keys, world: World, sts_server: StsServer, monkeypatch
    ) -> None:
        user = world.add_user(ACCESS_KEY, SECRET_KEY)
        role = f"arn:aws:iam::{ACCOUNT}:role/Admin"
        world.deny(role)
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)
        result = run(eksauth, "token", "-c", "demo", "--region", "eu-west-1", "--role-arn", role)
        assert result.exit_code == 1
        assert one_line_error(result).endswith(
            f"({user.arn} may not assume {role}: the role's trust policy must allow it, and the "
            "caller's own policy must allow sts:AssumeRole)"
        )

    def test_doctor_hints_on_the_failed_line_and_labels_keys(
        self, eksauth, world: World, sts_server: StsServer, static_keys
    ) -> None:
        world.add_user(ACCESS_KEY, SECRET_KEY)
        sts_server.fail_with("InvalidClientTokenId", count=2)
        result = run(
            eksauth, "doctor", "-c", "demo", "--region", "eu-west-1", "--sts-url", sts_server.url,
            "--json",
        )  # fmt: skip
        found = checks(result)
        assert found["credentials"]["detail"] == (
            "AKIA… from environment variables; long-lived keys"
        )
        accepted = found["token accepted by sts"]
        assert accepted["status"] == "fail"
        assert accepted["hint"].startswith("the access key is unknown to STS")


class TestRegionSanity:
    def test_a_mistyped_region_is_a_warning(self, eksauth, static_keys) -> None:
        result = eksauth("doctor", "-c", "demo", "--region", "eu-wst-1", "--json")
        region = checks(result)["region"]
        assert region["status"] == "warn"
        assert "is unknown to botocore" in region["detail"]
        assert region["detail"].endswith("(did you mean eu-west-1?)")
        # A token signed under -v says so (a cache hit stays on the stdlib-only path).
        token = eksauth("token", "-c", "demo", "--region", "eu-wst-1", "-v", "--refresh")
        assert token.exit_code == 0
        assert "(did you mean eu-west-1?)" in token.stderr
        quiet = eksauth("token", "-c", "demo", "--region", "eu-wst-1", "--refresh")
        assert quiet.exit_code == 0
        assert quiet.stderr == ""  # not an error: new regions appear before botocore knows them
