"""One masking policy for every text health prints, tried on real pymongo and redis-py errors;
anonymous callers see no error text at all."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import redis
from django.test import override_settings
from pymongo import MongoClient
from pymongo.errors import ServerSelectionTimeoutError

from devtools.servers import RedisServer
from health_app import probes
from redis_fallback import register_recovery_callback
from redis_fallback.masking import describe_error
from redis_fallback.testing import unregister_recovery_callback

SECRETS = ("checkin", "hunter2", "mongo-0.db.internal", "mongo-1.db.internal", "127.0.0.1", "::1")
REDIS_SECRETS = ("door-user", "s3cret-pw", "localhost", "127.0.0.1")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pymongo_error() -> ServerSelectionTimeoutError:
    """A real ServerSelectionTimeoutError: replica-set URI, credentials, names, IPv4 and IPv6."""
    port = _closed_port()
    uri = (
        "mongodb://checkin:hunter2@mongo-0.db.internal:27017,mongo-1.db.internal:27017,"
        f"127.0.0.1:{port},[::1]:{port}/?replicaSet=rs0"
    )
    client = MongoClient(uri, serverSelectionTimeoutMS=300, connectTimeoutMS=300)
    try:
        client.admin.command("ping")
    except ServerSelectionTimeoutError as error:
        return error
    finally:
        client.close()
    raise AssertionError("a MongoDB answered on a closed port")


def _assert_clean(text: str, secrets=SECRETS, *, one_line=True) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked in {text!r}"
    if one_line:  # the DEBUG log line carries a (masked) traceback, topology included
        assert "Topology Description" not in text


def test_real_pymongo_error_is_masked_by_the_one_policy(pymongo_error):
    assert "mongo-0.db.internal" in str(pymongo_error) and "::1" in str(pymongo_error)
    text = describe_error(pymongo_error)
    _assert_clean(text)
    # (pymongo lists the servers in no fixed order: which one comes first varies)
    assert text.startswith("ServerSelectionTimeoutError: ***")
    assert probes.mask_error(pymongo_error) == text  # health uses the same policy


def test_real_redis_py_errors_are_masked():
    port = _closed_port()
    url = f"redis://door-user:s3cret-pw@localhost:{port}/0"
    with pytest.raises(redis.ConnectionError) as refused:
        redis.Redis.from_url(url, socket_connect_timeout=0.3).ping()
    assert "localhost" in str(refused.value)
    text = describe_error(refused.value, url=url)
    _assert_clean(text, REDIS_SECRETS)
    assert f"***:{port}" in text
    assert probes.mask_error(refused.value) == describe_error(refused.value)

    server = RedisServer(password="right-one").start()
    try:
        bad = f"redis://door-user:s3cret-pw@127.0.0.1:{server.port}/0"
        with pytest.raises(redis.AuthenticationError) as denied:
            redis.Redis.from_url(bad, socket_timeout=1).ping()
    finally:
        server.stop()
    _assert_clean(describe_error(denied.value, url=bad), REDIS_SECRETS)
    _assert_clean(probes.mask_error(denied.value), ("s3cret-pw", "right-one"))


@override_settings(REDIS_BREAKER_RESET_SECONDS=0.3)
def test_redis_last_error_from_a_mongodb_failure_is_masked_and_hidden_from_anonymous(
    client, staff_user, redis_server, pymongo_error, caplog
):
    """A recovery callback failing on MongoDB becomes the breaker's last error: masked for staff,
    not shown at all to anonymous callers, and nothing of it in the logs."""
    caplog.set_level(logging.DEBUG)
    failures: list[int] = []

    def reseed(_client) -> None:
        failures.append(1)
        raise pymongo_error

    register_recovery_callback(reseed)
    try:
        redis_server.kill()
        client.get("/health")  # the PING fails: the breaker opens
        redis_server.start()
        deadline = time.monotonic() + 5
        while not failures and time.monotonic() < deadline:
            time.sleep(0.02)
        assert failures, "the background probe never ran the recovery callback"
        time.sleep(0.05)
        anonymous = client.get("/health")
        assert anonymous.json()["redis"]["lastError"] == "redacted"
        _assert_clean(anonymous.content.decode())
        client.force_login(staff_user)
        staff = client.get("/health").json()["redis"]["lastError"]
        assert "recovery callback" in staff and "ServerSelectionTimeoutError" in staff
        _assert_clean(staff)
        _assert_clean(caplog.text, one_line=False)
    finally:
        unregister_recovery_callback(reseed)
