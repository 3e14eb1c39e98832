"""Any input gives a value or one EksAuthError, never another exception (Hypothesis).

Token decoding and the offline checks, KUBERNETES_EXEC_INFO, cache entries as found on disk,
the aws-style argv of the fast path, and the whole CLI on argv built from its own words.
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eksauth import inventory, lookup, tokenargs
from eksauth.cache import Cache
from eksauth.errors import EksAuthError
from eksauth.execcred import read_exec_info
from eksauth.token import bearer as token
from tests.conftest import FROZEN, SEED_SIGNED, SEED_URL

FIXTURES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text made from the pieces a token's URL is made of, so examples get past the first checks.
URL_PIECES = st.sampled_from(
    [
        "https://", "http://", "sts.amazonaws.com", "sts.eu-west-1.amazonaws.com", "[::1", "]",
        "\uff03", "/", "?", "&", "=", "%", "%2F", ";", "#", "@", ":", "Action=GetCallerIdentity",
        "X-Amz-Expires=", "X-Amz-Date=", "20220426T173242Z",
        "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
        "X-Amz-Credential=AKIA%2F2022%2Fus-east-1%2Fsts%2Faws4_request", "60", "\u0666", "9" * 30,
        " ", "\x00", "\udcff", "\u00e9",
    ]
)  # fmt: skip
URLS = st.one_of(st.lists(URL_PIECES, max_size=14).map("".join), st.text(max_size=200))


def _token(url: str) -> str:
    raw = url.encode("utf-8", "surrogatepass")
    return token.PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@given(URLS)
def test_offline_checks_answer_or_refuse(url: str) -> None:
    for check in (lambda: token.check_offline(url, SEED_SIGNED), lambda: token.decode(url)):
        with contextlib.suppress(EksAuthError):
            check()


@given(st.one_of(URLS.map(_token), st.text(max_size=300)))
def test_token_checks_answer_or_refuse(bearer: str) -> None:
    with contextlib.suppress(EksAuthError):
        token.check_token(bearer, SEED_SIGNED)


@given(st.text(alphabet="0123456789+-\u0660\u0666\uff10", max_size=40))
def test_expires_is_an_ascii_integer_or_nothing(value: str) -> None:
    presigned = token.parse_presigned(
        SEED_URL.replace("X-Amz-Expires=60", f"X-Amz-Expires={value}")
    )
    expires = presigned.expires
    assert expires is None or (value.lstrip("+-").isascii() and abs(expires) < 10**19)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _json_text(value: object) -> str:
    import json

    return json.dumps(value)


@given(
    st.one_of(
        st.text(max_size=200),
        JSON.map(_json_text),
        st.fixed_dictionaries(
            {"apiVersion": st.text(max_size=40), "spec": st.dictionaries(st.text(), JSON)}
        ).map(_json_text),
    ),
    st.one_of(st.none(), st.text(max_size=40)),
)
def test_exec_info_always_answers(raw: str, override: str | None) -> None:
    info = read_exec_info({"KUBERNETES_EXEC_INFO": raw}, override)
    assert isinstance(info.api_version, str)
    assert isinstance(info.interactive, bool)


ENTRY_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "format": st.one_of(st.just(1), JSON),
        "token": st.one_of(st.just("k8s-aws-v1.x"), JSON),
        "expiration": st.one_of(st.just("2026-11-23T10:14:00Z"), JSON),
        "expires_at": st.one_of(st.just(FROZEN + 840), JSON),
        "signed_at": st.one_of(st.just(FROZEN), JSON),
        "cluster": JSON,
    },
)
RAW_ENTRIES = st.one_of(
    ENTRY_FIELDS.map(_json_text).map(str.encode),
    st.binary(max_size=200),
    st.sampled_from([b'{"format": 1, "expires_at": NaN}', b"[" * 5000, b'{"format": true}']),
)


@FIXTURES
@given(RAW_ENTRIES)
def test_cache_entries_are_a_value_or_a_miss(tmp_path: Path, raw: bytes) -> None:
    folder = tmp_path / "entries"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{lookup.TOKEN_PREFIX}k.json"
    path.write_bytes(raw)
    path.chmod(0o600)
    cache = Cache(str(folder), warn=lambda _: None)
    hit = lookup.cached_token(cache, "k", FROZEN)
    assert hit is None or (hit.token.startswith("k8s-aws-v1.") and isinstance(hit.expiration, str))
    for row in inventory.list_cache(cache, FROZEN):
        assert isinstance(row["seconds_left"], int)


WORDS = st.sampled_from(
    [
        *tokenargs.TOKEN_VALUES, *tokenargs.TOKEN_FLAGS, "token", "get-token", "eks", "--help",
        "json", "token", "demo", "eu-west-1", "--no-cache", "--refresh", "=", "--region=",
        "client.authentication.k8s.io/v1", "-", "--", "\n", "\udcff", "x" * 300,
    ]
)  # fmt: skip
ARGV = st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=8)


@given(ARGV)
def test_the_fast_path_parser_answers_or_declines(argv: list[str]) -> None:
    values = tokenargs.parse(argv, {})
    assert values is None or isinstance(values, dict)


@FIXTURES
@given(ARGV)
def test_the_cli_answers_with_a_status(
    eksauth, static_keys, monkeypatch, tmp_path: Path, argv: list[str]
) -> None:
    """Every argv ends in an exit status and at most one error line: never a traceback."""
    del static_keys
    monkeypatch.setenv("EKSAUTH_CACHE_DIR", str(tmp_path / "cache"))
    result = eksauth(*argv)
    assert result.exit_code in (0, 1, 2), result
    errors = [line for line in result.stderr.splitlines() if line.startswith("eksauth: error:")]
    assert len(errors) <= 1
    assert "Traceback" not in result.stderr


CLUSTER_CONFIG = st.fixed_dictionaries(
    {},
    optional={
        "clusterName": st.one_of(st.sampled_from(["demo", "a\udcffb"]), st.text(max_size=12), JSON),
        "clusterId": JSON,
        "region": st.one_of(st.just("eu-west-1"), st.text(max_size=12), JSON),
        "profile": st.one_of(st.text(max_size=8), JSON),
        "roleArn": JSON,
        "roleSessionName": st.one_of(st.text(max_size=8), JSON),
    },
)
EXEC_INFO_PAYLOADS = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(
            ["client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1"]
        ),
        "kind": st.just("ExecCredential"),
        "spec": st.fixed_dictionaries(
            {"cluster": st.fixed_dictionaries({"server": JSON, "config": CLUSTER_CONFIG})},
            optional={"interactive": JSON},
        ),
    }
).map(_json_text)


@FIXTURES
@given(EXEC_INFO_PAYLOADS)
def test_exec_info_payloads_give_a_token_or_one_error(
    eksauth, static_keys, monkeypatch, payload: str
) -> None:
    """`eksauth token` with only KUBERNETES_EXEC_INFO (the shared user): a token, or one line."""
    del static_keys
    monkeypatch.setenv("KUBERNETES_EXEC_INFO", payload)
    result = eksauth("token", "--no-cache")
    assert "Traceback" not in result.stderr
    if result.exit_code == 0:
        assert result.stdout.count("k8s-aws-v1.") == 1
    else:
        assert (result.exit_code in (1, 2), result.stdout) == (True, ""), result
        errors = [line for line in result.stderr.splitlines() if line.startswith("eksauth: ")]
        assert [line.startswith("eksauth: error: ") for line in errors][-1:] == [True], result
        assert len(errors) - sum(line.startswith("eksauth: warning: ") for line in errors) == 1


OIDC_OPERATIONS = st.sampled_from(["RegisterClient", "StartDeviceAuthorization", "CreateToken"])


@FIXTURES
@given(st.dictionaries(OIDC_OPERATIONS, JSON, min_size=1))
def test_sso_oidc_answers_give_a_token_or_one_error(browser_log, center, answers) -> None:
    """Any JSON an SSO OIDC endpoint answers (status 200) signs in or is one SsoError."""
    import time

    import botocore.session

    from eksauth.aws import ssooidc
    from eksauth.sso import session as sso

    del browser_log
    center.answers, center.pending_polls = answers, 0
    session = botocore.session.Session(profile="dev")
    config = sso.resolve_config(session.full_config, profile="dev")
    with contextlib.suppress(EksAuthError):
        path = sso.login(
            ssooidc.client(session, config.region),
            config,
            now=time.time(),
            say=lambda _: None,
            cache_dir=sso.default_cache_dir(os.environ),
            use_device_code=True,
            timeout=2.0,
            sleep=lambda _: None,
        )
        assert sso.read_json(path) is not None
