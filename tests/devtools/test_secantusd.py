"""devtools/secantusd.py: SecantusDB's retryable-write table, same rules, pruned from the front."""

import psutil
import pytest
from pymongo import MongoClient
from secantus import transactions

from devtools import secantusd, servers

secantusd.install()  # in this process, as devtools/secantusd.py does in the server's

REPLY = {"ok": 1, "n": 1}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _registry(clock: Clock) -> transactions.TransactionRegistry:
    return transactions.TransactionRegistry(time_func=clock)


def _record(registry, n: int, identity: bytes = b"cmd") -> None:
    registry.record_retryable(b"lsid", n, identity, dict(REPLY))


def _kept(registry, numbers) -> list[int]:
    return [n for n in numbers if registry.retryable_reply(b"lsid", n, b"cmd") is not None]


def test_a_record_is_replayed_until_its_lifetime_ends():
    clock = Clock()
    registry = _registry(clock)
    _record(registry, 1)
    clock.now += 60
    _record(registry, 2)
    assert registry.retryable_reply(b"lsid", 1, b"cmd") == REPLY
    assert registry.retryable_reply(b"lsid", 1, b"another command") is None
    clock.now += transactions._RETRYABLE_RECORD_LIFETIME_SECONDS - 30  # 1 is stale, 2 is not
    assert _kept(registry, [1, 2]) == [2]
    assert list(registry._retryable) == [(b"lsid", 2)]


def test_beyond_the_cap_the_oldest_go_first(monkeypatch):
    monkeypatch.setattr(transactions, "_RETRYABLE_RECORD_MAX", 3)
    clock = Clock()
    registry = _registry(clock)
    for n in range(5):
        clock.now += 1
        _record(registry, n)
    assert _kept(registry, range(5)) == [2, 3, 4]


def test_a_record_written_again_takes_its_new_time_and_place(monkeypatch):
    monkeypatch.setattr(transactions, "_RETRYABLE_RECORD_MAX", 3)
    clock = Clock()
    registry = _registry(clock)
    for n in range(3):
        clock.now += 1
        _record(registry, n)
    clock.now += 1
    _record(registry, 0)  # now the newest: 1 is the oldest
    _record(registry, 3)
    assert _kept(registry, range(4)) == [0, 2, 3]
    clock.now += transactions._RETRYABLE_RECORD_LIFETIME_SECONDS - 0.5  # only 0 and 3 are fresh
    assert _kept(registry, range(4)) == [0, 3]


def test_a_failed_write_is_not_recorded_and_leaves_the_earlier_record():
    clock = Clock()
    registry = _registry(clock)
    _record(registry, 1)
    registry.record_retryable(b"lsid", 1, b"cmd", {"ok": 0, "errmsg": "no"})
    assert registry.retryable_reply(b"lsid", 1, b"cmd") == REPLY


@pytest.mark.slow
def test_the_stand_in_of_the_tests_runs_through_the_launcher(tmp_path):
    server = servers.SecantusServer(log_path=tmp_path / "secantus.log").start()
    try:
        assert any(part.endswith("devtools/secantusd.py") for part in server.proc.args)
        assert psutil.Process(server.proc.pid).cmdline()[1].endswith("secantusd.py")
        with MongoClient(server.uri, timeoutMS=5000) as client:
            items = client.shim_check.items
            items.insert_one({"_id": 1, "n": 0})
            for _ in range(50):  # retryable writes (pymongo's default): each is recorded
                items.update_one({"_id": 1}, {"$inc": {"n": 1}})
            assert items.find_one({"_id": 1})["n"] == 50
    finally:
        server.stop()
