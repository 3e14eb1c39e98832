"""The AWS API calls eksauth makes: AssumeRole, GetCallerIdentity, EKS DescribeCluster and
ListClusters, EC2 DescribeInstances and DescribeRegions. Each is built only from the
boundary's sessions, clients (bounded timeouts, standard retries) and error mapping in
`aws/boundary.py`, so this module never imports botocore itself.
"""

from __future__ import annotations

import calendar
import os
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Literal, overload

from eksauth.aws import refusals
from eksauth.aws.boundary import (
    DIAGNOSTIC_CONFIG,
    call,
    client,
    errors,
    frozen,
    known_profiles,
    known_regions,
    region,
    session,
    source_credentials,
    within,
)
from eksauth.errors import AwsError, EksAuthError, StsError, UsageError

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_sts import STSClient

    from eksauth.aws.boundary import Session

Log = Callable[[str], None]


def assume_role(
    sts: STSClient,
    *,
    role_arn: str,
    session_name: str,
    external_id: str | None,
    duration: int | None,
    log: Log,
) -> dict[str, Any]:
    """AssumeRole through `sts` (a `client(…, "sts", …)`); the credentials as cache fields."""
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    if duration:
        params["DurationSeconds"] = duration
    log(f"AssumeRole {role_arn} as session {session_name} via {sts.meta.endpoint_url}")
    try:
        answer = call(lambda: sts.assume_role(**params), f"AssumeRole on {role_arn}", StsError)
    except StsError as exc:
        if exc.code in refusals.DENIED:  # name the role and, where STS says it, the caller
            exc.hint = refusals.hint(exc.code, role=role_arn, message=exc.message)
        raise
    credentials = answer["Credentials"]
    return {
        "access_key_id": credentials["AccessKeyId"],
        "secret_access_key": credentials["SecretAccessKey"],
        "session_token": credentials["SessionToken"],
        "expires_at": calendar.timegm(credentials["Expiration"].utctimetuple()),
        "session_name": session_name,
    }


def caller_session_name(sts: STSClient) -> str | None:
    """The session part of the caller's UserId (`AROA…:i-0abc…` → `i-0abc…`), if any."""
    reply = call(sts.get_caller_identity, "GetCallerIdentity for --forward-session-name", StsError)
    _, sep, name = str(reply["UserId"]).partition(":")
    return name if sep and name else None


# -- EKS and EC2 ---------------------------------------------------------------------------------


# The session name aws-cli gives the role it assumes for update-kubeconfig's --assume-role-arn.
DESCRIBE_SESSION_NAME = "EKSDescribeClusterSession"


def describe_cluster(
    name: str,
    *,
    region_name: str | None,
    profile: str | None,
    assume_role_arn: str | None = None,
) -> dict[str, Any]:
    """EKS DescribeCluster's `cluster` (AWS_ENDPOINT_URL_EKS honoured).

    With `assume_role_arn`, the call is made as that role (e.g. in the cluster's own account),
    as aws-cli's `update-kubeconfig --assume-role-arn` does; the role is used for nothing else.
    """
    offline = "or write it offline with --endpoint and --ca-data/--ca-file"
    with errors(
        profile,
        service="EKS",
        action="eks:DescribeCluster",
        no_credentials_hint=f"set AWS_PROFILE, {offline}",
    ):
        made = session(profile, interactive=False)
        where = region(region_name, os.environ, made)
        credentials = None
        if assume_role_arn:
            with errors(profile, action="sts:AssumeRole"):  # an STS failure is not EKS's
                fields = assume_role(
                    client(made, "sts", where),
                    role_arn=assume_role_arn,
                    session_name=DESCRIBE_SESSION_NAME,
                    external_id=None,
                    duration=None,
                    log=lambda _: None,
                )
            credentials = frozen(fields)
        eks = client(made, "eks", where, credentials)
        reply = call(lambda: eks.describe_cluster(name=name), f"eks:DescribeCluster {name}")
    return dict(reply["cluster"])


def eks_client(profile: str | None, region_name: str | None) -> EKSClient | None:
    """An `eks` client for the profile's credentials (AWS_ENDPOINT_URL_EKS honoured), or None
    when no region is known (flag, environment or profile) to ask EKS in."""
    with errors(profile, service="EKS", action="eks:DescribeCluster"):
        made = session(profile, interactive=False)
        where = region(region_name, os.environ, made)
        return client(made, "eks", where, config=DIAGNOSTIC_CONFIG) if where else None


def ec2_private_dns_name(
    instance_id: str, *, region_name: str | None, profile: str | None = None
) -> str:
    """The instance's PrivateDnsName from ec2:DescribeInstances, as the authenticator asks.

    Raises EksAuthError (the reason, for a note) when there are no credentials or EC2 says no.
    """
    with errors(profile, service="EC2", action="ec2:DescribeInstances"):
        made = session(profile, interactive=False)
        ec2 = client(made, "ec2", region(region_name, os.environ, made))
        reply = call(
            lambda: ec2.describe_instances(InstanceIds=[instance_id]), "ec2:DescribeInstances"
        )
    for reservation in reply.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            if instance.get("InstanceId") == instance_id and instance.get("PrivateDnsName"):
                return str(instance["PrivateDnsName"])
    raise EksAuthError(f"EC2 has no private DNS name for {instance_id}")


# -- update-kubeconfig --all: one listing session per profile, then calls in parallel ---------

# EC2's answers when DescribeRegions is not allowed: the partition's list is used instead.
_DENIED = ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException")


def listing_session(profile: str | None) -> tuple[Session, str | None]:
    """A session for `profile` and the region it names (environment, then the profile's own).

    An unknown profile is a usage error here, before any call. Sessions are not thread-safe:
    the caller creates clients from one under a lock (clients themselves are).
    """
    if profile is not None and profile not in known_profiles():
        raise UsageError(
            f"the AWS profile {profile!r} was not found",
            hint="list profiles with `aws configure list-profiles`",
        )
    with errors(profile, service="EKS", action="eks:ListClusters"):
        made = session(profile, interactive=False)
        return made, region(None, os.environ, made)


def resolve_credentials(made: Session, profile: str | None) -> None:
    """Load the profile's credentials now (AssumeRole, SSO...): one failure per profile,
    rather than one per region."""
    with errors(profile, service="EKS", action="eks:ListClusters"):
        source_credentials(made)


def enabled_regions(
    ec2: EC2Client, profile: str | None, where: str, fallback_service: str = "eks"
) -> tuple[list[str], bool]:
    """The regions enabled for the account (EC2 DescribeRegions), or, when that is denied,
    every region botocore lists for `fallback_service` in `where`'s partition.

    Returns (regions, whether they came from the fallback).
    """
    try:
        with errors(profile, service="EC2", action="ec2:DescribeRegions"):
            reply = call(ec2.describe_regions, "ec2:DescribeRegions")
    except AwsError as exc:
        if exc.code not in _DENIED:
            raise
        known = known_regions(fallback_service)
        partition = known.get(where, "aws")
        return sorted(r for r, p in known.items() if p == partition), True
    return sorted(str(r["RegionName"]) for r in reply.get("Regions", [])), False


def cluster_names(eks: EKSClient, profile: str | None) -> list[str]:
    """Every cluster name EKS ListClusters gives, page by page."""
    names: list[str] = []
    token: str | None = None
    with errors(profile, service="EKS", action="eks:ListClusters"):
        while True:
            params: dict[str, Any] = {"maxResults": 100}
            if token:
                params["nextToken"] = token
            reply = call(partial(eks.list_clusters, **params), "eks:ListClusters")
            names.extend(str(n) for n in reply.get("clusters", []))
            token = reply.get("nextToken")
            if not token:
                return names


def described(eks: EKSClient, profile: str | None, name: str) -> dict[str, Any]:
    """DescribeCluster's `cluster` through an existing client."""
    with errors(profile, service="EKS", action="eks:DescribeCluster"):
        reply = call(lambda: eks.describe_cluster(name=name), f"eks:DescribeCluster {name}")
    return dict(reply["cluster"])


@overload
def bounded_client(
    made: Session, service: Literal["eks"], where: str, seconds: float
) -> EKSClient: ...
@overload
def bounded_client(
    made: Session, service: Literal["ec2"], where: str, seconds: float
) -> EC2Client: ...
@overload
def bounded_client(made: Session, service: str, where: str, seconds: float) -> BaseClient: ...
def bounded_client(made: Session, service: str, where: str, seconds: float) -> BaseClient:
    """A client whose timeouts fit in `seconds` (what is left of the run's deadline)."""
    with errors(None, service=service.upper()):
        return client(made, service, where, config=within(seconds))
