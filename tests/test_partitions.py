"""Every AWS partition, known in one place, and the STS hosts no SDK produces refused.

The one list is eksauth.token.endpoints' table (PARTITIONS); botocore's partitions.json is the
reference it is tied to here, so the next partition cannot be known to the signer and missed by
the verifier or by ARN canonicalisation, as aws-eusc was. The host rules come from
aws-iam-authenticator (pkg/token/token.go verifySTSHostnameFormat, pkg/endpoints) and botocore's
endpoints.json: GovCloud FIPS is sts.REGION.amazonaws.com, and the ISO partitions have no
dual-stack STS.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import botocore.loaders
import pytest

from eksauth.identity import replay
from eksauth.token import bearer, endpoints
from eksauth.token.endpoints import parse_sts_host, sts_endpoint
from tests.conftest import ACCESS_KEY, FROZEN, SECRET_KEY
from tests.standins import StsServer, World, presign_url
from tests.test_endpoints import current_botocore_data

BOTOCORE_PARTITIONS = botocore.loaders.create_loader().load_data("partitions")["partitions"]
FROZEN_DT = datetime.fromtimestamp(FROZEN, timezone.utc)
ACCOUNT = "111122223333"


@current_botocore_data
@pytest.mark.parametrize("partition", BOTOCORE_PARTITIONS, ids=lambda p: p["id"])
def test_every_botocore_partition_is_known(partition: dict[str, Any]) -> None:
    name = partition["id"]
    assert name in endpoints.PARTITIONS
    assert name in replay.KNOWN_PARTITIONS
    # The verifier accepts the host the signer makes for the partition's own region...
    signed = sts_endpoint(partition["outputs"]["implicitGlobalRegion"])
    assert signed.partition == name
    assert parse_sts_host(signed.host) == signed
    # ...and canonicalises its identities as aws-iam-authenticator's arn.Canonicalize does.
    session = f"arn:{name}:sts::{ACCOUNT}:assumed-role/Admin/Session"
    assert replay.canonicalize(session) == f"arn:{name}:iam::{ACCOUNT}:role/Admin"


@current_botocore_data
def test_the_lists_are_one() -> None:
    assert frozenset(endpoints.PARTITIONS) == replay.KNOWN_PARTITIONS
    assert list(endpoints.PARTITIONS) == [p["id"] for p in BOTOCORE_PARTITIONS]


NO_SDK_SIGNS_FOR = {
    "sts-fips.us-gov-west-1.amazonaws.com": "aws-us-gov",
    "sts-fips.us-gov-east-1.amazonaws.com": "aws-us-gov",
    "sts.us-iso-east-1.api.aws.ic.gov": "aws-iso",
    "sts.us-isob-east-1.api.aws.scloud": "aws-iso-b",
    "sts.eu-isoe-west-1.api.cloud-aws.adc-e.uk": "aws-iso-e",
    "sts.us-isof-south-1.api.aws.hci.ic.gov": "aws-iso-f",
}


def _token_for(host: str) -> str:
    url = presign_url(
        f"https://{host}/?Action=GetCallerIdentity&Version=2011-06-15",
        access_key_id=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=host.split(".")[1],
        now=FROZEN_DT,
        headers={"x-k8s-aws-id": "demo"},
    )
    return bearer.encode(url)


class TestVerifyRefusesHostsNoSdkProduces:
    @pytest.mark.parametrize(("host", "partition"), NO_SDK_SIGNS_FOR.items())
    def test_one_line(self, eksauth: Any, host: str, partition: str) -> None:
        result = eksauth("verify", _token_for(host), "-c", "demo")
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(
            f"eksauth: error: '{host}' is a host no SDK signs for: {partition}'s STS hosts for "
        )
        assert "EKS rejects the token; eksauth sends it nothing" in result.stderr

    def test_an_unknown_region_is_not_said_to_be_rejected(self, eksauth: Any) -> None:
        """The authenticator accepts the host (the SDK falls back to aws's format); DNS fails."""
        result = eksauth("verify", _token_for("sts.xx-foo-1.amazonaws.com"), "-c", "demo")
        assert result.exit_code == 1
        assert result.stderr.startswith(
            "eksauth: error: 'sts.xx-foo-1.amazonaws.com' names region 'xx-foo-1', which no AWS "
            "partition has: EKS accepts the host, but no STS answers there, so the token cannot "
            "authenticate; eksauth sends it nothing"
        )
        assert "rejects" not in result.stderr


@pytest.mark.usefixtures("static_keys")
@pytest.mark.parametrize("region", ["us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1"])
def test_token_refuses_to_sign_iso_dual_stack(
    eksauth: Any, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", "true")
    result = eksauth("token", "--cluster-name", "demo", "--region", region)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"eksauth: error: STS has no dual-stack endpoint in {endpoints._partition_of(region).name}"
        f" (region {region}), so EKS would refuse the token"
    )


@pytest.mark.usefixtures("static_keys")
def test_govcloud_fips_signs_the_regional_host(
    eksauth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    result = eksauth(
        "token", "--cluster-name", "demo", "--region", "us-gov-west-1", "--output", "token"
    )
    assert result.exit_code == 0, result.stderr
    assert bearer.decode(result.stdout.strip()).startswith(
        "https://sts.us-gov-west-1.amazonaws.com/?"
    )


@pytest.mark.usefixtures("static_keys")
def test_verify_accepts_an_eusc_identity(eksauth: Any, world: World, sts_server: StsServer) -> None:
    """aws-iam-authenticator canonicalises aws-eusc sessions like any other partition's."""
    world.add_user(
        ACCESS_KEY,
        SECRET_KEY,
        arn=f"arn:aws-eusc:sts::{ACCOUNT}:assumed-role/Admin/Session",
        user_id="AROAEXAMPLEID:Session",
        account=ACCOUNT,
    )
    world.freeze(FROZEN_DT + timedelta(seconds=30))
    signed = eksauth(
        "token", "--cluster-name", "demo", "--region", "eusc-de-east-1", "--output", "token",
        "--sts-url", sts_server.url,
    )  # fmt: skip
    assert signed.exit_code == 0, signed.stderr
    result = eksauth("verify", signed.stdout.strip(), "-c", "demo", "--sts-url", sts_server.url)
    assert (result.exit_code, result.stderr) == (0, "")
    assert f"canonical arn: arn:aws-eusc:iam::{ACCOUNT}:role/Admin" in result.stdout.splitlines()


@pytest.mark.usefixtures("static_keys")
def test_whoami_maps_an_eusc_identity(
    eksauth: Any, world: World, sts_server: StsServer, tmp_path: Any
) -> None:
    world.add_user(
        ACCESS_KEY,
        SECRET_KEY,
        arn=f"arn:aws-eusc:sts::{ACCOUNT}:assumed-role/Admin/Session",
        user_id="AROAEXAMPLEID:Session",
        account=ACCOUNT,
    )
    aws_auth = tmp_path / "aws-auth.json"
    role = f"arn:aws-eusc:iam::{ACCOUNT}:role/Admin"
    aws_auth.write_text(
        json.dumps({"data": {"mapRoles": f"- rolearn: {role}\n  username: admin\n"}})
    )
    result = eksauth(
        "whoami", "-c", "demo", "--region", "eusc-de-east-1", "--sts-url", sts_server.url,
        "--no-eks", "--aws-auth", str(aws_auth), "--json", now=time.time(),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["canonical_arn"], answer["mapped"]) == (role, True)
