"""Run SecantusDB, the dev/test MongoDB stand-in, with its retryable-write table pruned in O(1)
and its replies kept as BSON bytes, its writes by ``_id`` plus conditions looked up by ``_id``,
each write statement reading the index catalogue once, its updates rewriting only the index
entries they changed, and its start-up objects frozen out of the garbage collector's walks.

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

A write statement read the collection's index catalogue (a WiredTiger scan, each entry
BSON-decoded) once for every question it had of it: seven times for an update by ``_id``, six for
an insert; it now reads it once (``install_catalogue_read_once``). An update removed and wrote
again every entry of every index, changed or not (the scan log's verdict changes one indexed
field of twelve); it now rewrites the entries that differ, as mongod does
(``install_changed_entries_only``; ``tests/devtools/test_secantusd.py`` runs the same writes on
SecantusDB's own storage and compares every index entry and unique key after each). Measured side
by side (``python -m bench.cpu_split --baseline <the commit before> --stand-in own``), a 201
check-in cost the stand-in 11.75 ms of CPU without the two, 8.88 ms with them (0.76x, range
0.70-0.82 over 8 blocks; docs/mongodb-stand-in.md).

The table's replies were deep copies, some 100,000 objects that each full collection of the
garbage collector walked with the server stopped (21, 49, then 94 ms under 3,000 check-ins); kept
as bytes (``install_replies_as_bson``) and with the start-up objects frozen (``gc.freeze``), the
same run has none (docs/mongodb-stand-in.md).

Everything else is SecantusDB unchanged.
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
from collections import OrderedDict

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from secantus import storage, transactions
from secantus.cli import main as secantus_main

_PATCHED = "_checkin_ordered_prune"
_ID_PATCHED = "_checkin_id_first"
_CATALOGUE_PATCHED = "_checkin_catalogue_read_once"
# The statements that read the index catalogue once each (each runs under its collection's lock,
# in one WiredTiger transaction: the catalogue cannot change under it but by its own writes).
_CATALOGUE_SCOPES = (
    "_insert_chunk",
    "_update_chunk",
    "_update_matching_single_txn",
    "_delete_chunk",
    "_delete_matching_single_txn",
)


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


_BSON_PATCHED = "_checkin_replies_as_bson"
# What SecantusDB's ``_strip_per_attempt_fields`` leaves out of a stored reply (0.7.0b3).
_PER_ATTEMPT_FIELDS = ("writeConcernError", "errorLabels")
# A stored reply decodes to what encodes to the same bytes again: a date outside Python's range
# as a ``DatetimeMS``, a 64-bit integer as an ``Int64``, binary as its subtype.
_REPLY_CODEC = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO)


def install_replies_as_bson() -> None:
    """Keep each retryable write's stored reply as its BSON bytes (idempotent).

    SecantusDB deep-copies every successful write's reply into its retryable-write table (up to
    10,000 of them) and deep-copies it again to replay it. Kept as dicts, the table is some
    100,000 objects that every full collection of the stand-in's garbage collector walks: 21, 49,
    then 94 ms with the whole server stopped, in one run of 3,000 check-ins, each a slow scan at
    every door that was waiting. Bytes hold no references, so the collector does not look at them;
    the reply is encoded once (instead of the deep copy) and decoded on a retry. What a retry gets
    back encodes to the very bytes SecantusDB's own copy would (the per-attempt fields left out as
    it leaves them). A reply BSON cannot hold is kept as SecantusDB keeps it.
    """
    registry = transactions.TransactionRegistry
    if getattr(registry, _BSON_PATCHED, False):
        return
    _require(
        "retryable-write replies",
        (transactions, ("_strip_per_attempt_fields",)),
        (registry, ("retryable_reply",)),
    )
    original_strip = transactions._strip_per_attempt_fields
    original_reply = registry.retryable_reply

    @functools.wraps(original_strip)
    def _strip_per_attempt_fields(reply):
        kept = {key: value for key, value in reply.items() if key not in _PER_ATTEMPT_FIELDS}
        try:
            return bson.encode(kept)
        except (bson.errors.InvalidDocument, OverflowError):
            return original_strip(reply)

    @functools.wraps(original_reply)
    def retryable_reply(self, lsid_bytes, txn_number, identity):
        stored = original_reply(self, lsid_bytes, txn_number, identity)
        if isinstance(stored, bytes):
            return bson.decode(stored, codec_options=_REPLY_CODEC)
        return stored

    transactions._strip_per_attempt_fields = _strip_per_attempt_fields
    registry.retryable_reply = retryable_reply
    setattr(registry, _BSON_PATCHED, True)


def _require(what: str, *places: tuple[object, tuple[str, ...]]) -> None:
    """Raise unless every named attribute the shim patches or calls is there (as in 0.7.0b3)."""
    missing = [name for obj, names in places for name in names if not hasattr(obj, name)]
    if missing:
        raise RuntimeError(
            f"devtools/secantusd.py: this SecantusDB has no {what} as 0.7.0b3 has "
            f"(missing {missing}); review the shim for this version"
        )


def _require_retries(store: type, names: tuple[str, ...]) -> None:
    """Raise unless each of ``names`` is wrapped in SecantusDB's conflict-retry wrapper."""
    for name in names:
        _require(f"conflict-retry wrapper on {name}", (getattr(store, name), ("__wrapped__",)))


def _wrap_within_retries(store: type, names: tuple[str, ...], wrap) -> None:
    """Wrap each of ``names`` inside its conflict-retry wrapper: each attempt is a statement of
    its own (a retry after a write conflict starts afresh)."""
    for name in names:
        inner = getattr(store, name).__wrapped__
        setattr(store, name, storage._retry_write_conflicts(wrap(inner)))


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


def install_catalogue_read_once(store: type = storage.Storage) -> None:
    """Patch SecantusDB's write statements to read a collection's index catalogue once each.

    A statement asks for the catalogue (``_iter_indexes``: a WiredTiger scan of the catalogue
    table, each entry BSON-decoded) for every question it has of it: the indexes, their partial
    filters, the multikey ones, then the options again for the unique check, the geo check, the
    old entries' removal and the new ones' writing: seven times for an update by ``_id``, six for
    an insert. Within one statement the answer is read once and kept; it is dropped the moment
    anything else in the statement opens the catalogue table (a write to it: an index becoming
    multikey), and with the statement (a retry after a write conflict reads afresh). Idempotent.
    ``store``: the class to patch (a subclass, in the tests).
    """
    if store.__dict__.get(_CATALOGUE_PATCHED, False):
        return
    _require(
        "index catalogue",
        (store, ("_iter_indexes", "_cursor", *_CATALOGUE_SCOPES)),
        (storage, ("_IDX_TABLE", "_retry_write_conflicts")),
    )
    _require_retries(store, _CATALOGUE_SCOPES)
    local = threading.local()
    original_iter = store._iter_indexes
    original_cursor = store._cursor

    def _iter_indexes(self, db, coll):
        kept = getattr(local, "kept", None)
        if kept is None:
            return original_iter(self, db, coll)
        key = (id(self), db, coll)
        if key not in kept:
            local.reading = True
            try:
                entries = list(original_iter(self, db, coll))
            finally:
                local.reading = False
            kept[key] = entries
        return iter(kept[key])

    def _cursor(self, table, *, overwrite=True):
        if table == storage._IDX_TABLE and not getattr(local, "reading", False):
            kept = getattr(local, "kept", None)
            if kept:
                kept.clear()  # the statement opens the catalogue itself: read it afresh after
        return original_cursor(self, table, overwrite=overwrite)

    def statement(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if getattr(local, "kept", None) is not None:  # a statement within a statement
                return method(self, *args, **kwargs)
            local.kept = {}
            try:
                return method(self, *args, **kwargs)
            finally:
                local.kept = None

        return wrapper

    store._iter_indexes = _iter_indexes
    store._cursor = _cursor
    _wrap_within_retries(store, _CATALOGUE_SCOPES, statement)
    setattr(store, _CATALOGUE_PATCHED, True)


_ENTRIES_PATCHED = "_checkin_changed_entries_only"
# The update statements: each removes a document's old index entries, writes the document, then
# writes its new entries.
_UPDATE_STATEMENTS = ("_update_chunk", "_update_matching_single_txn")
_ALWAYS = object()  # a geo index's entries: rewritten whatever changed (never equal)


def _entries(doc, index, partials, options):
    """The entries ``doc`` has in ``index`` (as SecantusDB's own writes compute them)."""
    name, key_spec, sparse, _unique = index
    if storage._geo_type_of(key_spec) is not None:
        return _ALWAYS
    partial = partials.get(name)
    if partial is not None and not storage.matches(doc, partial):
        return frozenset()
    collation = storage._parse_index_collation(options.get(name, {}).get("collation"))
    return frozenset(storage._index_key_variants(doc, key_spec, sparse=sparse, collation=collation))


def install_changed_entries_only(store: type = storage.Storage) -> None:
    """Patch SecantusDB's updates to rewrite only the index entries the update changed.

    SecantusDB's update removes every entry the old document has in every index of the
    collection, then writes every entry of the new one (and gives back, then takes again, each
    unique key), changed or not: the scan log's verdict, which changes one indexed field of
    twelve, rewrote all twelve. mongod writes only the keys that changed. Here the removal is
    held until the new document's entries are written, and both are done for the indexes whose
    entries differ (a geo index always); an index whose entries are the same keeps them, and its
    unique keys stay taken by the document. Idempotent; ``store``: the class to patch (a
    subclass, in the tests).
    """
    if store.__dict__.get(_ENTRIES_PATCHED, False):
        return
    _require(
        "index entry writes",
        (store, ("_delete_index_entries", "_write_index_entries", "_partial_filters",
                 "_index_options_map", *_UPDATE_STATEMENTS)),
        (storage, ("_geo_type_of", "matches", "_parse_index_collation", "_index_key_variants",
                   "_retry_write_conflicts")),
    )  # fmt: skip
    _require_retries(store, _UPDATE_STATEMENTS)
    local = threading.local()
    original_delete = store._delete_index_entries
    original_write = store._write_index_entries

    def flush() -> None:
        held, local.held = getattr(local, "held", None), None
        if held is not None:
            self, db, coll, doc, indexes, partials, recordid = held
            original_delete(self, db, coll, doc, indexes, partials, recordid=recordid)

    def _delete_index_entries(self, db, coll, doc, indexes, partials=None, *, recordid):  # noqa: PLR0917 (SecantusDB's signature)
        if not getattr(local, "updating", False) or not indexes:
            return original_delete(self, db, coll, doc, indexes, partials, recordid=recordid)
        flush()
        local.held = (self, db, coll, doc, indexes, partials, recordid)
        return None

    def _write_index_entries(self, db, coll, doc, indexes, partials=None, *, recordid):  # noqa: PLR0917 (SecantusDB's signature)
        held = getattr(local, "held", None)
        # The update's own removal: same store, collection, document and index list.
        if (
            held is None
            or held[:3] != (self, db, coll)
            or held[4] is not indexes
            or held[6] != recordid
        ):
            flush()
            return original_write(self, db, coll, doc, indexes, partials, recordid=recordid)
        local.held = None
        old, old_partials = held[3], held[5]
        if partials is None:
            partials = old_partials if old_partials is not None else self._partial_filters(db, coll)
        options = self._index_options_map(db, coll)
        changed = [
            index
            for index in indexes
            if _entries(old, index, partials, options) != _entries(doc, index, partials, options)
        ]
        if changed:
            original_delete(self, db, coll, old, changed, partials, recordid=recordid)
            original_write(self, db, coll, doc, changed, partials, recordid=recordid)
        return None

    def statement(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if getattr(local, "updating", False):
                return method(self, *args, **kwargs)
            local.updating, local.held = True, None
            try:
                result = method(self, *args, **kwargs)
                flush()  # a removal no write followed (none in 0.7.0b3's updates)
                return result
            finally:
                local.updating, local.held = False, None

        return wrapper

    store._delete_index_entries = _delete_index_entries
    store._write_index_entries = _write_index_entries
    _wrap_within_retries(store, _UPDATE_STATEMENTS, statement)
    setattr(store, _ENTRIES_PATCHED, True)


if __name__ == "__main__":
    install()
    install_replies_as_bson()
    install_id_first()
    install_catalogue_read_once()
    install_changed_entries_only()
    # Everything imported so far lives as long as the server: out of the collector's full
    # collections, which then walk only what the server made since (a third of their objects
    # at the start were modules, functions and classes).
    gc.freeze()
    sys.argv[0] = "secantusd-py"
    sys.exit(secantus_main())
