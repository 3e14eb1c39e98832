"""jsonlite answers exactly as the stdlib json does, on the inputs the hit path meets."""

from __future__ import annotations

import json

import pytest

from eksauth import jsonlite
from eksauth.execcred import exec_credential

DOCUMENTS = [
    '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{}}',
    ' \n{"spec": {"interactive": true, "cluster": {"server": "https://x"}}}\t\r\n',
    '{"format": 1, "expires_at": 1795428840, "ratio": 1.5e3, "neg": -2, "none": null}',
    '["\\u00e9", "\\ud83d\\ude00", "tab\\there", "quote\\"", false]',
    '"just a string"',
    "42",
    '{"dup": 1, "dup": 2}',
]
BROKEN = ["", "   ", "{", '{"a": 1} x', '{"a": 1}{}', "{'a': 1}", '{"a": tru}', "[1,]", '"\x01"']


@pytest.mark.parametrize("text", DOCUMENTS)
def test_loads_matches_json(text: str) -> None:
    expected = json.loads(text)
    got = jsonlite.loads(text)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("text", BROKEN)
def test_loads_rejects_what_json_rejects(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- json's own error is a ValueError
        json.loads(text)
    with pytest.raises(ValueError):  # noqa: PT011
        jsonlite.loads(text)


@pytest.mark.parametrize(
    "text", ["NaN", "-Infinity", '{"expires_at": Infinity}', "[" * 100_000 + "]" * 100_000]
)
def test_loads_is_stricter_than_json(text: str) -> None:
    """Not JSON (Go refuses NaN/Infinity), or nested past the recursion limit: ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011
        jsonlite.loads(text)


STRINGS = ["plain", 'quo"te', "back\\slash", "new\nline", "\x00\x1f", "é ü 😀", "\u2028", ""]


@pytest.mark.parametrize("text", STRINGS)
def test_quote_matches_json(text: str) -> None:
    assert jsonlite.quote(text) == json.dumps(text, ensure_ascii=False)


@pytest.mark.parametrize("text", STRINGS)
def test_exec_credential_matches_json_dumps(text: str) -> None:
    document = {
        "kind": "ExecCredential",
        "apiVersion": text,
        "spec": {},
        "status": {"expirationTimestamp": text + "Z", "token": "k8s-aws-v1." + text},
    }
    expected = json.dumps(document, indent=4, ensure_ascii=False) + "\n\n"
    assert exec_credential(text, "k8s-aws-v1." + text, text + "Z") == expected
