"""Acceptance 5: a wrong password counts as unavailable and is never reported or logged."""

from __future__ import annotations

import pytest
from django.test import override_settings

from devtools.servers import RedisServer
from redis_fallback import LuaScript, connection_status, get_redis, ping
from redis_fallback.testing import reset_for_tests

from .conftest import fallback_records, make_cache

RIGHT = "right-horse-battery-7"
WRONG = "wrong-staple-9"


@pytest.fixture(scope="module")
def secured_redis():
    server = RedisServer(password=RIGHT).start()
    yield server
    server.stop()


def _assert_no_secret(text: str) -> None:
    for secret in (WRONG, RIGHT, "127.0.0.1"):
        assert secret not in text


def test_wrong_password_is_unavailable_and_masked(secured_redis, caplog):
    bad_url = f"redis://:{WRONG}@127.0.0.1:{secured_redis.port}/0"
    with override_settings(REDIS_URL=bad_url):
        assert get_redis().get("k") is None
        assert ping() is False
        assert LuaScript("return 1")() == -1
        status = connection_status()
        assert status["using_fallback"] is True
        assert status["client_connected"] is False
        assert status["last_error"].startswith("AuthenticationError")
        _assert_no_secret(status["last_error"])

        reset_for_tests()
        cache = make_cache(bad_url, KEY_PREFIX="auth-test")
        cache.set("k", "v")  # wrong password: served from the fallback
        assert cache.get("k") == "v"
        status = connection_status()
        assert status["cache_connected"] is False
        _assert_no_secret(status["last_error"])

    records = fallback_records(caplog)
    assert records, "the transition was logged"
    for record in records:
        _assert_no_secret(record.getMessage())
    assert WRONG not in caplog.text and RIGHT not in caplog.text


def test_missing_password_is_unavailable(secured_redis):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{secured_redis.port}/0"):
        assert get_redis().set("k", 1) is False
        assert connection_status()["last_error"].startswith("AuthenticationError")


def test_right_password_works(secured_redis):
    with override_settings(REDIS_URL=secured_redis.url):
        assert ping() is True
        assert get_redis().set("k", 1) is True
        assert get_redis().get("k") == b"1"
        assert connection_status()["breaker_state"] == "closed"
