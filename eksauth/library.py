"""The library API: `eksauth.get_token(...)` for Python programs (Airflow hooks, the kubernetes
client, scripts), with the CLI's cache and locking.

Reached through `eksauth.get_token` and `eksauth.Token`, which the package loads lazily, so the
cache-hit path's `import eksauth` stays free of this module and what it imports.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

_log = logging.getLogger("eksauth")


@dataclass(frozen=True)
class Token:
    """A bearer token for an EKS cluster and the instant it stops being served (UTC, aware).

    `expiration` is the ExecCredential's expirationTimestamp: refresh before it; `get_token`
    returns a cached token only while at least a minute of it remains.
    """

    token: str
    expiration: datetime

    def __repr__(self) -> str:  # the token is a credential: never in logs or tracebacks
        return f"Token(token='k8s-aws-v1.…', expiration={self.expiration.isoformat()})"


def get_token(
    cluster_name: str | None = None,
    *,
    cluster_id: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    role_arn: str | None = None,
    role_session_name: str | None = None,
    external_id: str | None = None,
    cache: bool = True,
) -> Token:
    """A token for `cluster_name` (or `cluster_id`, Outposts local clusters), as `eksauth token`
    signs it: from the cache while fresh, else signed under the cache entry's lock and stored.

    Never prompts (an MFA profile raises instead). Raises `eksauth.UsageError` for bad
    arguments and another `eksauth.EksAuthError` (message and `.hint`) for everything else.
    """
    from eksauth import orchestrator
    from eksauth.cache import Cache, resolve_cache_dir
    from eksauth.request import STS_URL_VARIABLE, validated_request

    env = os.environ
    request = validated_request(
        cluster_name=cluster_name,
        cluster_id=cluster_id,
        region=region,
        profile=profile,
        role_arn=role_arn,
        session_name=role_session_name,
        external_id=external_id,
        sts_url=env.get(STS_URL_VARIABLE) or None,  # as the CLI: same token, same cache entry
    )
    issued = orchestrator.get_token(
        request,
        env=env,
        now=time.time(),
        cache=Cache(resolve_cache_dir(None, env), _log.warning),
        use_cache=cache,
        interactive=False,
        log=_log.debug,
    )
    expiration = datetime.strptime(issued.expiration, "%Y-%m-%dT%H:%M:%SZ")
    return Token(issued.token, expiration.replace(tzinfo=timezone.utc))
