"""devtools/secantusd.py: SecantusDB's retryable-write table, same rules, pruned from the front,
its replies kept as BSON bytes; writes by ``_id`` plus conditions looked up by ``_id``, their conditions still applied; a write
statement reads the index catalogue once; an update rewrites only the index entries it changed,
leaving every entry and unique key as SecantusDB's own storage does."""

import gc
import random
from datetime import UTC, datetime

import bson
import psutil
import pytest
from bson import Binary, DatetimeMS, Decimal128, Int64, ObjectId, Regex, Timestamp
from pymongo import MongoClient
from secantus import storage, transactions

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


# --- replies kept as BSON: nothing for the garbage collector to walk --------------------------------

secantusd.install_replies_as_bson()
_stock_strip = transactions._strip_per_attempt_fields.__wrapped__

_DOC = {
    "_id": ObjectId(),
    "small": 7,
    "big": 2**40,
    "int64": Int64(3),
    "float": 1.5,
    "when": datetime(2026, 12, 8, 1, 2, 3, 456000, tzinfo=UTC),
    "far": DatetimeMS(2**62),  # no Python datetime holds it
    "uuid": Binary(b"0123456789abcdef", 4),
    "bytes": b"raw",
    "price": Decimal128("12.50"),
    "pattern": Regex("^a", "i"),
    "at": Timestamp(1_700_000_000, 3),
    "tags": ["a", {"nested": [1, 2.0, None, True]}],
}
_REPLIES = [
    {"ok": 1.0, "n": 1, "nModified": 1},
    {"ok": 1.0, "lastErrorObject": {"n": 1, "updatedExisting": True}, "value": _DOC},
    {
        "n": 1,
        "ok": 1.0,
        "upserted": [{"index": 0, "_id": ObjectId()}],
        "writeConcernError": {"code": 91, "errmsg": "shutting down"},
        "errorLabels": ["RetryableWriteError"],
        "operationTime": Timestamp(1, 1),
    },
]


def test_a_replayed_reply_encodes_to_the_bytes_the_original_would_have_been_replayed_as():
    registry = _registry(Clock())
    for n, reply in enumerate(_REPLIES):
        registry.record_retryable(b"lsid", n, b"cmd", reply)
        replayed = registry.retryable_reply(b"lsid", n, b"cmd")
        assert bson.encode(replayed) == bson.encode(_stock_strip(reply))
        assert "writeConcernError" not in replayed and "errorLabels" not in replayed
        replayed["mutated"] = True  # each replay is a copy of its own
        assert "mutated" not in registry.retryable_reply(b"lsid", n, b"cmd")


def test_the_table_holds_nothing_the_garbage_collector_walks():
    registry = _registry(Clock())
    for n in range(100):
        registry.record_retryable(b"lsid", n, b"cmd", _REPLIES[n % len(_REPLIES)])
    stored = [reply for reply, _at, _identity in registry._retryable.values()]
    assert len(stored) == 100
    assert not any(gc.is_tracked(reply) for reply in stored)  # SecantusDB's own: dicts, all 100


def test_a_reply_bson_cannot_hold_is_kept_as_secantusdb_keeps_it():
    registry = _registry(Clock())
    odd = {"ok": 1.0, "n": 2**70, "errorLabels": ["x"]}  # beyond 64 bits
    registry.record_retryable(b"lsid", 1, b"cmd", odd)
    assert registry.retryable_reply(b"lsid", 1, b"cmd") == {"ok": 1.0, "n": 2**70}


# --- writes by _id plus conditions: looked up by _id first ----------------------------------------

secantusd.install_id_first()


class _Store:
    """Just what the lookup by ``_id`` touches of a ``Storage`` (the unit test of that function)."""

    def __init__(self, known: dict[bytes, int]) -> None:
        self.known = known

    def _is_timeseries(self, db, coll) -> bool:
        return False

    def _doc_recordid(self, db, coll, key):
        return self.known.get(key)

    def _try_compound_eq_id_keys(self, *args, **kwargs):
        raise AssertionError("walked the compound indexes for a filter with an _id equality")

    def _try_compound_range_id_keys(self, *args, **kwargs):
        raise AssertionError("walked the compound indexes for a filter with an _id equality")

    def _try_geo_index_id_keys(self, *args, **kwargs):
        return None


def test_an_id_equality_with_conditions_is_looked_up_by_id_alone():
    (key,) = storage._id_point_lookup_keys(7)
    store = _Store({key: 42})
    lookup = storage.Storage._try_index_id_keys
    assert lookup(store, "db", "c", {"_id": 7, "owner_op": "x"}) == [42]
    assert lookup(store, "db", "c", {"_id": 7, "$and": [{"n": {"$lt": 3}}]}) == [42]
    assert lookup(store, "db", "c", {"_id": 8, "state": "in"}) == []  # no such document


def test_conditional_writes_by_id_still_apply_their_conditions(tmp_path):
    server = servers.SecantusServer(log_path=tmp_path / "secantus.log").start()
    try:
        with MongoClient(server.uri, timeoutMS=5000) as client:
            items = client.shim_check.items
            items.create_index([("state", 1), ("n", 1)])
            items.create_index([("owner", 1)])
            items.insert_many([{"_id": 1, "state": "in", "n": 0, "owner": "a"}, {"_id": 2}])
            assert (
                items.update_one({"_id": 1, "owner": "b"}, {"$inc": {"n": 1}}).modified_count == 0
            )
            assert (
                items.update_one({"_id": 1, "owner": "a"}, {"$inc": {"n": 1}}).modified_count == 1
            )
            assert (
                items.update_one({"_id": 1, "n": {"$lt": 1}}, {"$inc": {"n": 1}}).matched_count == 0
            )
            inc = {"$inc": {"n": 1}}
            assert items.find_one_and_update({"_id": 1, "state": "out"}, inc) is None
            after = items.find_one_and_update(
                {"_id": 1, "n": {"$lt": 5}}, inc, return_document=True
            )
            assert after["n"] == 2
            assert items.delete_one({"_id": 1, "state": "out"}).deleted_count == 0
            assert items.find_one({"_id": 1, "state": "in"})["n"] == 2
            assert items.find_one({"_id": 1, "state": "out"}) is None
            assert items.delete_one({"_id": 1, "owner": "a"}).deleted_count == 1
            assert items.count_documents({}) == 1
    finally:
        server.stop()


# --- a statement reads the index catalogue once; an update rewrites only the entries it changed ---

DB, COLL = "shim", "entries"
INDEXES = {
    "state_1": ({"state": 1}, {}),
    "session_1_nonce_1": ({"session": 1, "nonce": 1}, {}),
    "code_1": ({"code": 1}, {"unique": True}),
    "nonce_partial": ({"nonce": 1}, {"unique": True, "partialFilterExpression": {"nonce": {"$gt": ""}}}),
    "tags_1": ({"tags": 1}, {}),
    "spare_1": ({"spare": 1}, {"sparse": True}),
    # A partial filter on a field the key does not hold: the key stays, the entry comes and goes.
    "session_inside": ({"session": 1}, {"partialFilterExpression": {"state": "in"}}),
}  # fmt: skip


class _Counting(storage.Storage):
    """SecantusDB's storage, counting its catalogue reads and the indexes it writes entries to."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue_reads = 0
        self.rewritten: list[str] = []

    def _iter_indexes(self, db, coll):
        self.catalogue_reads += 1
        return super()._iter_indexes(db, coll)

    def _delete_index_entries(self, db, coll, doc, indexes, partials=None, *, recordid):
        self.rewritten += [index[0] for index in indexes]
        return super()._delete_index_entries(db, coll, doc, indexes, partials, recordid=recordid)


class _Patched(_Counting):
    pass


class _Stock(_Counting):
    pass


secantusd.install_catalogue_read_once(_Patched)
secantusd.install_changed_entries_only(_Patched)


@pytest.fixture
def stores():
    made = {kind: kind(":memory:") for kind in (_Patched, _Stock)}
    for store in made.values():
        for name, (keys, options) in INDEXES.items():
            store.create_index(DB, COLL, name, keys, options)
    yield made[_Patched], made[_Stock]
    for store in made.values():
        store.close()


def _tables(store) -> tuple[list, list]:
    """Every index entry and every unique key the collection holds."""
    return (
        store._collect_prefix(storage._IDX_ENTRIES_TABLE, (DB, COLL)),
        store._collect_prefix(storage._UNIQ_TABLE, (DB, COLL)),
    )


def _both(stores, call) -> list:
    """Run ``call(store)`` on each store; return what each answered or raised (by type)."""
    answers = []
    for store in stores:
        try:
            answers.append(call(store))
        except Exception as exc:  # the same refusal from both is the point
            answers.append(type(exc).__name__)
    return answers


def test_a_statement_reads_the_index_catalogue_once(stores):
    patched, stock = stores
    for store in stores:
        store.catalogue_reads = 0
        store.insert(DB, COLL, [{"_id": 1, "state": "in", "code": "A", "session": 1}])
    assert (patched.catalogue_reads, stock.catalogue_reads) == (1, 6)
    for store in stores:
        store.catalogue_reads = 0
        store.update_matching(DB, COLL, {"_id": 1, "state": "in"}, {"$set": {"state": "out"}})
    assert patched.catalogue_reads == 1
    assert stock.catalogue_reads >= 7


def test_an_update_rewrites_only_the_index_entries_it_changed(stores):
    patched, stock = stores
    for store in stores:
        store.insert(DB, COLL, [{"_id": 1, "state": "in", "code": "A", "session": 1, "n": 0}])
        store.rewritten = []
        store.update_matching(DB, COLL, {"_id": 1}, {"$inc": {"n": 1}})  # no indexed field
    assert patched.rewritten == []
    assert sorted(stock.rewritten) == sorted(INDEXES)
    for store in stores:
        store.rewritten = []
        store.update_matching(DB, COLL, {"_id": 1}, {"$set": {"state": "out"}})
    # The state's index, and the partial one whose filter the document left.
    assert sorted(patched.rewritten) == ["session_inside", "state_1"]
    assert _tables(patched) == _tables(stock)


def test_unique_keys_kept_by_an_update_stay_taken_and_changed_ones_are_given_back(stores):
    for store in stores:
        store.insert(DB, COLL, [{"_id": 1, "code": "A", "nonce": "n1", "session": 1}])
        store.update_matching(DB, COLL, {"_id": 1}, {"$set": {"state": "in"}})
    refused = _both(stores, lambda s: s.insert(DB, COLL, [{"_id": 2, "code": "A"}])[1])
    assert all(errors and errors[0]["code"] == 11000 for errors in refused)
    for store in stores:
        store.update_matching(DB, COLL, {"_id": 1}, {"$set": {"code": "B", "nonce": ""}})
    assert _both(stores, lambda s: s.insert(DB, COLL, [{"_id": 3, "code": "A", "nonce": "n1"}]))
    assert (
        _both(stores, lambda s: s.find_matching(DB, COLL, {"code": "B"}))
        == [[{"_id": 1, "code": "B", "nonce": "", "session": 1, "state": "in"}]] * 2
    )
    assert _tables(stores[0]) == _tables(stores[1])


def test_updates_leave_the_same_index_entries_as_secantusdbs_own(stores):
    """The same writes on both: every entry and unique key the same after each (partial filters
    entered and left, arrays, a sparse field set and unset, refused duplicates)."""
    rng = random.Random(28)
    for store in stores:
        store.insert(DB, COLL, [{"_id": i, "session": i % 3, "n": 0} for i in range(12)])
    updates = [
        lambda i: {"$set": {"state": rng.choice(["in", "out", "leaving"])}},
        lambda i: {"$set": {"nonce": rng.choice(["", "a", "b", f"x{i}"])}},
        lambda i: {"$set": {"code": rng.choice(["A", "B", f"C{i}"])}},
        lambda i: {"$set": {"tags": rng.choice([["a"], ["a", "b"], "c", []])}},
        lambda i: {"$set": {"spare": i}} if rng.random() < 0.5 else {"$unset": {"spare": ""}},
        lambda i: {"$inc": {"n": 1}},
        lambda i: {"$set": {"session": rng.randrange(3), "state": "in"}},
    ]
    for _ in range(300):
        target = rng.randrange(12)
        update = rng.choice(updates)(target)
        answers = _both(
            stores, lambda s, t=target, u=update: s.update_matching(DB, COLL, {"_id": t}, u)
        )
        assert answers[0] == answers[1], update
        assert _tables(stores[0]) == _tables(stores[1]), update
    by_state = _both(stores, lambda s: s.find_matching(DB, COLL, {"state": "in"}, sort={"_id": 1}))
    assert by_state[0] == by_state[1]
