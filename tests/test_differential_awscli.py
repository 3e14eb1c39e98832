"""Byte-for-byte differential tests against the real `aws eks get-token` (awscli wheel).

Both run at one frozen instant with the same credentials and environment: aws-cli under
freezegun in a subprocess, eksauth in-process with that instant as its clock reading. Their
stdout must be identical bytes (token, expiry, apiVersion, formatting), and the STS stand-in
must accept the token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import (
    ACCESS_KEY,
    BOTOCORE_STS_DEFAULT,
    FROZEN_ISO,
    SECRET_KEY,
    Result,
    requires_awscli,
)

pytestmark = [pytest.mark.e2e, requires_awscli]

AWS_CLI_AT_FROZEN_INSTANT = f"""
import sys
from freezegun import freeze_time
with freeze_time("{FROZEN_ISO}"):
    from awscli.clidriver import main
    code = main()
sys.exit(code)
"""

V1 = '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential"}'
V1ALPHA1 = '{"apiVersion": "client.authentication.k8s.io/v1alpha1"}'
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLESESSIONTOKEN+/="

CASES = {
    "eu-west-1": ({}, ["--region", "eu-west-1"]),
    "us-east-1-regional": ({}, ["--region", "us-east-1"]),
    "us-east-1-legacy": ({"AWS_STS_REGIONAL_ENDPOINTS": "legacy"}, ["--region", "us-east-1"]),
    "eu-central-1-legacy": ({"AWS_STS_REGIONAL_ENDPOINTS": "legacy"}, ["--region", "eu-central-1"]),
    "opt-in-af-south-1-legacy": (
        {"AWS_STS_REGIONAL_ENDPOINTS": "legacy"},
        ["--region", "af-south-1"],
    ),
    "region-from-env": ({"AWS_DEFAULT_REGION": "ap-northeast-2"}, []),
    "aws-cn": ({}, ["--region", "cn-north-1"]),
    "aws-us-gov": ({}, ["--region", "us-gov-west-1"]),
    "aws-iso": ({}, ["--region", "us-iso-east-1"]),
    "fips-us-east-2": ({"AWS_USE_FIPS_ENDPOINT": "true"}, ["--region", "us-east-2"]),
    "fips-us-gov-east-1": ({"AWS_USE_FIPS_ENDPOINT": "true"}, ["--region", "us-gov-east-1"]),
    "dualstack-eu-west-1": ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, ["--region", "eu-west-1"]),
    "session-token": ({"AWS_SESSION_TOKEN": SESSION_TOKEN}, ["--region", "eu-west-1"]),
    "cluster-id": ({}, ["--region", "eu-west-1", "--cluster-id", "0123-abcd.local"]),
    "profile-from-files": ({"@profile": "1"}, ["--profile", "team"]),
    "aws-profile-env": ({"@profile": "1", "AWS_PROFILE": "team"}, []),
    "exec-info-v1": ({"KUBERNETES_EXEC_INFO": V1}, ["--region", "eu-west-1"]),
    "exec-info-v1alpha1": ({"KUBERNETES_EXEC_INFO": V1ALPHA1}, ["--region", "eu-west-1"]),
    "exec-info-malformed": ({"KUBERNETES_EXEC_INFO": "{nope"}, ["--region", "eu-west-1"]),
    "exec-info-empty-object": ({"KUBERNETES_EXEC_INFO": "{}"}, ["--region", "eu-west-1"]),
    "exec-info-unknown": (
        {"KUBERNETES_EXEC_INFO": '{"apiVersion": "client.authentication.k8s.io/v9"}'},
        ["--region", "eu-west-1"],
    ),
    "no-region": ({}, []),
    # aws-cli would print text here (a profile's `output` applies to it); eksauth prints the
    # ExecCredential whatever the profile says, so it is compared with `--output json`.
    "profile-output-text-ignored": ({"@profile": "text"}, ["--profile", "team"]),
}


def write_profile(home: Path, output: str | None) -> None:
    (home / ".aws" / "credentials").write_text(
        f"[team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    lines = "[profile team]\nregion = sa-east-1\n" + (f"output = {output}\n" if output else "")
    (home / ".aws" / "config").write_text(lines)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_bytes_as_aws_eks_get_token(
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    aws_env: Path,
    eksauth: object,
    sts_checker: object,
) -> None:
    env_extra, region_args = CASES[case]
    profile = env_extra.get("@profile")
    if profile:
        write_profile(aws_env, "text" if profile == "text" else None)
    else:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    for name, value in env_extra.items():
        if not name.startswith("@"):
            monkeypatch.setenv(name, value)
    cluster_args = [] if "--cluster-id" in region_args else ["--cluster-name", "demo-cluster"]
    args = ["eks", "get-token", *cluster_args, *region_args]

    aws_args = [*args, "--output", "json"] if profile == "text" else args
    aws_env_vars = dict(os.environ)
    if BOTOCORE_STS_DEFAULT != "regional":
        # eksauth means "regional" when unset whatever botocore's age; tell aws-cli as much.
        aws_env_vars.setdefault("AWS_STS_REGIONAL_ENDPOINTS", "regional")
    aws = subprocess.run(
        [sys.executable, "-c", AWS_CLI_AT_FROZEN_INSTANT, *aws_args],
        capture_output=True,
        text=True,
        env=aws_env_vars,
        timeout=60,
        check=False,
    )
    assert aws.returncode == 0, aws.stderr
    ours: Result = eksauth(*args)  # type: ignore[operator]
    assert ours.exit_code == 0, ours.stderr
    assert ours.stdout == aws.stdout
    # Warnings appear where aws-cli warns, and nowhere else.
    assert bool(ours.stderr) == bool(aws.stderr)

    credential = json.loads(ours.stdout)
    cluster = cluster_args[1] if cluster_args else "0123-abcd.local"
    sts_checker(credential["status"]["token"], cluster)  # type: ignore[operator]
