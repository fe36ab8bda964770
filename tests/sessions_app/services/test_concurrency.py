"""Acceptance 1: 40 threads, 100 participants, capacity 25: exactly 25 in, whatever Redis does.

Threads call the check-in service in this process against the real servers (each thread has
its own MongoDB connection, closed at the end). Redis is up, killed before the run, or killed
in the middle of it.
"""

import functools
import threading
import time
from collections import Counter

import pytest
import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from sessions_app.admission import SEEDED_MARKER, admission_key
from sessions_app.models import CheckIn, Session
from sessions_app.services import session_check_in, session_create, session_update
from sessions_app.verdicts import Reason
from tests.factories import admission_count, participants_make, session_make

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

THREADS, PARTICIPANTS, CAPACITY = 40, 100, 25
EDIT_DEADLINE_SECONDS = 60  # once the check-ins are over the edit lands at its next try


def _run(session, people, *, after_n=None, on_nth=None):
    """Check everyone in from THREADS threads; call ``on_nth`` once ``after_n`` verdicts are in."""
    queue = list(people)
    lock = threading.Lock()
    verdicts, errors = [], []
    start = threading.Barrier(THREADS)
    fired = threading.Event()

    def worker():
        try:
            start.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    person = queue.pop()
                verdict = session_check_in(session_id=session.pk, participant_id=person.pk)
                with lock:
                    verdicts.append(verdict)
                    due = after_n is not None and len(verdicts) >= after_n and not fired.is_set()
                    if due:
                        fired.set()
                if due:
                    on_nth()
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]
    assert len(verdicts) == PARTICIPANTS
    return verdicts


def _assert_invariant(session, verdicts):
    reasons = Counter(v.reason for v in verdicts)
    assert reasons == {Reason.CHECKED_IN: CAPACITY, Reason.SESSION_FULL: PARTICIPANTS - CAPACITY}
    records = list(CheckIn.objects.filter(session_id=session.pk))
    assert len(records) == CAPACITY
    assert all(record.is_inside for record in records)
    assert Session.objects.get(pk=session.pk).check_in_count == CAPACITY
    admitted = {v.participant for v in verdicts if v.reason == Reason.CHECKED_IN}
    assert admitted == {str(record.participant_id) for record in records}  # each 201 has its record
    assert len({record.participant_id for record in records}) == CAPACITY  # nobody twice
    assert max(v.check_in_count for v in verdicts) <= CAPACITY


def _seeded_session():
    base = session_make(status="draft")
    return session_create(
        title="Busy door", starts_at=base.starts_at, ends_at=base.ends_at, capacity=CAPACITY,
        status="open",
    )  # fmt: skip


def test_concurrent_check_ins_with_redis_up():
    session, people = _seeded_session(), participants_make(PARTICIPANTS)
    verdicts = _run(session, people)
    _assert_invariant(session, verdicts)
    admitted = {v.participant for v in verdicts if v.reason == Reason.CHECKED_IN}
    assert admission_count(session) == CAPACITY  # Redis took part and agrees
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    with client:
        assert client.smembers(admission_key(session.pk)) - {SEEDED_MARKER} == admitted


def test_concurrent_check_ins_with_redis_killed_before_the_run(redis_server):
    session, people = _seeded_session(), participants_make(PARTICIPANTS)
    redis_server.kill()
    _assert_invariant(session, _run(session, people))


def test_concurrent_check_ins_with_redis_killed_in_the_middle(redis_server):
    session, people = _seeded_session(), participants_make(PARTICIPANTS)
    verdicts = _run(session, people, after_n=12, on_nth=redis_server.kill)
    assert not redis_server.running
    _assert_invariant(session, verdicts)


def _run_threads(targets) -> None:
    """Start one thread per target together; fail if one raised or did not finish in time."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(targets))

    def run(target):
        try:
            start.wait()
            target()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t for t in threads if t.is_alive()], "a thread did not finish within 120 s"
    assert not errors, errors[:3]


def test_lowering_capacity_races_safely_with_check_ins():
    """Capacity edits and check-ins are each one conditional update: the count never exceeds it.

    The edit lowers the capacity to the number inside as it reads it; a check-in landing between
    the read and the write refuses the edit (ValidationError), and it is tried again. Fewer
    people than places come, so the edit always lands in the end, during the check-ins or after.
    """
    session, people = _seeded_session(), participants_make(CAPACITY - 1)
    lowered_to = []
    refused_edits = []

    def lower():
        deadline = time.monotonic() + EDIT_DEADLINE_SECONDS
        while not lowered_to:
            assert time.monotonic() < deadline, (
                f"the edit never landed ({len(refused_edits)} refused)"
            )
            target = max(5, Session.objects.get(pk=session.pk).check_in_count)
            try:
                session_update(
                    session=Session.objects.get(pk=session.pk), data={"capacity": target}
                )
            except ValidationError:
                refused_edits.append(target)
                continue
            lowered_to.append(target)

    verdicts = []

    def check_in(chunk):
        for person in chunk:
            verdicts.append(session_check_in(session_id=session.pk, participant_id=person.pk))

    _run_threads([lower, *(functools.partial(check_in, people[i::8]) for i in range(8))])
    assert len(lowered_to) == 1  # the edit happened
    fresh = Session.objects.get(pk=session.pk)
    inside = CheckIn.objects.filter(session_id=session.pk, checked_out_at=None).count()
    assert fresh.capacity == lowered_to[0] < CAPACITY
    assert fresh.check_in_count == inside <= fresh.capacity
    reasons = Counter(v.reason for v in verdicts)
    assert reasons[Reason.CHECKED_IN] == inside
    assert reasons[Reason.CHECKED_IN] + reasons[Reason.SESSION_FULL] == len(people)
    print(f"capacity lowered to {lowered_to[0]} ({len(refused_edits)} edits refused first); "
          f"{inside} inside, {reasons[Reason.SESSION_FULL]} refused as full")  # fmt: skip
