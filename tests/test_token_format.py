"""Encoding and decoding the `k8s-aws-v1.` token."""

from __future__ import annotations

import pytest

from eksauth import token
from eksauth.errors import TokenFormatError

# The token and URL printed in the seed article (shared/seeds/000…, Shell 1 and Shell 2).
SEED_TOKEN = (
    "k8s-aws-v1.aHR0cHM6Ly9zdHMuYXAtbm9ydGhlYXN0LTIuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklk"
    "ZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNSZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVk"
    "ZW50aWFsPUFLSUFSNVFPRVpQVTRRWFg1SDRGJTJGMjAyMjA0MjYlMkZhcC1ub3J0aGVhc3QtMiUyRnN0cyUyRmF3czRf"
    "cmVxdWVzdCZYLUFtei1EYXRlPTIwMjIwNDI2VDE3MzI0MlomWC1BbXotRXhwaXJlcz02MCZYLUFtei1TaWduZWRIZWFk"
    "ZXJzPWhvc3QlM0J4LWs4cy1hd3MtaWQmWC1BbXotU2lnbmF0dXJlPTIxOGQ4MDQ5NTBlZGMxMWRlZmQ0OWMwYTFkNWZk"
    "YWNjMzI0Y2M4MzBmZDZmMDZkNTlhN2Q5NzUwMGZhM2U3Mzg"
)
SEED_URL = (
    "https://sts.ap-northeast-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAR5QOEZPU4QXX5H4F%2F20220426%2F"
    "ap-northeast-2%2Fsts%2Faws4_request&X-Amz-Date=20220426T173242Z&X-Amz-Expires=60"
    "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature="
    "218d804950edc11defd49c0a1d5fdacc324cc830fd6f06d59a7d97500fa3e738"
)


def test_seed_token_decodes_to_seed_url() -> None:
    assert token.decode(SEED_TOKEN) == SEED_URL


def test_encode_is_the_inverse_without_padding() -> None:
    assert token.encode(SEED_URL) == SEED_TOKEN
    for n in range(1, 5):
        url = "https://sts.amazonaws.com/?" + "a" * n
        encoded = token.encode(url)
        assert "=" not in encoded
        assert token.decode(encoded) == url


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
        token.decode(bad)
