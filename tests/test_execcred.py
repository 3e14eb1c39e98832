"""KUBERNETES_EXEC_INFO negotiation: every row of the table, as aws-cli answers it."""

from __future__ import annotations

import json

import pytest

from eksauth.execcred import V1, V1ALPHA1, V1BETA1, exec_credential, read_exec_info


def info(api_version: object, **spec: object) -> str:
    return json.dumps({"kind": "ExecCredential", "apiVersion": api_version, "spec": spec})


@pytest.mark.parametrize(
    ("raw", "expected", "warns"),
    [
        pytest.param(None, V1BETA1, False, id="unset"),
        pytest.param("", V1BETA1, False, id="empty"),
        pytest.param(info(V1), V1, False, id="v1"),
        pytest.param(info(V1BETA1), V1BETA1, False, id="v1beta1"),
        pytest.param(info(V1ALPHA1), V1ALPHA1, True, id="v1alpha1-deprecated"),
        pytest.param("{not json", V1BETA1, True, id="malformed"),
        pytest.param("{}", V1BETA1, True, id="empty-object"),
        pytest.param(info(1), V1BETA1, True, id="non-string"),
        pytest.param(info("client.authentication.k8s.io/v2"), V1BETA1, True, id="unknown"),
        pytest.param("[1, 2]", V1BETA1, True, id="not-an-object"),
    ],
)
def test_api_version_negotiation(raw: str | None, expected: str, warns: bool) -> None:
    env = {} if raw is None else {"KUBERNETES_EXEC_INFO": raw}
    result = read_exec_info(env)
    assert result.api_version == expected
    assert (result.warning is not None) == warns
    if result.warning:
        assert "\n" not in result.warning


def test_override_wins_silently() -> None:
    result = read_exec_info({"KUBERNETES_EXEC_INFO": "{bad"}, override=V1)
    assert (result.api_version, result.warning) == (V1, None)


@pytest.mark.parametrize(
    ("raw", "interactive"),
    [
        (info(V1, interactive=True), True),
        (info(V1, interactive=False), False),
        (info(V1), False),
        (info(V1, interactive="true"), False),
        ("{bad", False),
    ],
)
def test_interactive_flag(raw: str, interactive: bool) -> None:
    assert read_exec_info({"KUBERNETES_EXEC_INFO": raw}).interactive is interactive


def test_exec_credential_is_aws_cli_shaped() -> None:
    text = exec_credential(V1BETA1, "k8s-aws-v1.abc", "2026-11-23T10:14:00Z")
    assert text == (
        "{\n"
        '    "kind": "ExecCredential",\n'
        f'    "apiVersion": "{V1BETA1}",\n'
        '    "spec": {},\n'
        '    "status": {\n'
        '        "expirationTimestamp": "2026-11-23T10:14:00Z",\n'
        '        "token": "k8s-aws-v1.abc"\n'
        "    }\n"
        "}\n\n"
    )


@pytest.mark.parametrize(
    ("raw", "warns"),
    [
        pytest.param(info(V1), True, id="v1-named"),
        pytest.param(info(V1ALPHA1), True, id="v1alpha1-named"),
        pytest.param(info(V1BETA1), False, id="the-same"),
        pytest.param(None, False, id="unset"),
        pytest.param("{}", False, id="none-named"),
    ],
)
def test_override_that_contradicts_the_kubeconfig_warns(raw: str | None, warns: bool) -> None:
    """client-go refuses an answer in another apiVersion, without naming eksauth."""
    env = {} if raw is None else {"KUBERNETES_EXEC_INFO": raw}
    result = read_exec_info(env, override=V1BETA1)
    assert result.api_version == V1BETA1
    if warns:
        named = json.loads(str(raw))["apiVersion"]
        assert result.warning == (
            f"--api-version {V1BETA1} contradicts the kubeconfig's apiVersion {named} "
            "(KUBERNETES_EXEC_INFO), so kubectl will refuse the answer; drop --api-version "
            "from the exec args"
        )
    else:
        assert result.warning is None


@pytest.mark.usefixtures("static_keys")
def test_the_warning_is_one_line_on_a_miss_and_on_a_hit(eksauth, monkeypatch) -> None:
    monkeypatch.setenv("KUBERNETES_EXEC_INFO", info(V1, interactive=False))
    args = ("token", "--cluster-name", "demo", "--region", "eu-west-1", "--api-version", V1BETA1)
    for _ in ("miss", "hit"):
        result = eksauth(*args)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["apiVersion"] == V1BETA1
        assert result.stderr == (
            f"eksauth: warning: --api-version {V1BETA1} contradicts the kubeconfig's apiVersion "
            f"{V1} (KUBERNETES_EXEC_INFO), so kubectl will refuse the answer; drop --api-version "
            "from the exec args\n"
        )
