"""REDIS_URL's Sentinel form: what the settings make of it, and how it is masked."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.redis import celery_url_of, default_cache, redis_sentinel_config
from redis_fallback.masking import mask_text

URL = "redis+sentinel://:s3cr%40t@sa.internal:26379,sb.internal:26380,10.1.2.3:26381/mymaster/2"


def test_the_sentinel_url_names_the_sentinels_the_master_and_the_database():
    assert redis_sentinel_config(URL) == {
        "sentinels": [("sa.internal", 26379), ("sb.internal", 26380), ("10.1.2.3", 26381)],
        "master_name": "mymaster",
        "db": 2,
        "username": None,
        "password": "s3cr@t",
    }
    assert redis_sentinel_config("redis://127.0.0.1:6379/0") is None


def test_the_broker_and_the_cache_follow_it():
    sentinel = redis_sentinel_config(URL)
    assert celery_url_of(URL, sentinel) == (
        "sentinel://:s3cr%40t@sa.internal:26379/2;sentinel://:s3cr%40t@sb.internal:26380/2;"
        "sentinel://:s3cr%40t@10.1.2.3:26381/2"
    )
    cache = default_cache(URL, sentinel, connect_timeout=0.25, timeout=0.25)
    assert cache["LOCATION"] == "redis://:s3cr%40t@mymaster/2"
    assert cache["OPTIONS"]["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert cache["OPTIONS"]["SENTINELS"] == sentinel["sentinels"]
    plain = "redis://127.0.0.1:6379/0"
    assert celery_url_of(plain, None) == plain
    assert default_cache(plain, None, connect_timeout=0.25, timeout=0.25)["LOCATION"] == plain


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:pw@sa.internal/mymaster/0",  # no port
        "redis+sentinel://:pw@sa.internal:26379",  # no master name
        "redis+sentinel://:pw@sa.internal:26379/mymaster/x",  # db not a number
    ],
)
def test_a_malformed_sentinel_url_refuses_to_start_without_quoting_it(url):
    with pytest.raises(ImproperlyConfigured) as caught:
        redis_sentinel_config(url)
    assert "pw" not in str(caught.value)
    assert "sa.internal" not in str(caught.value)


def test_both_forms_are_masked_host_by_host():
    sentinel = redis_sentinel_config(URL)
    text = f"failed: {URL} and {celery_url_of(URL, sentinel)}"
    assert mask_text(text) == (
        "failed: redis+sentinel://***@***:26379,***:26380,***:26381/mymaster/2 and "
        "sentinel://***@***:26379/2;sentinel://***@***:26380/2;sentinel://***@***:26381/2"
    )
