"""A rebuild of Redis's admission set from MongoDB against the door requests that run meanwhile.

A rebuild (the prober's after an outage, a request's for an unseeded set, the reconcile's) reads
the holders from MongoDB and writes the set a moment later. Each test pauses the real code at a
failpoint so that a check-in or check-out lands in that moment: decided on the Redis path (its
Redis write lands between the rebuild's read and its write), or decided in MongoDB alone by a
request of a process whose breaker is still open while the rebuild has already passed its session.
Afterwards the set must equal who is inside, without waiting for the reconcile (every 30 s).

Real servers throughout: the breaker is opened by a redis-server restarted empty, and closed by
the process's own prober, which runs the real recovery callback.
"""

import threading

import pytest
import redis
from django.conf import settings as django_settings

from core import failpoints
from redis_fallback import get_redis, is_redis_available
from sessions_app.admission import SEEDED_MARKER, admission_key
from sessions_app.models import Session
from sessions_app.services import (
    counters_reconcile,
    session_check_in,
    session_check_out,
    session_create,
    sessions_admission_reseed_all,
)
from sessions_app.verdicts import Reason
from tests.celery_support import wait_until
from tests.factories import participants_make, session_make
from tests.interleaving import WAIT, gate_at, started

pytestmark = pytest.mark.django_db

PROBER = "redis-fallback-prober"  # the prober's thread (redis_fallback/prober.py)


def _members(session) -> set[str]:
    client = redis.Redis.from_url(django_settings.REDIS_URL, decode_responses=True)
    with client:
        return client.smembers(admission_key(session.pk)) - {SEEDED_MARKER}


def _ids(*people) -> set[str]:
    return {str(person.pk) for person in people}


def _in(session, person, reason=Reason.CHECKED_IN):
    assert session_check_in(session_id=session.pk, participant_id=person.pk).reason == reason


def _open_session(capacity):
    """An open session created through the service, so its Redis set is seeded."""
    base = session_make(status="draft")
    return session_create(
        title="Rebuilt", starts_at=base.starts_at, ends_at=base.ends_at, capacity=capacity,
        status="open",
    )  # fmt: skip


# --- a rebuild against requests on the Redis path -------------------------------------------------


def test_a_check_in_reserved_while_the_rebuild_reads_stays_in_the_set():
    """Redis reserves a place (the admission writes nothing more to Redis) after the rebuild
    read the holders and before it wrote them: the rebuild's write must keep it."""
    session = _open_session(capacity=3)
    a, b = participants_make(2)
    _in(session, a)
    with gate_at("admission_sync.after_read", "R") as gate:
        rebuild = started("R", sessions_admission_reseed_all)
        gate.wait_for("R")  # R has read the holders: a
        _in(session, b)  # reserved in Redis, admitted in MongoDB
    assert rebuild.outcome() >= 1
    assert _members(session) == _ids(a, b)


def test_a_check_in_reserved_before_the_rebuild_began_and_claimed_after_its_read_stays():
    """The reservation is older than the rebuild, the claim in MongoDB younger than its read."""
    session = _open_session(capacity=3)
    a, b = participants_make(2)
    _in(session, a)
    with gate_at("check_in.after_precheck", "B") as b_gate:
        b_request = started(
            "B", lambda: session_check_in(session_id=session.pk, participant_id=b.pk)
        )
        b_gate.wait_for("B")  # Redis reserved b's place; no claim in MongoDB yet
        with gate_at("admission_sync.after_read", "R") as r_gate:
            rebuild = started("R", sessions_admission_reseed_all)
            r_gate.wait_for("R")  # R has read the holders: a
            b_gate.open()
            assert b_request.outcome().reason == Reason.CHECKED_IN
        assert rebuild.outcome() >= 1
    assert _members(session) == _ids(a, b)


def test_a_check_in_added_after_a_redis_full_that_mongodb_denied_stays_in_the_set(raw_redis):
    """Redis said full (a member MongoDB does not hold); MongoDB admitted; the request added the
    participant to the set while the rebuild was between its read and its write."""
    session = _open_session(capacity=2)
    a, b = participants_make(2)
    _in(session, a)
    raw_redis.sadd(admission_key(session.pk), "000000000000000000000000")  # a stale member
    with gate_at("admission_sync.after_read", "R") as gate:
        rebuild = started("R", sessions_admission_reseed_all)
        gate.wait_for("R")
        _in(session, b)  # Redis: full; MongoDB: room; then added to the set
    assert rebuild.outcome() >= 1
    assert _members(session) == _ids(a, b)


def test_a_rebuild_that_another_rebuild_overtook_does_not_write_its_older_read():
    """Two rebuilds of one session (two processes' probers, the reconcile, a request's): the one
    that read first must not write last over a check-in made after the other's write."""
    session = _open_session(capacity=3)
    a, b = participants_make(2)
    _in(session, a)
    with gate_at("admission_sync.after_read", "R1") as gate:
        first = started("R1", sessions_admission_reseed_all)
        gate.wait_for("R1")  # R1 has read the holders: a
        assert sessions_admission_reseed_all() >= 1  # another rebuild, from start to end
        _in(session, b)  # reserved in the set that rebuild wrote
    assert first.outcome() >= 1
    assert _members(session) == _ids(a, b)


def test_the_reconcile_rebuilds_from_a_read_of_its_own_not_from_the_holders_it_counted():
    """The reconcile counts the holders, then finds the set out of line with them: a check-in
    made in between is in the set and not in what it counted."""
    session = _open_session(capacity=3)
    a, b = participants_make(2)
    _in(session, a)
    get_redis().srem(admission_key(session.pk), str(a.pk))  # out of line: the reconcile rebuilds
    with gate_at("reconcile.after_observe", "R") as gate:
        reconcile = started("R", counters_reconcile)
        gate.wait_for("R")  # R has counted the holders: a
        _in(session, b)
    assert reconcile.outcome().reseeded == 1
    assert _members(session) == _ids(a, b)


@pytest.fixture
def raw_redis():
    client = redis.Redis.from_url(django_settings.REDIS_URL, decode_responses=True)
    yield client
    client.close()


# --- a rebuild against decisions made in MongoDB alone --------------------------------------------


class _SecondArrival:
    """Pause the prober at its second rebuild of a session (the first passes)."""

    def __init__(self) -> None:
        self.arrivals = 0
        self.paused = threading.Event()
        self.release = threading.Event()

    def __call__(self, name: str) -> None:
        if threading.current_thread().name != PROBER:
            return
        self.arrivals += 1
        if self.arrivals == 2:
            self.paused.set()
            assert self.release.wait(WAIT), "the test never released the prober"


@pytest.fixture
def outage(redis_server, settings):
    """Restart Redis empty and open the breaker; the prober rebuilds ``first``, then pauses at
    ``other`` (the sessions in the order the rebuild visits them) until the test releases it."""

    def begin(first, other):
        # The rebuild visits the open sessions in this order (the same query as its own).
        order = list(Session.objects.filter(status="open").values_list("pk", flat=True))
        assert order == [first.pk, other.pk]
        settings.REDIS_BREAKER_RESET_SECONDS = 0.1
        redis_server.restart()  # empty: the next connection sees a new run_id
        get_redis().get("anything")  # opens the breaker; the prober starts
        assert not is_redis_available()
        assert pause.paused.wait(WAIT), "the prober never reached the second session"
        assert not is_redis_available()  # half-open while the prober rebuilds: calls denied

    pause = _SecondArrival()
    failpoints.arm("admission_sync.after_read", pause)
    begin.release = pause.release
    try:
        yield begin
    finally:
        pause.release.set()
        failpoints.disarm("admission_sync.after_read")


def test_a_check_in_decided_in_mongodb_after_the_rebuild_passed_its_session_reaches_the_set(
    outage,
):
    session, other = _open_session(capacity=3), _open_session(capacity=3)
    a, b = participants_make(2)
    _in(session, a)
    outage(session, other)  # the rebuild has written session's set ({a}) and is at other's
    _in(session, b)  # decided in MongoDB alone: this process's breaker is not closed yet
    outage.release.set()
    assert wait_until(is_redis_available, timeout=5)
    assert wait_until(lambda: _members(session) == _ids(a, b), timeout=5), _members(session)


def test_a_check_out_decided_in_mongodb_after_the_rebuild_passed_its_session_leaves_the_set(
    outage,
):
    session, other = _open_session(capacity=3), _open_session(capacity=3)
    a, b = participants_make(2)
    _in(session, a)
    _in(session, b)
    outage(session, other)
    result = session_check_out(session_id=session.pk, participant_id=a.pk)
    assert result.reason == Reason.CHECKED_OUT  # in MongoDB alone
    outage.release.set()
    assert wait_until(is_redis_available, timeout=5)
    assert wait_until(lambda: _members(session) == _ids(b), timeout=5), _members(session)


def test_a_claim_the_rebuild_read_and_refused_in_mongodb_alone_leaves_no_member(outage):
    """The flaky test_redis_restarted_empty_does_not_lead_to_overbooking (3 members in the set of
    a session of 2): the rebuild read a claim still ``entering`` (before its write and after it),
    the claim was refused while the breaker was half-open, so its removal never reached Redis."""
    session, other = _open_session(capacity=2), _open_session(capacity=3)
    a, b, c = participants_make(3)
    _in(session, a)
    with gate_at("check_in.after_claim", "B") as b_gate:
        b_request = started(
            "B", lambda: session_check_in(session_id=session.pk, participant_id=b.pk)
        )
        b_gate.wait_for("B")  # b's claim is entering (Redis reserved b's place)
        _in(session, c)  # the last place goes to c
        outage(session, other)  # the rebuild read b entering, wrote {a, b, c}; paused at other
        b_gate.open()
        assert b_request.outcome().reason == Reason.SESSION_FULL  # its removal: denied
    outage.release.set()
    assert wait_until(is_redis_available, timeout=5)
    assert wait_until(lambda: _members(session) == _ids(a, c), timeout=5), _members(session)
