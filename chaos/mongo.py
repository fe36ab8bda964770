"""Read the state directly: MongoDB (pymongo, no Django) and Redis's admission sets.

Collection and field names follow Django's defaults for sessions_app.Session/CheckIn; the Redis
key layout is sessions_app.admission's (``checkin:adm:{<session id>}`` plus a marker member).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pymongo
import redis
from pymongo.read_concern import ReadConcern

SESSIONS = "sessions_app_session"
CHECKINS = "sessions_app_checkin"
ADMISSION_PATTERN = "checkin:adm:{*}"
SEEDED_MARKER = "~seeded"
# CheckIn states holding a place (sessions_app.models.CheckIn.HOLDING_STATES): Redis's set holds them.
HOLDING_STATES = ("entering", "inside", "leaving")
# The CheckIn fields the suite reads.
RECORD_FIELDS = {"session_id": 1, "participant_id": 1, "state": 1}
# The Session fields the suite reads: leased places count as taken (docs/door-protocol.md).
SESSION_FIELDS = {"capacity": 1, "check_in_count": 1, "leased": 1, "lease_room": 1}


def admission_sets(port: int) -> dict[str, set[str]] | None:
    """Return each seeded admission set's members (marker left out); None if Redis is silent."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)
    try:
        sets = {}
        for key in client.scan_iter(match=ADMISSION_PATTERN, count=500):
            name = key.decode()
            if not name.endswith("}"):
                continue  # the short-lived reseed locks
            members = {m.decode() for m in client.smembers(key)}
            if SEEDED_MARKER in members:
                sets[name[name.index("{") + 1 : -1]] = members - {SEEDED_MARKER}
        return sets
    except redis.RedisError:
        return None
    finally:
        client.close()


def record_inside(record: dict) -> bool:
    """Tell whether a CheckIn document says its participant is inside (``state``)."""
    return record.get("state") == "inside"


@dataclass
class SessionState:
    id: str
    capacity: int
    counter: int  # Session.check_in_count
    inside: int  # CheckIn records inside (record_inside)
    leased: int = 0  # Session.leased: places leased to doors and unused
    room: int = 0  # the sum of Session.lease_room (must equal ``leased``)

    @property
    def taken(self) -> int:
        """Places taken: the counter and the places leased.

        Not the records holding a place: an admission's claim (``entering``) comes before its
        increment or its transfer from a lease, so a refused one briefly holds a record and no
        place; the counter (never below the records inside) and ``leased`` are what is taken.
        """
        return self.counter + self.leased


@dataclass
class Snapshot:
    sessions: dict[str, SessionState]
    pairs: Counter  # (session, participant) -> number of CheckIn records
    records: list[dict]


class MongoView:
    """A direct pymongo connection to the stack's database."""

    def __init__(self, uri: str, db_name: str) -> None:
        self.client = pymongo.MongoClient(
            uri, serverSelectionTimeoutMS=2000, socketTimeoutMS=5000, connectTimeoutMS=2000
        )
        self.db = self.client[db_name]

    def close(self) -> None:
        self.client.close()

    def snapshot(self) -> Snapshot:
        """Read every session's counter and every CheckIn record at one point in time.

        Both reads run in one transaction with snapshot read concern: a plain scan could see one
        record before its check-out and another after a later check-in, and report a session over
        capacity that never was.
        """
        with (
            self.client.start_session() as session,
            session.start_transaction(read_concern=ReadConcern("snapshot")),
        ):
            records = list(self.db[CHECKINS].find({}, RECORD_FIELDS, session=session))
            session_docs = list(self.db[SESSIONS].find({}, SESSION_FIELDS, session=session))
        inside = Counter(str(r["session_id"]) for r in records if record_inside(r))
        sessions = {
            str(doc["_id"]): SessionState(
                id=str(doc["_id"]),
                capacity=int(doc.get("capacity", 0)),
                counter=int(doc.get("check_in_count", 0)),
                inside=inside.get(str(doc["_id"]), 0),
                leased=int(doc.get("leased") or 0),
                room=sum(int(v or 0) for v in (doc.get("lease_room") or {}).values()),
            )
            for doc in session_docs
        }
        pairs = Counter((str(r["session_id"]), str(r["participant_id"])) for r in records)
        return Snapshot(sessions=sessions, pairs=pairs, records=records)


@dataclass
class Violation:
    t: float
    session: str
    capacity: int
    counter: int
    inside: int
    leased: int = 0


@dataclass
class Sampler:
    """Sample every session's counter and inside-records while traffic runs (bounded loop)."""

    view: MongoView
    clock: Callable[[], float]
    interval: float = 0.25
    max_samples: int = 4000
    samples: int = 0
    errors: list[tuple[float, str]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)  # over capacity
    below: list[Violation] = field(default_factory=list)  # counter below the records inside
    # ``leased`` differs from the sum of ``lease_room`` (they are written by the same update)
    room_mismatch: list[Violation] = field(default_factory=list)
    leased_seen: int = 0  # samples of a session holding leased places
    max_fill: dict[str, int] = field(default_factory=dict)

    def sample_once(self) -> None:
        try:
            snap = self.view.snapshot()
        except pymongo.errors.PyMongoError as exc:
            self.errors.append((self.clock(), f"{type(exc).__name__}: {exc}"[:200]))
            return
        now = self.clock()
        self.samples += 1
        for state in snap.sessions.values():
            self.max_fill[state.id] = max(
                self.max_fill.get(state.id, 0), state.counter, state.inside
            )
            # People inside + places leased and unused <= capacity, at every instant.
            over = state.taken > state.capacity or state.inside + state.leased > state.capacity
            if over:
                self.violations.append(
                    Violation(
                        now, state.id, state.capacity, state.counter, state.inside, state.leased
                    )
                )
            if state.leased != state.room:
                self.room_mismatch.append(
                    Violation(
                        now, state.id, state.capacity, state.counter, state.inside, state.leased
                    )
                )
            self.leased_seen += bool(state.leased)
            # Each write pair moves the counter first on the way in and last on the way out, so a
            # correct counter is never below the records; below them, it admits too many later.
            if state.counter < state.inside:
                self.below.append(
                    Violation(now, state.id, state.capacity, state.counter, state.inside)
                )

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until ``stop`` is set or ``max_samples`` is reached."""
        while not stop.is_set() and self.samples + len(self.errors) < self.max_samples:
            await asyncio.to_thread(self.sample_once)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    def mongo_down_windows(self) -> list[tuple[float, float]]:
        """Return the periods where MongoDB did not answer the sampler (run clock)."""
        return [(t - self.interval - 2.0, t + self.interval) for t, _ in self.errors]
