"""The sso-oidc client of IAM Identity Center sign-in: made, called, and asked where it sends.

Part of the AWS boundary (it imports botocore), on the sso side because only the sign-in uses it:
`sso/session.py` registers the client, `sso/flows.py` runs the two flows, `sso/signin.py` and the
`sso login` command make the client. Every call goes through `call`, which maps botocore's errors to
one `SsoError` line. Imported only off the cache-hit path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, cast

from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from eksauth.aws.boundary import API_CONFIG, Session
from eksauth.errors import SsoError

if TYPE_CHECKING:
    from mypy_boto3_sso_oidc import SSOOIDCClient


def client(made: Session, region_name: str) -> SSOOIDCClient:
    """An unsigned ``sso-oidc`` client (there are no credentials before a sign-in).

    The bounded timeouts and retries of every client; AWS_ENDPOINT_URL_SSO_OIDC honoured.
    """
    config = API_CONFIG.merge(Config(signature_version=UNSIGNED))
    made_client = made.create_client("sso-oidc", region_name=region_name, config=config)
    return cast("SSOOIDCClient", made_client)  # the stubs' name for what botocore makes


def call(operation: Callable[[], Mapping[str, object]], what: str) -> dict[str, Any]:
    """Run one sso-oidc call; a refusal becomes SsoError with the error code in `code`
    (the device-code loop tells AuthorizationPendingException and SlowDownException apart)."""
    try:
        return dict(operation())
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        raise SsoError(f"IAM Identity Center refused {what} ({code})", code=code) from exc
    except BotoCoreError as exc:
        raise SsoError(
            f"cannot reach IAM Identity Center: {exc}",
            hint="check the network, proxy settings and AWS_ENDPOINT_URL_SSO_OIDC",
        ) from exc
    except (AttributeError, KeyError, TypeError, ValueError):
        # botocore's parser on a body that is JSON but not an object (`[]`, `null`...).
        raise SsoError(
            f"IAM Identity Center answered {what} with something that cannot be read",
            hint="try again; check AWS_ENDPOINT_URL_SSO_OIDC if it is set",
        ) from None  # no cause: its text may quote the body, which holds tokens


def endpoint(oidc: SSOOIDCClient) -> str:
    """``scheme://host[:port]`` the client sends requests to (the sign-in page lives there too).

    Asked of botocore's own endpoint resolution (rulesets, FIPS, AWS_ENDPOINT_URL_SSO_OIDC) by
    stopping a RegisterClient call in `before-call`, before anything is sent.
    """
    seen: list[str] = []

    def stop(params: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        seen.append(str(params["url"]))
        return AWSResponse(str(params["url"]), 200, HTTPHeaders(), None), {}

    events = oidc.meta.events
    # botocore takes what a before-call handler returns as the response; the stubs say None.
    events.register_first(
        "before-call.sso-oidc.RegisterClient",
        stop,  # type: ignore[arg-type]
        unique_id="eksauth-probe",
    )
    try:
        oidc.register_client(clientName="eksauth-probe", clientType="public")
    finally:
        events.unregister("before-call.sso-oidc.RegisterClient", unique_id="eksauth-probe")
    scheme, _, rest = seen[0].partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
