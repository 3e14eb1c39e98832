"""Tests of the loopback stand-ins (STS, IMDS, EKS API) against botocore, boto3 and kubectl."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError

from tests.conftest import kubectl_version
from tests.standins import (
    EksApiServer,
    ImdsServer,
    SigV4Failure,
    StsServer,
    World,
    encode_token,
    presign_url,
    sigv4,
    verify_header_auth,
    verify_presigned,
)
from tests.standins.eks_api import VERSION_INFO
from tests.standins.world import Principal

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

pytest_plugins = ["tests.standins.fixtures"]

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
USER_ARN = "arn:aws:iam::111122223333:user/alice"
ROLE_ARN = "arn:aws:iam::111122223333:role/ops/Deployer"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def alice(world: World) -> Principal:
    return world.add_user(ACCESS_KEY, SECRET_KEY, arn=USER_ARN)


def boto_creds(
    access_key: str = ACCESS_KEY, secret: str = SECRET_KEY, token: str | None = None
) -> BotoCredentials:
    return BotoCredentials(access_key, secret, token)


def botocore_presigned(
    creds: BotoCredentials | ReadOnlyCredentials,
    *,
    region: str = "eu-west-1",
    url: str | None = None,
    cluster: str = "demo",
    expires: int = 60,
) -> str:
    """What `aws eks get-token` signs: a GET GetCallerIdentity with x-k8s-aws-id signed."""
    request = AWSRequest(
        method="GET",
        url=url or f"https://sts.{region}.amazonaws.com/",
        params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        headers={"x-k8s-aws-id": cluster},
    )
    SigV4QueryAuth(creds, "sts", region, expires=expires).add_auth(request)
    return str(request.url)


def replay(
    sts: StsServer, url: str, *, cluster: str | None = "demo", host: str | None = None
) -> tuple[int, str]:
    """Send the presigned GET to the stand-in, with the URL's own host as Host header."""
    parts = urlsplit(url)
    headers = {"Host": host or parts.netloc}
    if cluster is not None:
        headers["x-k8s-aws-id"] = cluster
    conn = http.client.HTTPConnection("127.0.0.1", sts.port, timeout=5)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}", headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = urlencode([(k, value if k == name else v) for k, v in parse_qsl(parts.query)])
    return parts._replace(query=query).geturl()


def eks_get(eks: EksApiServer, path: str, token: str | None) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", eks.port, context=eks.client_ssl_context(), timeout=10
    )
    try:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def sts_client(sts: StsServer, creds: BotoCredentials, region: str = "us-east-1") -> STSClient:
    return boto3.client(
        "sts",
        endpoint_url=sts.url,
        region_name=region,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        config=NO_RETRIES,
    )


# ----------------------------------------------------------------------------- sigv4


def test_sigv4_published_example_vector() -> None:
    """The IAM ListUsers example from the AWS "Create a signed AWS API request" docs."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Host": "iam.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
    }
    signed = ("content-type", "host", "x-amz-date")
    canonical = sigv4.canonical_request(
        "GET",
        sigv4.canonical_uri("/"),
        sigv4.canonical_query_string(sigv4.parse_query("Version=2010-05-08&Action=ListUsers")),
        headers_block=sigv4.canonical_headers(sigv4.lower_headers(headers), signed),
        signed_headers=";".join(signed),
        payload_hash=sigv4.EMPTY_SHA256,
    )
    assert canonical == (
        "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
        "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
        "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "content-type;host;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert (
        hashlib.sha256(canonical.encode()).hexdigest()
        == "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    )
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    key = sigv4.signing_key(secret, "20150830", "us-east-1", "iam")
    to_sign = sigv4.string_to_sign(
        "20150830T123600Z", "20150830/us-east-1/iam/aws4_request", canonical
    )
    expected = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    assert sigv4.signature(key, to_sign) == expected

    world = World()
    world.add_user("AKIDEXAMPLE", secret)
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date, Signature={expected}"
    )
    now = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
    verified = verify_header_auth(
        "GET",
        "/",
        "Action=ListUsers&Version=2010-05-08",
        headers,
        b"",
        world.lookup,
        now,
        service="iam",
    )
    assert verified.access_key_id == "AKIDEXAMPLE"
    assert verified.params == {"Action": "ListUsers", "Version": "2010-05-08"}
    headers["Authorization"] = headers["Authorization"].replace("5d672d79", "5d672d7a")
    with pytest.raises(SigV4Failure) as failure:
        verify_header_auth(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            headers,
            b"",
            world.lookup,
            now,
            service="iam",
        )
    assert failure.value.code == "SignatureDoesNotMatch"


def test_query_canonicalization_reencodes_per_sigv4() -> None:
    pairs = sigv4.parse_query("b=%7e&a=x%2fy&a=a%20b&X-Amz-Signature=zz&c=1+2")
    assert sigv4.canonical_query_string(pairs) == "a=a%20b&a=x%2Fy&b=~&c=1%2B2"
    assert sigv4.canonical_uri("/a b/./c/../d") == "/a%20b/d"
    assert sigv4.canonical_uri("/%2F") == "/%252F"  # non-S3 services encode twice


def test_verifier_accepts_botocore_and_own_presigning(alice: Principal) -> None:
    url = botocore_presigned(boto_creds())
    parts = urlsplit(url)
    assert "X-Amz-Expires=60" in parts.query
    assert "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id" in parts.query
    now = datetime.now(timezone.utc)
    headers = {"host": parts.netloc, "X-K8S-AWS-ID": "demo"}
    lookup = {alice.access_key_id: alice}.get
    verified = verify_presigned("GET", parts.path, parts.query, headers, lookup, now)
    assert (verified.region, verified.expires) == ("eu-west-1", 60)
    assert verified.signed_headers == ("host", "x-k8s-aws-id")

    own = presign_url(
        "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        access_key_id=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="eu-west-1",
        now=now,
        headers={"x-k8s-aws-id": "demo"},
    )
    own_parts = urlsplit(own)
    verify_presigned("GET", "/", own_parts.query, headers, lookup, now)
    # Same inputs and timestamp: our signer and botocore agree byte for byte.
    again = presign_url(
        "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        access_key_id=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="eu-west-1",
        now=verified.amz_date,
        headers={"x-k8s-aws-id": "demo"},
    )
    assert urlsplit(again).query == parts.query


# ----------------------------------------------------------------------------- STS presigned


def test_presigned_url_replayed_with_host_header_is_accepted(
    world: World, sts_server: StsServer, alice: Principal
) -> None:
    status, body = replay(sts_server, botocore_presigned(boto_creds()))
    assert status == 200, body
    assert body.startswith(
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    )
    assert f"<Arn>{USER_ARN}</Arn>" in body
    assert f"<UserId>{alice.user_id}</UserId>" in body
    assert "<Account>111122223333</Account>" in body
    assert world.calls["GetCallerIdentity:presigned"] == 1
    (entry,) = world.entries("GetCallerIdentity:presigned")
    assert entry["host"] == "sts.eu-west-1.amazonaws.com"
    assert entry["x_k8s_aws_id"] == "demo"
    assert entry["access_key_id"] == ACCESS_KEY
    assert entry["result"] == "ok"
    assert SECRET_KEY not in repr(world.log)


def test_presigned_with_session_token_and_late_replay(world: World, sts_server: StsServer) -> None:
    creds = world.issue_session(ROLE_ARN, "ci-job", 3600)
    assert "/" in creds.session_token or "+" in creds.session_token
    url = botocore_presigned(
        boto_creds(creds.access_key_id, creds.secret_access_key, creds.session_token)
    )
    world.advance(timedelta(minutes=14))  # past X-Amz-Expires=60, within STS's 15 minutes
    status, body = replay(sts_server, url)
    assert status == 200, body
    assert "<Arn>arn:aws:sts::111122223333:assumed-role/Deployer/ci-job</Arn>" in body
    assert f"<UserId>{world.role_id(ROLE_ARN)}:ci-job</UserId>" in body
    assert creds.session_token not in repr(world.log)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered-signature", ("SignatureDoesNotMatch", 403)),
        ("wrong-cluster-header", ("SignatureDoesNotMatch", 403)),
        ("missing-cluster-header", ("SignatureDoesNotMatch", 403)),
        ("wrong-host", ("SignatureDoesNotMatch", 403)),
        ("region-not-matching-host", ("SignatureDoesNotMatch", 403)),
        ("unknown-key", ("InvalidClientTokenId", 403)),
        ("too-old", ("RequestExpired", 400)),
        ("from-the-future", ("RequestExpired", 400)),
        ("no-auth", ("MissingAuthenticationToken", 403)),
    ],
)
def test_presigned_rejections(
    world: World, sts_server: StsServer, alice: Principal, case: str, expected: tuple[str, int]
) -> None:
    code, status = expected
    url = botocore_presigned(boto_creds())
    host: str | None = None
    cluster: str | None = "demo"
    if case == "tampered-signature":
        sig = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
        url = with_param(url, "X-Amz-Signature", sig[::-1])
    elif case == "wrong-cluster-header":
        cluster = "other-cluster"
    elif case == "missing-cluster-header":
        cluster = None
    elif case == "wrong-host":
        host = "sts.us-west-2.amazonaws.com"
    elif case == "region-not-matching-host":
        url = botocore_presigned(boto_creds(), url="https://sts.amazonaws.com/")
    elif case == "unknown-key":
        url = botocore_presigned(boto_creds("AKIAUNKNOWNKEY000000", SECRET_KEY))
    elif case == "too-old":
        world.advance(timedelta(minutes=16))
    elif case == "from-the-future":
        world.advance(timedelta(minutes=-6))
    elif case == "no-auth":
        url = "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    got_status, body = replay(sts_server, url, cluster=cluster, host=host)
    assert got_status == status, body
    assert f"<Code>{code}</Code>" in body
    assert "<Type>Sender</Type>" in body
    assert body.startswith('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')
    assert world.errors[code] == 1


def test_expired_session_is_expired_token(world: World, sts_server: StsServer) -> None:
    world.freeze(datetime.now(timezone.utc) - timedelta(minutes=20))
    creds = world.issue_session(ROLE_ARN, "short", 900)  # expires 5 minutes ago in real time
    world.clock = lambda: datetime.now(timezone.utc)
    url = botocore_presigned(
        boto_creds(creds.access_key_id, creds.secret_access_key, creds.session_token)
    )
    status, body = replay(sts_server, url)
    assert status == 400
    assert "<Code>ExpiredToken</Code>" in body


def test_fail_with_forces_errors(world: World, sts_server: StsServer, alice: Principal) -> None:
    sts_server.fail_with("Throttling", count=2, message="Rate exceeded")
    url = botocore_presigned(boto_creds())
    assert replay(sts_server, url)[0] == 400
    body = replay(sts_server, url)[1]
    assert "<Code>Throttling</Code>" in body
    assert "Rate exceeded" in body
    assert replay(sts_server, url)[0] == 200
    assert world.calls["GetCallerIdentity:presigned"] == 3


# ----------------------------------------------------------------------------- STS via boto3


def test_boto3_get_caller_identity_and_assume_role(
    world: World, sts_server: StsServer, alice: Principal
) -> None:
    client = sts_client(sts_server, boto_creds())
    ident = client.get_caller_identity()
    assert ident["Arn"] == USER_ARN
    assert ident["Account"] == "111122223333"
    assert world.calls["GetCallerIdentity:post"] == 1

    result = client.assume_role(
        RoleArn=ROLE_ARN, RoleSessionName="eksauth-test", DurationSeconds=1800
    )
    creds = result["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert isinstance(creds["Expiration"], datetime)
    remaining = creds["Expiration"] - datetime.now(timezone.utc)
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)
    assumed_arn = "arn:aws:sts::111122223333:assumed-role/Deployer/eksauth-test"
    assert result["AssumedRoleUser"]["Arn"] == assumed_arn
    assert result["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert world.calls["AssumeRole"] == 1

    assumed = sts_client(
        sts_server,
        boto_creds(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
        region="eu-west-1",
    )
    ident = assumed.get_caller_identity()
    assert ident["Arn"] == assumed_arn
    assert ident["UserId"] == result["AssumedRoleUser"]["AssumedRoleId"]
    assert ident["UserId"].endswith(":eksauth-test")
    assert world.calls["GetCallerIdentity:post"] == 2
    assert creds["SecretAccessKey"] not in repr(world.log)


def test_boto3_assume_role_denied_and_validation(
    world: World, sts_server: StsServer, alice: Principal
) -> None:
    world.deny(ROLE_ARN, USER_ARN)
    client = sts_client(sts_server, boto_creds())
    with pytest.raises(ClientError) as denied:
        client.assume_role(RoleArn=ROLE_ARN, RoleSessionName="nope")
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: {USER_ARN} is not authorized to perform: sts:AssumeRole on resource: {ROLE_ARN}"
    )
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    other = "arn:aws:iam::111122223333:role/WithExternalId"
    world.add_role(other, external_id="s3cret-ext")
    with pytest.raises(ClientError) as no_ext:
        client.assume_role(RoleArn=other, RoleSessionName="x1")
    assert no_ext.value.response["Error"]["Code"] == "AccessDenied"
    ok = client.assume_role(RoleArn=other, RoleSessionName="x1", ExternalId="s3cret-ext")
    assert ok["AssumedRoleUser"]["Arn"].endswith(":assumed-role/WithExternalId/x1")

    with pytest.raises(ClientError) as too_long:
        client.assume_role(
            RoleArn=other, RoleSessionName="x1", ExternalId="s3cret-ext", DurationSeconds=50000
        )
    assert too_long.value.response["Error"]["Code"] == "ValidationError"
    assert too_long.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_boto3_bad_secret_is_signature_mismatch(
    world: World, sts_server: StsServer, alice: Principal
) -> None:
    client = sts_client(sts_server, boto_creds(secret="not-the-secret"))
    with pytest.raises(ClientError) as failure:
        client.get_caller_identity()
    assert failure.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


# ----------------------------------------------------------------------------- IMDS


def test_imds_requires_v2_token(world: World, imds_server: ImdsServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", imds_server.port, timeout=5)
    conn.request("GET", "/latest/meta-data/instance-id")
    assert conn.getresponse().status == 401
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", imds_server.port, timeout=5)
    conn.request("PUT", "/latest/api/token")
    assert conn.getresponse().status == 400
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", imds_server.port, timeout=5)
    conn.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    response = conn.getresponse()
    token = response.read().decode()
    assert response.status == 200
    assert response.getheader("X-aws-ec2-metadata-token-ttl-seconds") == "60"
    conn.close()
    for path, expected in [
        ("/latest/meta-data/instance-id", "i-0abc1234def567890"),
        ("/latest/meta-data/placement/region", "us-east-1"),
        ("/latest/meta-data/iam/security-credentials/", "NodeInstanceRole"),
    ]:
        conn = http.client.HTTPConnection("127.0.0.1", imds_server.port, timeout=5)
        conn.request("GET", path, headers={"X-aws-ec2-metadata-token": token})
        assert conn.getresponse().read().decode() == expected
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", imds_server.port, timeout=5)
    conn.request(
        "GET",
        "/latest/dynamic/instance-identity/document",
        headers={"X-aws-ec2-metadata-token": token},
    )
    document = json.loads(conn.getresponse().read())
    conn.close()
    assert document["accountId"] == "111122223333"
    assert document["instanceId"] == "i-0abc1234def567890"
    assert world.calls["imds:unauthorized"] == 1
    assert world.calls["imds:token"] == 2


def test_botocore_gets_credentials_from_imds(
    world: World,
    imds_server: ImdsServer,
    sts_server: StsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith(("AWS_", "BOTO"))] + [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ]:
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BOTO_CONFIG"):
        empty = tmp_path / name.lower()
        empty.write_text("")
        monkeypatch.setenv(name, str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"{imds_server.url}/")

    creds = botocore.session.Session().get_credentials()
    assert creds is not None
    assert creds.method == "iam-role"
    frozen = creds.get_frozen_credentials()
    served = imds_server.credentials
    assert served is not None
    assert frozen.access_key == served.access_key_id
    assert frozen.secret_key == served.secret_access_key
    assert frozen.token == served.session_token
    assert world.calls["imds:token"] == 1
    assert world.calls["imds:role-name"] == 1
    assert world.calls["imds:credentials"] == 1
    assert world.calls["imds:unauthorized"] == 0

    status, body = replay(sts_server, botocore_presigned(frozen))
    assert status == 200, body
    arn = "arn:aws:sts::111122223333:assumed-role/NodeInstanceRole/i-0abc1234def567890"
    assert f"<Arn>{arn}</Arn>" in body
    assert ":i-0abc1234def567890</UserId>" in body


# ----------------------------------------------------------------------------- EKS API


def test_eks_api_accepts_good_token(
    world: World, sts_server: StsServer, eks_api: EksApiServer, alice: Principal, tmp_path: Path
) -> None:
    assert eks_api.url == f"https://127.0.0.1:{eks_api.port}"
    assert eks_api.ca_file == tmp_path / "ca.crt"
    assert eks_api.ca_file.read_bytes() == eks_api.ca_pem_bytes
    assert base64.b64decode(eks_api.ca_data_b64) == eks_api.ca_pem_bytes

    token = encode_token(botocore_presigned(boto_creds()))
    assert "=" not in token
    status, payload = eks_get(eks_api, "/version", token)
    assert (status, payload) == (200, VERSION_INFO)
    (seen,) = eks_api.seen
    assert seen.arn == USER_ARN
    assert seen.account == "111122223333"
    assert seen.access_key_id == ACCESS_KEY
    assert seen.sts_host == "sts.eu-west-1.amazonaws.com"
    assert world.calls["GetCallerIdentity:presigned"] == 1
    assert world.calls["eks:authenticated"] == 1

    status, payload = eks_get(eks_api, "/api/v1/namespaces", token)
    assert status == 404
    assert payload["kind"] == "Status"


def test_eks_api_records_assumed_role_session(
    world: World, sts_server: StsServer, eks_api: EksApiServer
) -> None:
    creds = world.issue_session(ROLE_ARN, "alice-laptop", 3600)
    # Signed for the stand-in STS itself (http, loopback host) as tests with an explicit STS URL do.
    url = botocore_presigned(
        boto_creds(creds.access_key_id, creds.secret_access_key, creds.session_token),
        url=f"{sts_server.url}/",
        region="us-east-1",
    )
    assert eks_get(eks_api, "/version", encode_token(url))[0] == 200
    (seen,) = eks_api.seen
    assert seen.session_name == "alice-laptop"
    assert seen.canonical_arn == "arn:aws:iam::111122223333:role/Deployer"
    assert seen.user_id == world.role_id(ROLE_ARN)


@pytest.mark.parametrize(
    "case",
    [
        "no-header",
        "wrong-prefix",
        "padded",
        "http-real-host",
        "foreign-host",
        "other-cluster",
        "cluster-header-unsigned",
        "extra-param",
        "expires-too-long",
        "too-old",
        "unknown-key",
    ],
)
def test_eks_api_rejects_bad_tokens(
    world: World, sts_server: StsServer, eks_api: EksApiServer, alice: Principal, case: str
) -> None:
    url = botocore_presigned(boto_creds())
    token: str | None = None
    if case == "wrong-prefix":
        token = encode_token(url).replace("k8s-aws-v1.", "k8s-aws-v2.")
    elif case == "padded":
        raw = base64.urlsafe_b64encode(url.encode()).decode()
        token = "k8s-aws-v1." + (raw if raw.endswith("=") else raw + "==")
    elif case == "http-real-host":
        token = encode_token(url.replace("https://", "http://"))
    elif case == "foreign-host":
        token = encode_token(botocore_presigned(boto_creds(), url="https://sts.evil.example/"))
    elif case == "other-cluster":
        token = encode_token(botocore_presigned(boto_creds(), cluster="another"))
    elif case == "cluster-header-unsigned":
        request = AWSRequest(
            method="GET",
            url="https://sts.eu-west-1.amazonaws.com/",
            params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        )
        SigV4QueryAuth(boto_creds(), "sts", "eu-west-1", expires=60).add_auth(request)
        token = encode_token(str(request.url))
    elif case == "extra-param":
        token = encode_token(url + "&Foo=bar")
    elif case == "expires-too-long":
        token = encode_token(botocore_presigned(boto_creds(), expires=901))
    elif case == "too-old":
        token = encode_token(url)
        world.advance(timedelta(minutes=16))
    elif case == "unknown-key":
        token = encode_token(botocore_presigned(boto_creds("AKIAUNKNOWNKEY000000")))
    status, payload = eks_get(eks_api, "/version", token)
    assert status == 401
    assert payload == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert len(eks_api.rejections) == 1
    assert eks_api.seen == []
    replayed = world.calls["GetCallerIdentity:presigned"]
    assert replayed == (1 if case in ("other-cluster", "unknown-key") else 0)


@pytest.mark.e2e
def test_kubectl_against_eks_api(
    eks_api: EksApiServer, alice: Principal, tmp_path: Path, world: World
) -> None:
    home = tmp_path / "kubectl-home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "NO_PROXY": "127.0.0.1"}
    good = eks_api.write_kubeconfig(
        tmp_path / "good.kubeconfig", token=encode_token(botocore_presigned(boto_creds()))
    )
    run = kubectl_version(env, "--kubeconfig", str(good))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == VERSION_INFO
    assert world.calls["eks:authenticated"] >= 1

    bad = eks_api.write_kubeconfig(
        tmp_path / "bad.kubeconfig",
        token=encode_token(botocore_presigned(boto_creds(), cluster="another")),
    )
    run = kubectl_version(env, "--kubeconfig", str(bad))
    assert run.returncode != 0
    assert "Unauthorized" in run.stderr


# ----------------------------------------------------------------------------- lifecycle


def test_servers_bind_loopback_and_stop(world: World, tmp_path: Path) -> None:
    with StsServer(world) as sts, ImdsServer(world) as imds:
        with EksApiServer(world, sts.url, tmp_path=tmp_path) as eks:
            for server in (sts, imds, eks):
                assert server.running
                assert server.url.startswith(("http://127.0.0.1:", "https://127.0.0.1:"))
                socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        ports = [sts.port, imds.port, eks.port]
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_watchdog_stops_forgotten_server(world: World) -> None:
    server = StsServer(world, max_lifetime=0.2).start()
    deadline = time.monotonic() + 5
    while server.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.running
    assert server.stopped_by_watchdog
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    server.stop()  # idempotent
