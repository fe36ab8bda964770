"""After an outage one process rebuilds Redis's admission sets for all (``admission_sync``).

Each test plays the processes of a deployment with one real redis-server: the recovery callback
is called as the prober calls it (with a raw client), with the moment "this process" lost Redis.
"""

import threading
import time

import pytest
import redis
from django.conf import settings as django_settings

from core.failpoints import armed
from sessions_app.admission import SEEDED_MARKER, admission_key
from sessions_app.services import session_check_in
from sessions_app.services.admission_sync import (
    RESEED_LOCK,
    RESEED_MARKER,
    _holder,
    reseed_covers,
    sessions_admission_reseed_all,
)
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw():
    """A client as the layer's raw one (bytes), on the test run's redis-server."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    client.delete(RESEED_MARKER, RESEED_LOCK)
    yield client
    client.delete(RESEED_MARKER, RESEED_LOCK)
    client.close()


def _now(raw) -> float:
    seconds, micros = raw.time()
    return seconds + micros / 1_000_000


def _run_id(raw) -> str:
    return raw.info("server")["run_id"]


def _members(raw, session) -> set[str]:
    return {m.decode() for m in raw.smembers(admission_key(session.pk))} - {SEEDED_MARKER}


@pytest.fixture
def inside(raw):
    """An open session with two people inside, its set dropped (as Redis lost it)."""
    session = session_make(capacity=5)
    people = participants_make(2)
    for person in people:
        assert session_check_in(session_id=session.pk, participant_id=person.pk).reason == (
            "checked_in"
        )
    raw.delete(admission_key(session.pk))
    return session, {str(p.pk) for p in people}


def test_a_rebuild_covers_a_process_that_lost_redis_before_it_began_on_the_same_redis_run():
    assert reseed_covers("run1 100.5", "run1", 100.0)
    assert reseed_covers("run1 100.0", "run1", 100.0)
    assert not reseed_covers("run1 99.9", "run1", 100.0)  # begun before this process lost Redis
    assert not reseed_covers("run2 100.5", "run1", 100.0)  # another run: Redis restarted since
    assert not reseed_covers("", "run1", 100.0)
    assert not reseed_covers("run1 100.5", "run1", None)  # when this process lost it: unknown
    assert not reseed_covers("run1 soon", "run1", 100.0)
    assert not reseed_covers("run1 100.5", "", 100.0)  # INFO refused: no run_id to compare


def test_the_second_process_back_from_the_same_outage_rebuilds_nothing(raw, inside):
    session, people = inside
    lost = _now(raw) - 5  # both processes lost Redis 5 s ago
    assert sessions_admission_reseed_all(raw, lost_at=lost) >= 1  # the first rebuilds
    assert _members(raw, session) == people
    assert raw.get(RESEED_MARKER).decode().split()[0] == _run_id(raw)
    assert not raw.exists(RESEED_LOCK)  # given back

    raw.delete(admission_key(session.pk))  # (to see whether the second one writes it)
    assert sessions_admission_reseed_all(raw, lost_at=lost) == 0
    assert not raw.exists(admission_key(session.pk))

    # A later outage (lost after that rebuild began), or a restart since (another run_id): rebuild.
    assert sessions_admission_reseed_all(raw, lost_at=_now(raw)) >= 1
    assert _members(raw, session) == people
    raw.set(RESEED_MARKER, f"another-run {_now(raw)}")
    raw.delete(admission_key(session.pk))
    assert sessions_admission_reseed_all(raw, lost_at=lost) >= 1
    assert _members(raw, session) == people


def test_a_process_waits_for_the_rebuild_in_progress_and_does_not_rebuild_again(raw, inside):
    session, _people = inside
    lost = _now(raw) - 5
    raw.set(RESEED_LOCK, "node-b:4242", px=30_000)  # another process is rebuilding

    def other_finishes():
        time.sleep(0.6)
        raw.set(RESEED_MARKER, f"{_run_id(raw)} {lost + 1}")
        raw.delete(RESEED_LOCK)

    finisher = threading.Thread(target=other_finishes)
    begun = time.monotonic()
    finisher.start()
    assert sessions_admission_reseed_all(raw, lost_at=lost) == 0
    finisher.join()
    assert 0.5 <= time.monotonic() - begun < 5
    assert not raw.exists(admission_key(session.pk))  # the other one's rebuild is the one


def test_a_process_rebuilds_itself_once_the_lock_of_one_that_died_rebuilding_is_gone(raw, inside):
    session, people = inside
    raw.set(RESEED_LOCK, "node-b:4242", px=600)  # it died holding the lock: no renewal
    begun = time.monotonic()
    assert sessions_admission_reseed_all(raw, lost_at=_now(raw) - 5) >= 1
    assert time.monotonic() - begun >= 0.5
    assert _members(raw, session) == people
    assert not raw.exists(RESEED_LOCK)  # taken when it expired, given back when done


def test_the_lock_is_renewed_after_each_session_while_the_rebuild_runs(raw, settings):
    """A rebuild longer than the lock's lifetime keeps it: nobody starts a second one."""
    settings.ADMISSION_RESEED_LOCK_SECONDS = 0.4
    settings.ADMISSION_RESEED_PACE = 0.0
    sessions = [session_make(capacity=3) for _ in range(4)]
    seen = []

    def slow_read(name):
        time.sleep(0.25)  # four sessions: 1 s in all, the lock lives 0.4 s past each renewal
        seen.append(raw.get(RESEED_LOCK))

    with armed("admission_sync.after_read", slow_read):
        assert sessions_admission_reseed_all(raw, lost_at=_now(raw) - 5) >= len(sessions)
    assert len(seen) >= len(sessions)
    assert all(holder == _holder().encode() for holder in seen)


def test_a_probe_that_failed_midway_finds_the_lock_its_own_next_time(raw, inside):
    session, people = inside
    raw.set(RESEED_LOCK, _holder(), px=30_000)  # left by this process's failed probe
    begun = time.monotonic()
    assert sessions_admission_reseed_all(raw, lost_at=_now(raw) - 5) >= 1
    assert time.monotonic() - begun < 5  # no wait for itself
    assert _members(raw, session) == people
    assert not raw.exists(RESEED_LOCK)
