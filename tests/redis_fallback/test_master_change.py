"""Unit tests of the restart and failover detection (``redis_fallback.restarts.on_connect``).

A connection here is a stand-in with redis-py's attributes (host, port, the Sentinel pool's
``service_name`` and ``is_master``) answering INFO with a run_id: what is tested is the
bookkeeping, the real failover is ``test_sentinel_failover.py``.
"""

from __future__ import annotations

import pytest
from redis import exceptions as redis_errors

from redis_fallback import restarts
from redis_fallback.process_breaker import get_breaker
from redis_fallback.status_report import connection_status


class Pool:
    def __init__(self, *, is_master: bool = True) -> None:
        self.service_name = "mymaster"
        self.is_master = is_master


class FakeConnection:
    def __init__(self, port: int, run_id: str, pool: Pool | None = None) -> None:
        self.host, self.port, self.path = "10.0.0.7", port, None
        self.run_id = run_id
        if pool is not None:
            self.connection_pool = pool

    def on_connect(self) -> None:
        pass

    def send_command(self, *args) -> None:
        assert args == ("INFO", "server")

    def read_response(self) -> bytes:
        return f"# Server\r\nredis_version:7.2.0\r\nrun_id:{self.run_id}\r\n".encode()


def test_a_new_master_under_the_same_name_is_an_outage_until_rebuilt():
    restarts.on_connect(FakeConnection(6379, "aaa", Pool()))
    restarts.on_connect(FakeConnection(6379, "aaa", Pool()))  # the same master: nothing
    assert not restarts.rebuild_pending()

    # The Sentinels promoted the replica: another address, another run_id, the same name.
    with pytest.raises(redis_errors.ConnectionError, match="master changed"):
        restarts.on_connect(FakeConnection(6380, "bbb", Pool()))
    assert restarts.rebuild_pending()
    masters = restarts.sentinel_masters()["mymaster"]
    assert masters["address"] == ("10.0.0.7", 6380)
    assert masters["last_failover_at"] is not None

    # A second connection to the new master, before the breaker opened, is refused too: the
    # stale sets are not used until the rebuild finished.
    with pytest.raises(redis_errors.ConnectionError):
        restarts.on_connect(FakeConnection(6380, "bbb", Pool()))

    mark = restarts.changes_seen()
    restarts.rebuild_done(mark)
    restarts.on_connect(FakeConnection(6380, "bbb", Pool()))  # trusted again
    assert not restarts.rebuild_pending()


def test_a_rebuild_begun_before_a_later_change_does_not_cover_it():
    restarts.on_connect(FakeConnection(6379, "aaa", Pool()))
    with pytest.raises(redis_errors.ConnectionError):
        restarts.on_connect(FakeConnection(6380, "bbb", Pool()))
    mark = restarts.changes_seen()
    with pytest.raises(redis_errors.ConnectionError):  # another failover meanwhile
        restarts.on_connect(FakeConnection(6379, "ccc", Pool()))
    restarts.rebuild_done(mark)
    assert restarts.rebuild_pending()


def test_the_prober_connection_records_the_change_without_failing():
    """While the breaker is open the prober's own connection must succeed (and rebuild)."""
    restarts.on_connect(FakeConnection(6379, "aaa", Pool()))
    get_breaker().record_failure("ConnectionError: test")
    get_breaker()._opened_at = -1e9  # the reset interval has passed
    assert get_breaker().begin_probe()
    restarts.on_connect(FakeConnection(6380, "bbb", Pool()))  # half-open: recorded, not raised
    assert restarts.rebuild_pending()


def test_replica_connections_are_not_the_master():
    restarts.on_connect(FakeConnection(6379, "aaa", Pool()))
    restarts.on_connect(FakeConnection(6380, "bbb", Pool(is_master=False)))
    assert not restarts.rebuild_pending()
    assert restarts.sentinel_masters()["mymaster"]["address"] == ("10.0.0.7", 6379)


def test_a_plain_redis_is_still_known_by_its_address():
    restarts.on_connect(FakeConnection(6379, "aaa"))
    restarts.on_connect(FakeConnection(6380, "bbb"))  # another server: nothing to rebuild
    assert not restarts.rebuild_pending()
    with pytest.raises(redis_errors.ConnectionError, match="restarted"):
        restarts.on_connect(FakeConnection(6379, "ccc"))
    assert restarts.sentinel_masters() == {}


def test_status_names_the_master_masked(settings):
    settings.REDIS_SENTINEL = {
        "sentinels": [("10.0.0.1", 26379)] * 3,
        "master_name": "mymaster",
        "db": 0,
        "username": None,
        "password": None,
    }
    assert connection_status()["sentinel"]["master"] is None  # not reached yet
    restarts.on_connect(FakeConnection(6379, "aaa", Pool()))
    sentinel = connection_status()["sentinel"]
    assert sentinel == {
        "master_name": "mymaster",
        "sentinels": 3,
        "master": "***:6379",
        "last_failover_at": None,
    }
