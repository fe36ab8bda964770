"""Run SecantusDB, the dev/test MongoDB stand-in, with its retryable-write table pruned in O(1).

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
Everything else is SecantusDB unchanged.
"""

from __future__ import annotations

import sys
from collections import OrderedDict

from secantus import transactions
from secantus.cli import main as secantus_main

_PATCHED = "_checkin_ordered_prune"


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


def install() -> None:
    """Patch SecantusDB's TransactionRegistry in this process (idempotent)."""
    registry = transactions.TransactionRegistry
    if getattr(registry, _PATCHED, False):
        return
    needed = ("_retryable", "_time", "_lock")
    probe = registry()
    missing = [name for name in needed if not hasattr(probe, name)]
    if missing or not hasattr(registry, "_prune_retryable_locked"):
        raise RuntimeError(
            "devtools/secantusd.py: this SecantusDB has no retryable-write table as 0.7.0b3 has "
            f"(missing {missing or ['_prune_retryable_locked']}); review the shim for this version"
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


if __name__ == "__main__":
    install()
    sys.argv[0] = "secantusd-py"
    sys.exit(secantus_main())
