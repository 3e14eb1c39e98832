"""Encoding and decoding the `k8s-aws-v1.` token."""

from __future__ import annotations

import pytest

from eksauth.errors import TokenFormatError
from eksauth.token import bearer
from tests.conftest import SEED_TOKEN, SEED_URL


def test_seed_token_decodes_to_seed_url() -> None:
    assert bearer.decode(SEED_TOKEN) == SEED_URL


def test_encode_is_the_inverse_without_padding() -> None:
    assert bearer.encode(SEED_URL) == SEED_TOKEN
    for n in range(1, 5):
        url = "https://sts.amazonaws.com/?" + "a" * n
        encoded = bearer.encode(url)
        assert "=" not in encoded
        assert bearer.decode(encoded) == url


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("aHR0cHM6Ly9zdHM", "does not start with"),
        ("k8s-aws-v2.aHR0cHM6Ly9zdHM", "does not start with"),
        ("k8s-aws-v1.", "nothing after"),
        ("k8s-aws-v1.aHR0cHM6Ly9zdHM=", "padding"),
        ("k8s-aws-v1.aHR0c+HM6Ly9zdHM", "not valid base64url"),
        ("k8s-aws-v1.a", "not valid base64url"),
        ("k8s-aws-v1.aGVsbG8gd29ybGQ", "not a URL"),
        ("k8s-aws-v1.__8", "UTF-8"),
    ],
)
def test_decode_names_what_is_wrong(bad: str, reason: str) -> None:
    with pytest.raises(TokenFormatError, match=reason):
        bearer.decode(bad)
