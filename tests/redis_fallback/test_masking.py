"""Masking of URLs and error messages (pure unit tests)."""

import pytest
import redis

from redis_fallback.masking import describe_error, mask_text, mask_url


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:s3cret@cache.internal:6379/0", "redis://***@***:6379/0"),
        ("redis://app:s3cret@10.0.0.7:6380/2", "redis://***@***:6380/2"),
        ("rediss://default:pw@redis.example.com/1", "rediss://***@***/1"),
        ("redis://127.0.0.1:6379/0", "redis://***:6379/0"),
        ("redis://localhost:6379/0?password=s3cret", "redis://***:6379/0?***"),
        ("unix:///run/redis.sock?db=0", "unix:///run/redis.sock?***"),
        ("not a url", "***"),
    ],
)
def test_mask_url(url, masked):
    assert mask_url(url) == masked


def test_mask_text_masks_urls_secrets_host_and_ip_addresses():
    url = "redis://app:hunter2@cache.internal:6379/0"
    text = (
        "cannot reach redis://app:hunter2@cache.internal:6379/0: user app, password hunter2 "
        "refused by cache.internal (10.1.2.3) and [::1]"
    )
    masked = mask_text(text, url=url)
    for secret in ("hunter2", "cache.internal", "10.1.2.3", "::1", "app:"):
        assert secret not in masked
    assert "redis://***@***:6379/0" in masked


def test_mask_text_handles_url_encoded_passwords():
    masked = mask_text("auth p@ss:w/rd failed", url="redis://:p%40ss%3Aw%2Frd@h:1/0")
    assert "p@ss" not in masked


def test_describe_error_names_the_type_and_masks_the_host():
    error = redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    assert describe_error(error, url="redis://127.0.0.1:6379/0") == (
        "ConnectionError: Error 111 connecting to ***:6379. Connection refused."
    )
    assert describe_error(redis.TimeoutError()) == "TimeoutError"
