"""Randomized interleavings: many seeds, several threads, random pauses at every step boundary.

Door threads check people in (with new nonces and replays of old ones), out and in again, and
sometimes make Redis forget everything, while another thread runs the reconcile again and again
(mostly ending every operation in flight, which live requests must survive), all against one
small session, while every failpoint of the door protocol sleeps a random few milliseconds.
After every step a snapshot of MongoDB must show no more inside than the capacity and a counter
not below the records inside; at the end, one reconcile makes counter, records and Redis agree.

A failing run names its seed: ``INTERLEAVING_SEED=<seed> pytest -k random_interleavings``
replays its schedule of operations and pauses (thread timing still varies).
``INTERLEAVING_SEEDS=<n>`` runs more seeds.
"""

from __future__ import annotations

import os
import random
import threading

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern

from core import failpoints
from redis_fallback import get_redis
from sessions_app.admission import SEEDED_MARKER, admission_key
from sessions_app.models import CheckIn, Session
from sessions_app.services import counters_reconcile, session_check_in, session_check_out
from tests.factories import participants_make, session_make
from tests.interleaving import Request

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FAILPOINTS = [
    "check_in.resolved",
    "check_in.after_claim",
    "check_in.after_increment",
    "check_in.after_admit",
    "check_out.after_record",
    "check_out.after_decrement",
    "reconcile.after_session_read",
    "reconcile.after_observe",
]
THREADS = 3
STEPS = 12
CAPACITY = 3
PEOPLE = 6
VERDICTS = {
    "checked_in",
    "already_checked_in",
    "session_full",
    "check_in_in_progress",
    "checked_out",
    "not_checked_in",
}

_seed = os.environ.get("INTERLEAVING_SEED")
SEEDS = [int(_seed)] if _seed else list(range(int(os.environ.get("INTERLEAVING_SEEDS", "12"))))


def _pause(name: str) -> None:
    rng = getattr(threading.current_thread(), "rng", None)
    if rng is not None and rng.random() < 0.5:
        threading.Event().wait(rng.random() * 0.03)


def _snapshot(session_id) -> tuple[int, int, int]:
    """Return (capacity, counter, records inside) read at one point in time.

    One snapshot transaction; a transient error of the server (the label MongoDB puts on a
    transaction to retry) is retried, a few times.
    """
    connection.ensure_connection()
    client, db = connection.connection, connection.database
    for attempt in range(5):
        try:
            with (
                client.start_session() as s,
                s.start_transaction(read_concern=ReadConcern("snapshot")),
            ):
                doc = db[Session._meta.db_table].find_one({"_id": session_id}, session=s)
                inside = db[CheckIn._meta.db_table].count_documents(
                    {"session_id": session_id, "state": "inside"}, session=s
                )
            return int(doc["capacity"]), int(doc["check_in_count"]), inside
        except PyMongoError as exc:
            if attempt == 4 or not exc.has_error_label("TransientTransactionError"):
                raise
    raise AssertionError("unreachable")


class Door(Request):
    def __init__(self, index: int, seed: int, *, session, people, nonces, violations):
        super().__init__(f"door-{index}", self.work)
        self.rng = random.Random(f"{seed}-{index}")
        self.session, self.people, self.nonces = session, people, nonces
        self.violations = violations
        self.verdicts: list[str] = []
        self.admitted: list = []

    def step(self) -> str:
        roll = self.rng.random()
        person = self.rng.choice(self.people)
        if roll < 0.03:
            redis.Redis.from_url(django_settings.REDIS_URL).flushall()  # Redis forgets everything
            return "flushall"
        if roll < 0.45:
            # Mostly someone this door let in (a check-out that gets as far as the counter).
            if self.admitted and self.rng.random() < 0.7:
                person = self.admitted.pop(self.rng.randrange(len(self.admitted)))
            verdict = session_check_out(session_id=self.session.pk, participant_id=person.pk)
            return verdict.reason
        used = self.nonces.setdefault(person.pk, [])
        if used and self.rng.random() < 0.3:
            nonce = self.rng.choice(used)  # a replay of an earlier request of this person
        else:
            nonce = f"n{self.rng.randrange(10**9)}"
            used.append(nonce)
        verdict = session_check_in(
            session_id=self.session.pk, participant_id=person.pk, nonce=nonce
        )
        if verdict.reason == "checked_in" and not verdict.replayed:
            self.admitted.append(person)
        return verdict.reason

    def work(self) -> None:
        for _ in range(STEPS):
            self.verdicts.append(self.step())
            capacity, counter, inside = _snapshot(self.session.pk)
            if inside > capacity or counter < inside:
                self.violations.append((self.name, capacity, counter, inside))


class Reconciler(Request):
    """Reconcile again and again while the doors work, often ending every operation in flight."""

    def __init__(self, seed: int, done: threading.Event):
        super().__init__("reconciler", self.work)
        self.rng = random.Random(f"{seed}-reconciler")
        self.done = done
        self.runs = 0

    def work(self) -> None:
        while not self.done.is_set() and self.runs < 200:
            counters_reconcile(stale_seconds=self.rng.choice([0, 0, 60]))
            self.runs += 1
            self.done.wait(self.rng.random() * 0.02)


class Sampler(Request):
    """Check the invariants between the doors' steps too, as often as MongoDB answers."""

    def __init__(self, session, done: threading.Event, violations: list):
        super().__init__("sampler", self.work)
        self.session, self.done, self.violations = session, done, violations
        self.samples = 0

    def work(self) -> None:
        while not self.done.is_set() and self.samples < 5000:
            capacity, counter, inside = _snapshot(self.session.pk)
            self.samples += 1
            if inside > capacity or counter < inside:
                self.violations.append((self.name, capacity, counter, inside))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed-{s}")
def test_random_interleavings_keep_the_invariants(seed, settings):
    settings.CHECKIN_IN_FLIGHT_WAIT_SECONDS = 0.05  # keep waits short: many requests collide
    session = session_make(capacity=CAPACITY)
    people = participants_make(PEOPLE)
    nonces: dict = {}
    violations: list = []
    for name in FAILPOINTS:
        failpoints.arm(name, _pause)
    done = threading.Event()
    watchers = [Reconciler(seed, done), Sampler(session, done, violations)]
    try:
        doors = [
            Door(i, seed, session=session, people=people, nonces=nonces, violations=violations)
            for i in range(THREADS)
        ]
        for thread in [*watchers, *doors]:
            thread.start()
        for door in doors:
            door.outcome()
    finally:
        done.set()
        for watcher in watchers:
            watcher.outcome()
        for name in FAILPOINTS:
            failpoints.disarm(name)
    assert not violations, f"seed {seed}: (thread, capacity, counter, inside) {violations[:3]}"
    seen = {v for door in doors for v in door.verdicts} - {"flushall"}
    assert seen <= VERDICTS, f"seed {seed}: unexpected verdicts {seen - VERDICTS}"

    counters_reconcile(stale_seconds=0)
    capacity, counter, inside = _snapshot(session.pk)
    assert counter == inside <= capacity, f"seed {seed}: counter {counter}, inside {inside}"
    holders = CheckIn.objects.filter(session=session, state__in=CheckIn.HOLDING_STATES)
    assert holders.count() == inside, f"seed {seed}: operations left in flight"
    members = {m.decode() for m in get_redis().smembers(admission_key(session.pk))}
    assert members == {SEEDED_MARKER, *(str(h.participant_id) for h in holders)}, f"seed {seed}"
