"""Run SecantusDB, the dev/test MongoDB stand-in, with its retryable-write table pruned in O(1)
and its writes by ``_id`` plus conditions looked up by ``_id``.

``python devtools/secantusd.py <secantusd-py's arguments>`` is what ``devtools.servers`` starts.

SecantusDB (0.7.0b3, the pinned version) keeps the reply of every retryable write for 30
minutes, at most 10,000 of them, as mongod keeps them in ``config.transactions``: a driver's
retry gets the original reply instead of applying the write twice. It prunes that table on every
write and every lookup by scanning all of it, and once it is full by sorting it. pymongo makes
every single-document write retryable (``retryWrites=true``, required by our settings), so a
write's cost grows with the server's age in writes, not with the data: an update by ``_id``
cost 1.5 ms of the server's CPU fresh, 3.4 ms after 5,000 writes, 19 ms after 12,000, and a
check-in's commands 18 ms fresh, 31 ms after 9,000 writes, 85-97 ms past 10,000
(docs/mongodb-stand-in.md). Real mongod has no such cost; a benchmark that ran long measured
the stand-in's age.

This launcher keeps the same rules — a record lives 30 minutes, at most 10,000 are kept, the
oldest go first — in an ``OrderedDict`` kept in the order the records were written (a record
written again moves to the end), so pruning pops from the front: amortized O(1) per write.

A write whose filter is an ``_id`` equality plus conditions (every conditional write of the door
protocol: the increment, the admission, the scan log's verdict) is looked up by its ``_id``
first, as a filter of ``_id`` alone always was: SecantusDB otherwise tries every compound index
of the collection for the whole filter before it takes the ``_id`` clause alone, and it scans the
collection for a filter with a ``$``-operator at its top (``findAndModify`` re-asserts its query
as ``{"_id": ..., "$and": [query]}``: 15.7 ms with 2,001 sessions, 1.6 ms looked up by ``_id``).
The conditions are still applied to the document found (SecantusDB's write paths match every
candidate against the whole filter), so the answer is the same; on 7 December a 201 check-in's
increment cost 2.1 -> 1.4 ms, its admission 2.1 -> 1.5 ms and its scan log verdict 3.2 -> 2.0 ms
(docs/mongodb-stand-in.md). mongod plans such a filter on the ``_id`` index too.

Everything else is SecantusDB unchanged.
"""

from __future__ import annotations

import sys
from collections import OrderedDict

from secantus import storage, transactions
from secantus.cli import main as secantus_main

_PATCHED = "_checkin_ordered_prune"
_ID_PATCHED = "_checkin_id_first"


def prune_retryable(registry) -> None:
    """Drop records older than their lifetime, then the oldest beyond the cap (caller locks)."""
    table = registry._retryable
    cutoff = registry._time() - transactions._RETRYABLE_RECORD_LIFETIME_SECONDS
    while table:
        _reply, stored_at, _identity = next(iter(table.values()))
        if stored_at >= cutoff:
            break
        table.popitem(last=False)
    while len(table) > transactions._RETRYABLE_RECORD_MAX:
        table.popitem(last=False)


def _require(what: str, *places: tuple[object, tuple[str, ...]]) -> None:
    """Raise unless every named attribute the shim patches or calls is there (as in 0.7.0b3)."""
    missing = [name for obj, names in places for name in names if not hasattr(obj, name)]
    if missing:
        raise RuntimeError(
            f"devtools/secantusd.py: this SecantusDB has no {what} as 0.7.0b3 has "
            f"(missing {missing}); review the shim for this version"
        )


def install() -> None:
    """Patch SecantusDB's TransactionRegistry in this process (idempotent)."""
    registry = transactions.TransactionRegistry
    if getattr(registry, _PATCHED, False):
        return
    _require(
        "retryable-write table",
        (registry(), ("_retryable", "_time", "_lock")),
        (registry, ("_prune_retryable_locked",)),
    )
    original_init = registry.__init__
    original_record = registry.record_retryable

    def __init__(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        self._retryable = OrderedDict(self._retryable)

    def record_retryable(self, lsid_bytes, txn_number, identity, reply) -> None:
        if transactions._is_recordable_reply(reply):
            with self._lock:  # written again: its place is at the end, with its new time
                self._retryable.pop((lsid_bytes, txn_number), None)
        original_record(self, lsid_bytes, txn_number, identity, reply)

    registry.__init__ = __init__
    registry.record_retryable = record_retryable
    registry._prune_retryable_locked = prune_retryable
    setattr(registry, _PATCHED, True)


def install_id_first() -> None:
    """Patch SecantusDB's write-path lookup: an ``_id`` equality is used first (idempotent)."""
    store = storage.Storage
    if getattr(store, _ID_PATCHED, False):
        return
    _require(
        "_id point lookup",
        (store, ("_try_index_id_keys", "_is_timeseries", "_doc_recordid")),
        (storage, ("_id_point_lookup_keys",)),
    )
    original = store._try_index_id_keys

    def _try_index_id_keys(self, db, coll, filter, *, collation=None):
        if (
            filter
            and len(filter) > 1
            and "_id" in filter
            and collation is None
            and not self._is_timeseries(db, coll)
        ):
            keys = storage._id_point_lookup_keys(filter["_id"])
            if keys is not None:  # the caller matches each candidate against the whole filter
                found = (self._doc_recordid(db, coll, key) for key in keys)
                return [recordid for recordid in found if recordid is not None]
        return original(self, db, coll, filter, collation=collation)

    store._try_index_id_keys = _try_index_id_keys
    setattr(store, _ID_PATCHED, True)


if __name__ == "__main__":
    install()
    install_id_first()
    sys.argv[0] = "secantusd-py"
    sys.exit(secantus_main())
