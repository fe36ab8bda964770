"""The admission interleavings that broke the promise, built step by step on the real code path.

Each test stops a request at a failpoint between two of its writes (``core.failpoints``), runs
the reconcile, a retry, a check-out or a delete meanwhile, then lets it go on, and checks the
invariants: never more inside than the capacity, the counter never below the records inside, a
retry never answered ``session_full`` for someone who got in, nothing left behind.
"""

import pytest
from django.db.models import ProtectedError

from core.exceptions import NotFoundError
from participants_app.services import participant_delete
from redis_fallback import get_redis
from sessions_app.admission import admission_key
from sessions_app.api.verdict_status import verdict_http_status
from sessions_app.selectors import session_check_in_list
from sessions_app.services import (
    counters_reconcile,
    session_check_in,
    session_check_out,
    session_delete,
)
from tests.factories import (
    assert_capacity_holds,
    participants_make,
    session_counter,
    session_inside,
    session_make,
)
from tests.interleaving import gate_at, started

pytestmark = pytest.mark.django_db


def _check_in(session, person, **kwargs):
    return lambda: session_check_in(session_id=session.pk, participant_id=person.pk, **kwargs)


def _check_out(session, person):
    return lambda: session_check_out(session_id=session.pk, participant_id=person.pk)


# --- 1. the reconcile and a request stalled between its writes -----------------------------------


def test_stalled_check_in_and_a_reconcile_meanwhile_cannot_overbook():
    session = session_make(capacity=2)
    a, b, c = participants_make(3)
    session_check_in(session_id=session.pk, participant_id=a.pk)
    with gate_at("check_in.after_increment", "B") as gate:
        b_request = started("B", _check_in(session, b))
        gate.wait_for("B")  # B holds its place in the counter; its record is not inside yet
        counters_reconcile()  # sees the counter one above the records inside
        assert_capacity_holds(session)
    assert b_request.outcome().reason == "checked_in"
    assert_capacity_holds(session)
    assert session_check_in(session_id=session.pk, participant_id=c.pk).reason == "session_full"
    assert_capacity_holds(session)
    assert (session_inside(session), session_counter(session)) == (2, 2)


def test_stalled_check_out_and_a_reconcile_meanwhile_cannot_overbook():
    session = session_make(capacity=2)
    a, b, c, d = participants_make(4)
    for person in (a, b):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    with gate_at("check_out.after_record", "B") as gate:
        b_leaves = started("B", _check_out(session, b))
        gate.wait_for("B")  # B's record says leaving; the counter still holds B's place
        counters_reconcile()
        assert_capacity_holds(session)
    assert b_leaves.outcome().reason == "checked_out"
    assert_capacity_holds(session)
    admitted = [session_check_in(session_id=session.pk, participant_id=p.pk).reason for p in (c, d)]
    assert admitted == ["checked_in", "session_full"]
    assert_capacity_holds(session)
    assert (session_inside(session), session_counter(session)) == (2, 2)


# The reconcile ends operations it presumes dead (stale: here at once). A live request it ended
# must not count its place twice, whichever side of its counter write it was stalled on.


def test_a_stalled_check_out_ended_by_the_reconcile_does_not_free_its_place_twice():
    session = session_make(capacity=2)
    a, b, c, d = participants_make(4)
    for person in (a, b):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    with gate_at("check_out.after_record", "B") as gate:
        b_leaves = started("B", _check_out(session, b))
        gate.wait_for("B")
        summary = counters_reconcile(stale_seconds=0)  # ends B's check-out, frees its place
        assert (summary.ended_ops, summary.repaired) == (1, 1)
        assert_capacity_holds(session)
    b_leaves.outcome()
    assert_capacity_holds(session)
    assert (session_inside(session), session_counter(session)) == (1, 1)
    admitted = [session_check_in(session_id=session.pk, participant_id=p.pk).reason for p in (c, d)]
    assert admitted == ["checked_in", "session_full"]


def test_a_check_out_and_a_check_in_between_the_reconciles_reads_cannot_fool_its_repair():
    """The counter goes 1 -> 0 -> 1 while the reconcile reads: the same value, other people.

    The reconcile read the counter (1: A inside); A checks out before it reads the records (none
    inside: truth 0); B checks in before it writes. A repair conditional on the counter's value
    alone would set 0 with B inside.
    """
    session = session_make(capacity=3)
    a, b = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=a.pk)
    with (
        gate_at("reconcile.after_session_read", "R") as read_session,
        gate_at("reconcile.after_observe", "R") as read_records,
    ):
        reconcile = started("R", counters_reconcile)
        read_session.wait_for("R")
        assert session_check_out(session_id=session.pk, participant_id=a.pk).reason == "checked_out"
        read_session.open()
        read_records.wait_for("R")
        assert session_check_in(session_id=session.pk, participant_id=b.pk).reason == "checked_in"
    assert reconcile.outcome().repaired == 0
    assert_capacity_holds(session)
    assert (session_inside(session), session_counter(session)) == (1, 1)


@pytest.mark.parametrize("point", ["check_in.after_claim", "check_in.after_increment"])
def test_a_stalled_check_in_ended_by_the_reconcile_holds_no_place(point):
    session = session_make(capacity=2)
    a, b, c = participants_make(3)
    session_check_in(session_id=session.pk, participant_id=a.pk)
    with gate_at(point, "B") as gate:
        b_request = started("B", _check_in(session, b))
        gate.wait_for("B")
        assert counters_reconcile(stale_seconds=0).ended_ops == 1
        assert_capacity_holds(session)
    assert b_request.outcome().reason == "check_in_in_progress"  # the door retries
    assert_capacity_holds(session)
    assert (session_inside(session), session_counter(session)) == (1, 1)
    assert session_check_in(session_id=session.pk, participant_id=c.pk).reason == "checked_in"
    assert session_check_in(session_id=session.pk, participant_id=b.pk).reason == "session_full"


# --- 2. a retry that overlaps its original --------------------------------------------------------


@pytest.mark.parametrize("nonce", ["door-3-0001", ""], ids=["same-nonce", "no-nonce"])
def test_retry_overlapping_its_original_is_never_session_full(nonce):
    session = session_make(capacity=2)
    a, p = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=a.pk)
    with gate_at("check_in.after_increment", "R1") as gate:
        original = started("R1", _check_in(session, p, nonce=nonce))
        gate.wait_for("R1")  # counter at capacity, the original's record not inside yet
        retry = session_check_in(session_id=session.pk, participant_id=p.pk, nonce=nonce)
        assert retry.reason != "session_full"
        assert retry.reason == "check_in_in_progress"
        # The original's Redis reservation is still there.
        assert str(p.pk).encode() in get_redis().smembers(admission_key(session.pk))
    assert original.outcome().reason == "checked_in"
    again = session_check_in(session_id=session.pk, participant_id=p.pk, nonce=nonce)
    assert again.reason in {"checked_in", "already_checked_in"}  # the original's, or inside
    assert (session_inside(session), session_counter(session)) == (2, 2)


def test_retry_overlapping_its_original_with_redis_down(redis_server):
    redis_server.kill()
    session = session_make(capacity=2)
    a, p = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=a.pk)
    with gate_at("check_in.after_increment", "R1") as gate:
        original = started("R1", _check_in(session, p, nonce="door-3-0002"))
        gate.wait_for("R1")
        retry = session_check_in(session_id=session.pk, participant_id=p.pk, nonce="door-3-0002")
        assert retry.reason == "check_in_in_progress"
    assert original.outcome().reason == "checked_in"
    assert (session_inside(session), session_counter(session)) == (2, 2)


def test_a_duplicate_in_flight_never_takes_a_second_place():
    """While the original holds its place, neither a duplicate nor the room for others shrinks."""
    session = session_make(capacity=3)
    a, p, c = participants_make(3)
    session_check_in(session_id=session.pk, participant_id=a.pk)
    with gate_at("check_in.after_increment", "R1", "R2") as gate:
        original = started("R1", _check_in(session, p))
        gate.wait_for("R1")
        duplicate = started("R2", _check_in(session, p))
        # The third person gets the place that is free, whatever the duplicate does meanwhile.
        assert session_check_in(session_id=session.pk, participant_id=c.pk).reason == "checked_in"
        assert_capacity_holds(session)
    assert original.outcome().reason == "checked_in"
    assert duplicate.outcome().reason in {"check_in_in_progress", "already_checked_in"}
    assert (session_inside(session), session_counter(session)) == (3, 3)


# --- 3. an older nonce ----------------------------------------------------------------------------


def test_an_older_nonce_never_readmits():
    session = session_make(capacity=5)
    (p,) = participants_make(1)
    assert session_check_in(session_id=session.pk, participant_id=p.pk, nonce="n1").reason == (
        "checked_in"
    )
    session_check_out(session_id=session.pk, participant_id=p.pk)
    assert session_check_in(session_id=session.pk, participant_id=p.pk, nonce="n2").reason == (
        "checked_in"
    )
    session_check_out(session_id=session.pk, participant_id=p.pk)
    replay = session_check_in(session_id=session.pk, participant_id=p.pk, nonce="n1")
    assert verdict_http_status(replay) != 201
    assert (session_inside(session), session_counter(session)) == (0, 0)


# --- 4. a delete racing a check-in ----------------------------------------------------------------


def _delete(what: str, session, person) -> None:
    if what == "participant":
        participant_delete(participant=person)
    else:
        session_delete(session=session)


@pytest.mark.parametrize("what", ["participant", "session"])
def test_deleting_what_a_check_in_holds_a_place_for_is_refused(what):
    session = session_make(capacity=2)
    (p,) = participants_make(1)
    with gate_at("check_in.after_increment", "R") as gate:
        request = started("R", _check_in(session, p))
        gate.wait_for("R")
        with pytest.raises(ProtectedError):
            _delete(what, session, p)
    assert request.outcome().reason == "checked_in"
    assert (session_inside(session), session_counter(session)) == (1, 1)


@pytest.mark.parametrize("what", ["participant", "session"])
def test_a_check_in_whose_participant_or_session_is_deleted_meanwhile_leaves_nothing(what):
    session = session_make(capacity=2)
    (p,) = participants_make(1)
    with gate_at("check_in.resolved", "R") as gate:
        request = started("R", _check_in(session, p))
        gate.wait_for("R")  # resolved both; nothing written yet
        _delete(what, session, p)
    with pytest.raises(NotFoundError):
        request.outcome()
    assert session_check_in_list(session_id=session.pk).count() == 0
