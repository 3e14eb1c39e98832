"""What a `token` call asks for, validated once, whichever parser read the command line.

Every `TokenRequest` is built by `validated_request` (keyword options, as the library takes
them), `request_from_values` (a mapping of option values: click's, the fast path's argv scan,
an existing kubeconfig exec's args) or `request_with_extension` (those values completed from
the cluster's exec extension: the `token` command, on the fast path and in the click CLI); the
last two end in the first, so every caller agrees on every value, and so on the cache key.
Stdlib only.
"""

from __future__ import annotations

from eksauth.errors import UsageError

TYPE_CHECKING = False  # typing's own flag costs the cache-hit path an import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

    from eksauth.execcred import ClusterExtension

DEFAULT_SESSION_NAME = "EKSGetTokenAuth"  # aws-cli's AssumeRole session name
# --sts-url's variable, for the CLI, the fast path and the library alike.
STS_URL_VARIABLE = "EKSAUTH_STS_URL"
ROLE_DURATION_RANGE = (900, 43200)  # what AssumeRole accepts for DurationSeconds

# Patterns, matched by `_matches` with `re` imported on first use: most token requests carry no
# role options, and `re` alone would cost a cache hit a third of its time.
_ROLE_ARN = r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"
_SESSION_NAME = r"^[\w+=,.@-]{2,64}$"
_EXTERNAL_ID = r"^[\w+=,.@:/-]{2,1224}$"
_STS_URL = r"^https?://[A-Za-z0-9.\-]+(?::\d{1,5})?/?$"


class TokenRequest:
    """Everything that can change which token is signed, or whose identity it carries.

    A plain class rather than a dataclass or NamedTuple: those imports alone would cost the
    cache-hit path more than the rest of eksauth. `fields()` is what the cache key hashes.
    """

    __slots__ = (
        "by_id",
        "cluster",
        "external_id",
        "forward_session_name",
        "profile",
        "region",
        "role_arn",
        "role_duration",
        "session_name",
        "sts_url",
    )

    def __init__(
        self,
        cluster: str,
        *,
        region: str | None = None,  # --region only; the environment is resolved later
        profile: str | None = None,  # --profile only; AWS_PROFILE is in the environment
        role_arn: str | None = None,
        session_name: str | None = None,  # None: the default, or forwarded
        external_id: str | None = None,
        role_duration: int | None = None,
        forward_session_name: bool = False,
        sts_url: str | None = None,  # --sts-url or EKSAUTH_STS_URL
        by_id: bool = False,  # named by --cluster-id (Outposts) rather than --cluster-name
    ) -> None:
        self.by_id = by_id
        self.cluster = cluster
        self.region = region
        self.profile = profile
        self.role_arn = role_arn
        self.session_name = session_name
        self.external_id = external_id
        self.role_duration = role_duration
        self.forward_session_name = forward_session_name
        self.sts_url = sts_url

    def fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenRequest) and self.fields() == other.fields()

    def __hash__(self) -> int:
        return hash(self.fields())

    def argv(self) -> list[str]:
        """The `eksauth token` arguments that make this request, in the order
        update-kubeconfig and migrate-kubeconfig write them."""
        args = ["token", "--cluster-id" if self.by_id else "--cluster-name", self.cluster]
        for option, value in (
            ("--region", self.region),
            ("--profile", self.profile),
            ("--role-arn", self.role_arn),
            ("--role-session-name", self.session_name),
            ("--external-id", self.external_id),
            ("--role-duration", None if self.role_duration is None else str(self.role_duration)),
            ("--sts-url", self.sts_url),
        ):
            if value is not None:
                args += [option, value]
        if self.forward_session_name:
            args.append("--forward-session-name")
        return args

    def __repr__(self) -> str:
        pairs = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"TokenRequest({pairs})"


def validated_request(
    *,
    cluster_name: str | None,
    cluster_id: str | None,
    region: str | None = None,
    profile: str | None = None,
    role_arn: str | None = None,
    session_name: str | None = None,
    external_id: str | None = None,
    role_duration: int | None = None,
    forward_session_name: bool = False,
    sts_url: str | None = None,
) -> TokenRequest:
    """Validate the options of `token` and return the request; `UsageError` says what is wrong."""
    cluster = one_cluster(cluster_name, cluster_id)
    if profile is not None and not profile.strip():
        raise UsageError("--profile must not be empty")
    if role_arn is not None and not _matches(_ROLE_ARN, role_arn):
        raise UsageError(
            f"--role-arn {role_arn!r} is not an IAM role ARN",
            hint="expected arn:aws:iam::123456789012:role/NAME",
        )
    if session_name is not None and not _matches(_SESSION_NAME, session_name):
        raise UsageError(
            f"--role-session-name {session_name!r} is not valid",
            hint="2 to 64 characters of letters, digits and +=,.@_-",
        )
    if forward_session_name and session_name is not None:
        raise UsageError("--forward-session-name and --role-session-name exclude each other")
    if external_id is not None and not _matches(_EXTERNAL_ID, external_id):
        raise UsageError(
            "--external-id is not valid",
            hint="2 to 1224 characters of letters, digits and +=,.@:/_-",
        )
    low, high = ROLE_DURATION_RANGE
    if role_duration is not None and not low <= role_duration <= high:
        raise UsageError(f"--role-duration must be between {low} and {high} seconds")
    if role_arn is None and (
        session_name is not None
        or external_id is not None
        or role_duration is not None
        or forward_session_name
    ):
        raise UsageError("the role options need --role-arn")
    return TokenRequest(
        cluster=cluster,
        region=region or None,
        profile=profile,
        role_arn=role_arn,
        session_name=session_name,
        external_id=external_id,
        role_duration=role_duration,
        forward_session_name=forward_session_name,
        sts_url=check_sts_url(sts_url) if sts_url is not None else None,
        by_id=cluster_name is None,
    )


# The option names `validated_request` takes: click's destinations, the fast path's and the
# kubeconfig migration's all use them, so one call builds the request from any of them.
REQUEST_OPTIONS = (
    "cluster_name",
    "cluster_id",
    "region",
    "profile",
    "role_arn",
    "session_name",
    "external_id",
    "role_duration",
    "forward_session_name",
    "sts_url",
)


def request_from_values(values: Mapping[str, object]) -> TokenRequest:
    """`validated_request` from a mapping of option values (other keys are ignored).

    Text values are taken as given ("" for --region is no region); --role-duration may be text.
    """
    chosen: dict[str, Any] = {name: values.get(name) for name in REQUEST_OPTIONS}
    duration = chosen["role_duration"]
    if isinstance(duration, str):
        if not duration.isascii() or not duration.isdigit() or len(duration) > 6:
            raise UsageError(f"--role-duration {duration!r} is not a whole number of seconds")
        chosen["role_duration"] = int(duration)
    chosen["forward_session_name"] = bool(chosen["forward_session_name"])
    chosen["sts_url"] = chosen["sts_url"] or None
    return validated_request(**chosen)


def check_sts_url(url: str) -> str:
    """--sts-url / EKSAUTH_STS_URL: an http(s) base URL (host, optional port); without the
    trailing slash. The one check for `token`, `verify` and the kubeconfig writers."""
    if not _matches(_STS_URL, url):
        raise UsageError(
            f"--sts-url {url!r} is not a base URL",
            hint="expected e.g. https://sts.example.internal or http://127.0.0.1:8080",
        )
    return url.rstrip("/")


def _matches(pattern: str, value: str) -> bool:
    import re

    # ASCII: IAM's own patterns mean [A-Za-z0-9_] by \w, not every Unicode letter.
    return re.fullmatch(pattern, value, re.ASCII) is not None


def one_cluster(cluster_name: str | None, cluster_id: str | None) -> str:
    """The x-k8s-aws-id value from exactly one of --cluster-name / --cluster-id, checked."""
    if (cluster_name is None) == (cluster_id is None):
        raise UsageError(
            "give exactly one of --cluster-name or --cluster-id",
            hint="--cluster-name for EKS clusters; --cluster-id for Outposts local clusters",
        )
    cluster = cluster_name if cluster_name is not None else cluster_id or ""
    check_cluster(cluster)
    return cluster


# EKS's own rule for cluster names (CreateCluster): they also name kubeconfig entries and files
# (the kubelet CA), so nothing else may become a path.
_CLUSTER_NAME = r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}"


def check_cluster_name(name: str) -> str:
    """A cluster name that becomes an entry or file name: EKS's rule, else `UsageError`."""
    if not _matches(_CLUSTER_NAME, name):
        raise UsageError(
            f"{name!r} is not an EKS cluster name",
            hint="1 to 100 letters, digits, '-' and '_', starting with a letter or digit",
        )
    return name


def check_cluster(cluster: str) -> None:
    """The cluster value becomes an HTTP header: it must be non-empty and one clean line.

    Nothing else is restricted, because aws-iam-authenticator cluster ids are free-form.
    """
    if not cluster:
        raise UsageError("the cluster name or id must not be empty")
    if not _is_text(cluster):
        raise UsageError(
            f"the cluster name or id {cluster!r} is not valid UTF-8 text",
            hint="it is sent as the x-k8s-aws-id header; check the kubeconfig's encoding",
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cluster):
        raise UsageError(
            f"the cluster name or id {cluster!r} contains whitespace or control characters",
            hint="it is sent as the x-k8s-aws-id header and must be a single token",
        )


def _is_text(value: str) -> bool:
    """Whether `value` encodes as UTF-8: a byte that is not UTF-8 in argv or the environment
    (KUBERNETES_EXEC_INFO) reaches Python as a lone surrogate, which no header can carry."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- the cluster's exec extension (provideClusterInfo) -------------------------------------------

# The values `-v` accounts for, by option name, with their command-line spelling.
_SOURCED = (
    ("cluster_name", "--cluster-name"),
    ("cluster_id", "--cluster-id"),
    ("region", "--region"),
    ("profile", "--profile"),
    ("role_arn", "--role-arn"),
    ("session_name", "--role-session-name"),
)
_FROM_ENVIRONMENT = {
    "region": "region: none given; AWS_REGION, AWS_DEFAULT_REGION or the profile decide",
    "profile": "profile: none given; AWS_PROFILE or the default profile decides",
}


def request_with_extension(
    values: Mapping[str, object],
    env: Mapping[str, str],
    *,
    log: Callable[[str], None] | None = None,
    check_region: bool = False,
) -> TokenRequest:
    """The request of a `token` command line, completed from the cluster's exec extension.

    Without --cluster-name/--cluster-id, the cluster (and region, profile, roleArn,
    roleSessionName) come from the `client.authentication.k8s.io/exec` extension kubectl
    passes with `provideClusterInfo: true`. Each value: the command line wins over the
    extension, which wins over the environment. `log` (-v) hears where each value came from.
    `check_region` also checks an extension's region name (the CLI does; the fast path leaves
    it to the miss, where the CLI reports it).
    """
    from eksauth.execcred import read_cluster_extension

    if values.get("cluster_name") is not None or values.get("cluster_id") is not None:
        return request_from_values(values)  # the extension is not read: nothing to account for
    extension = read_cluster_extension(env)
    if extension is None or not (
        "cluster_name" in extension.values or "cluster_id" in extension.values
    ):
        raise UsageError(
            "no cluster: pass --cluster-name, or set provideClusterInfo: true in the user's exec"
            " and give the cluster a client.authentication.k8s.io/exec extension with clusterName",
            hint="see `eksauth update-kubeconfig --shared-user`",
        )
    merged = dict(values)
    taken = []
    for option, value in extension.values.items():
        if option == "session_name" and values.get("forward_session_name"):
            continue  # --forward-session-name is the command line's choice of session name
        if values.get(option) is None:
            merged[option] = value
            taken.append(option)
    _check_extension(extension, merged, taken, check_region)
    request = request_from_values(merged)
    if log is not None:
        log_sources(log, merged, dict.fromkeys(taken, "the kubeconfig extension"))
        if extension.unknown:
            names = ", ".join(extension.unknown)
            log(f"ignoring keys of the kubeconfig extension eksauth does not read: {names}")
    return request


def _check_extension(
    extension: ClusterExtension, merged: Mapping[str, object], taken: list[str], region: bool
) -> None:
    """The checks of `validated_request`, with errors that name the extension as the source."""
    for option in taken:
        key, value = extension.key_of(option), str(merged[option])
        if option in ("cluster_name", "cluster_id"):
            try:
                check_cluster(value)
            except UsageError as exc:
                problem = exc.message.replace("the cluster name or id ", "", 1)
                raise extension.error(key, problem) from exc
        elif option == "role_arn" and not _matches(_ROLE_ARN, value):
            raise extension.error(key, f"{value!r} is not an IAM role ARN")
        elif option == "session_name" and not _matches(_SESSION_NAME, value):
            raise extension.error(key, f"{value!r} is not a valid session name")
        elif option == "region" and region:
            from eksauth.errors import InvalidRegionError
            from eksauth.token.endpoints import sts_endpoint

            try:
                sts_endpoint(value)
            except InvalidRegionError as exc:
                raise extension.error(key, f"{value!r} is not a region name") from exc
    if "session_name" in taken and merged.get("role_arn") is None:
        raise extension.error("roleSessionName", "is set without roleArn")


def log_sources(
    log: Callable[[str], None], values: Mapping[str, object], origins: Mapping[str, str]
) -> None:
    """Where each value came from, for -v: `origins` names it, else the command line did."""
    for option, flag in _SOURCED:
        value = values.get(option)
        if value is None:
            if option in _FROM_ENVIRONMENT:
                log(_FROM_ENVIRONMENT[option])
            continue
        where = origins.get(option) or f"{flag} on the command line"
        log(f"{option.replace('_', ' ')}: {value} (from {where})")
