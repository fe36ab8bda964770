"""Small factories for sessions and participants (data stays small: each DB test costs ~110 ms)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import connection
from django.utils import timezone

from bench.data import bench_session
from participants_app.models import Participant
from redis_fallback import get_redis
from sessions_app.admission import SEEDED_MARKER, admission_key
from sessions_app.models import CheckIn, Scan, Session

_seq = itertools.count(1)


def session_make(**fields) -> Session:
    """Create an open session admitting now (started 10 minutes ago, ends in 110), unless
    ``fields`` say otherwise (the benchmark's builder, with a test's title)."""
    return bench_session(**{"title": f"Session {next(_seq)}", **fields})


def participant_make(**fields) -> Participant:
    n = next(_seq)
    values = {"full_name": f"Person {n}", "email": f"person{n}@example.com"}
    values.update(fields)
    return Participant.objects.create(**values)


def participants_make(count: int) -> list[Participant]:
    """Create ``count`` participants in one insert."""
    start = next(_seq) * 1000
    return Participant.objects.bulk_create(
        Participant(full_name=f"Person {start + i}", email=f"p{start + i}@example.com")
        for i in range(count)
    )


def session_counter(session: Session) -> int:
    """Return the session's check_in_count as stored now."""
    return Session.objects.values_list("check_in_count", flat=True).get(pk=session.pk)


def session_inside(session: Session) -> int:
    """Return how many CheckIn records of the session say "inside" now."""
    return CheckIn.objects.filter(session=session, state=CheckIn.State.INSIDE).count()


def nonce_age(session: Session, nonce: str) -> None:
    """Make a scan's nonce entry look older than any request can run: its owner is gone, and a
    retry with the same nonce takes it over."""
    connection.get_collection(Scan._meta.db_table).update_one(
        {"session_id": session.pk, "nonce": nonce},
        {"$set": {"created_at": timezone.now() - dt.timedelta(hours=1)}},
    )


def session_leases(session: Session) -> tuple[int, dict]:
    """Return the session's places leased and unused now, and each lease's room."""
    doc = connection.database[Session._meta.db_table].find_one(
        {"_id": session.pk}, {"leased": 1, "lease_room": 1}
    )
    return int(doc.get("leased") or 0), dict(doc.get("lease_room") or {})


def assert_capacity_holds(session: Session) -> None:
    """Assert invariants 1 and 4 with leases: people inside + places leased and unused <= capacity,
    the counter not below the records inside, and ``leased`` == the sum of the leases' rooms."""
    counter, inside = session_counter(session), session_inside(session)
    leased, rooms = session_leases(session)
    assert leased == sum(rooms.values()), f"leased {leased} but the leases' rooms are {rooms}"
    assert all(room >= 0 for room in rooms.values()), f"a lease below 0: {rooms}"
    assert inside + leased <= session.capacity, (
        f"{inside} inside + {leased} leased in a session of {session.capacity}"
    )
    assert counter >= inside, f"counter {counter} below the {inside} records inside"


def session_counter_corrupt(session: Session, value) -> None:
    """Write the counter behind the ORM's back, as a bug or a manual edit would."""
    connection.database[Session._meta.db_table].update_one(
        {"_id": session.pk}, {"$set": {"check_in_count": value}}
    )


def admission_count(session: Session) -> int | None:
    """Return Redis's count of a session's place holders (None when unseeded)."""
    members = get_redis().smembers(admission_key(session.pk))
    return len(members) - 1 if SEEDED_MARKER.encode() in members else None
