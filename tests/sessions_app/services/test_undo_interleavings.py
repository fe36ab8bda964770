"""Undo and late check-outs interleaved with other requests, step by step on the real code path.

The undo (or the late check-out) is paused at a failpoint between each pair of its writes — before
its nonce claim (``undo.after_check``), after it (``undo.after_claim``), between the record's read
and its flip (``check_out.after_read``), after the flip (``check_out.after_record``), after the
decrement (``check_out.after_decrement``) — while another request for the same person runs; then
it goes on. The capacity invariants hold at every step and every answer is one the door can act on.
"""

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app.models import CheckIn, Scan
from sessions_app.services import session_check_in, session_check_out, session_scan_undo
from tests.factories import (
    assert_capacity_holds,
    nonce_age,
    participants_make,
    session_counter,
    session_inside,
    session_make,
)
from tests.interleaving import gate_at, started

pytestmark = pytest.mark.django_db

BEFORE_THE_FLIP = ["undo.after_check", "undo.after_claim", "check_out.after_read"]
AFTER_THE_FLIP = ["check_out.after_record", "check_out.after_decrement"]


def _in(session, person, nonce, actor="door"):
    return session_check_in(
        session_id=session.pk, participant_id=person.pk, nonce=nonce, actor=actor
    )


def _out(session, person, nonce="", **kwargs):
    return session_check_out(
        session_id=session.pk, participant_id=person.pk, nonce=nonce, actor="door-2", **kwargs
    )


def _undo(session, nonce):
    return lambda: session_scan_undo(session_id=session.pk, nonce=nonce, actor="door")


def _inside(session, person) -> bool:
    return CheckIn.objects.filter(
        session=session, participant=person, state=CheckIn.State.INSIDE
    ).exists()


def _annulled(session) -> int:
    return Scan.objects.filter(session=session, reason="annulled", replayed=False).count()


@pytest.fixture
def two_inside():
    """A session of 3 with Uma (scan n-1, to be undone) and Leo inside."""
    session = session_make(capacity=3)
    uma, leo, ada = participants_make(3)
    assert _in(session, uma, "n-1").reason == "checked_in"
    assert _in(session, leo, "n-2").reason == "checked_in"
    return session, uma, leo, ada


# --- an undo racing a check-out of the same person ----------------------------------------------


@pytest.mark.parametrize("pause", BEFORE_THE_FLIP)
def test_a_check_out_while_the_undo_waits_before_its_flip_wins_and_the_undo_is_superseded(
    two_inside, pause
):
    session, uma, _leo, _ada = two_inside
    with gate_at(pause, "U") as gate:
        undo = started("U", _undo(session, "n-1"))
        gate.wait_for("U")
        assert _out(session, uma).reason == "checked_out"
        assert_capacity_holds(session)
    assert undo.outcome().reason == "undo_superseded"
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session), _annulled(session)) == (1, 1, 0)


@pytest.mark.parametrize("pause", AFTER_THE_FLIP)
def test_a_check_out_while_the_undo_is_freeing_the_place_frees_it_once(two_inside, pause):
    session, uma, _leo, ada = two_inside
    with gate_at(pause, "U") as gate:
        undo = started("U", _undo(session, "n-1"))
        gate.wait_for("U")
        assert _out(session, uma).reason == "check_in_in_progress"  # the undo is deciding
        assert_capacity_holds(session)
    assert undo.outcome().reason == "annulled"
    assert _out(session, uma).reason == "not_checked_in"
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session), _annulled(session)) == (1, 1, 1)
    assert _in(session, ada, "n-3").reason == "checked_in"  # the freed place, counted once


@pytest.mark.parametrize("pause", ["check_out.after_record", "check_out.after_decrement"])
def test_an_undo_while_a_check_out_is_freeing_the_place_answers_in_progress_then_superseded(
    two_inside, pause
):
    session, uma, _leo, _ada = two_inside
    with gate_at(pause, "C") as gate:
        check_out = started("C", lambda: _out(session, uma))
        gate.wait_for("C")
        assert session_scan_undo(session_id=session.pk, nonce="n-1", actor="door").reason == (
            "check_in_in_progress"
        )
        assert_capacity_holds(session)
    assert check_out.outcome().reason == "checked_out"
    # The door retries the same undo: the in-progress answer was not kept as its verdict.
    assert _undo(session, "n-1")().reason == "undo_superseded"
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session), _annulled(session)) == (1, 1, 0)


# --- an undo racing its own retry ---------------------------------------------------------------


def test_an_undo_paused_before_its_claim_while_its_retry_decides_answers_the_retrys_verdict(
    two_inside,
):
    session, _uma, _leo, _ada = two_inside
    with gate_at("undo.after_check", "U1") as gate:
        first = started("U1", _undo(session, "n-1"))
        gate.wait_for("U1")
        retry = _undo(session, "n-1")()
        assert (retry.reason, retry.replayed) == ("annulled", False)
        assert_capacity_holds(session)
    late = first.outcome()
    assert (late.reason, late.replayed) == ("annulled", True)
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session), _annulled(session)) == (1, 1, 1)


@pytest.mark.parametrize("pause", ["undo.after_claim", *AFTER_THE_FLIP])
def test_a_retry_while_the_undo_decides_answers_in_progress_then_the_undos_verdict(
    two_inside, pause
):
    session, _uma, _leo, ada = two_inside
    with gate_at(pause, "U1") as gate:
        first = started("U1", _undo(session, "n-1"))
        gate.wait_for("U1")
        assert _undo(session, "n-1")().reason == "check_in_in_progress"
        assert_capacity_holds(session)
    assert (first.outcome().reason, first.outcome().replayed) == ("annulled", False)
    again = _undo(session, "n-1")()
    assert (again.reason, again.replayed) == ("annulled", True)
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session), _annulled(session)) == (1, 1, 1)
    assert _in(session, ada, "n-3").reason == "checked_in"


# --- an undo racing a new check-in of the same person -------------------------------------------


@pytest.mark.parametrize("pause", BEFORE_THE_FLIP)
def test_a_new_visit_made_while_the_undo_waits_is_never_undone(two_inside, pause):
    session, uma, _leo, _ada = two_inside
    with gate_at(pause, "U") as gate:
        undo = started("U", _undo(session, "n-1"))
        gate.wait_for("U")
        assert _out(session, uma, "n-3").reason == "checked_out"  # another door: out, then in
        assert _in(session, uma, "n-4", actor="door-2").reason == "checked_in"
        assert_capacity_holds(session)
    assert undo.outcome().reason == "undo_superseded"
    assert _inside(session, uma)  # the new visit stands
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session), _annulled(session)) == (2, 2, 0)


@pytest.mark.parametrize("pause", AFTER_THE_FLIP)
def test_a_check_in_while_the_undo_is_freeing_the_place_waits_for_it_then_gets_in_again(
    two_inside, pause
):
    session, uma, _leo, _ada = two_inside
    with gate_at(pause, "U") as gate:
        undo = started("U", _undo(session, "n-1"))
        gate.wait_for("U")
        # Still counted inside while the undo decides: never a second place.
        assert _in(session, uma, "n-3", actor="door-2").reason == "already_checked_in"
        assert_capacity_holds(session)
    assert undo.outcome().reason == "annulled"
    assert not _inside(session, uma)
    assert _in(session, uma, "n-4", actor="door-2").reason == "checked_in"
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session), _annulled(session)) == (2, 2, 1)


# --- a late check-out racing a re-entry ---------------------------------------------------------


def test_a_late_check_out_paused_before_its_flip_never_ends_a_visit_begun_after_its_scan():
    session = session_make(capacity=3)
    (uma,) = participants_make(1)
    _in(session, uma, "n-1")
    scanned_at = timezone.now() + dt.timedelta(milliseconds=1)  # after the check-in: it applies
    with gate_at("check_out.after_read", "L") as gate:
        late = started("L", lambda: _out(session, uma, "n-2", scanned_at=scanned_at))
        gate.wait_for("L")  # it read Uma inside since before its scan
        assert _out(session, uma, "n-3").reason == "checked_out"
        assert _in(session, uma, "n-4").reason == "checked_in"  # back in, after the late scan
        assert_capacity_holds(session)
    verdict = late.outcome()
    assert (verdict.reason, verdict.inside) == ("not_checked_in", True)
    assert "before the participant's latest check-in" in verdict.detail
    assert _inside(session, uma)
    assert_capacity_holds(session)
    assert (session_counter(session), session_inside(session)) == (1, 1)


@pytest.mark.parametrize(
    "pause",
    [
        "check_in.after_admit",  # the original got them in before its retry took its nonce over
        "check_in.after_claim",  # the retry got them in itself (the entry keeps the retry's op)
    ],
)
def test_an_undo_of_a_check_in_whose_retry_took_its_original_over(pause):
    """Either way the door showed one green for the scan: its undo annuls that visit."""
    session = session_make(capacity=2)
    (person,) = participants_make(1)
    with gate_at(pause, "original") as gate:
        original = started("original", lambda: _in(session, person, "n"))
        gate.wait_for("original")
        nonce_age(session, "n")  # the original looks gone: its retry takes it over
        assert _in(session, person, "n").reason == "checked_in"
    original.outcome()

    assert _undo(session, "n")().reason == "annulled"
    assert_capacity_holds(session)
    assert (session_inside(session), session_counter(session)) == (0, 0)


def test_an_undo_of_a_check_in_that_its_second_retry_admitted_annuls_it():
    """The original and its first retry both go before admitting; the second retry admits: the
    entry's ops are three, and the undo's condition on the record is one of them."""
    session = session_make(capacity=2)
    (person,) = participants_make(1)
    with gate_at("check_in.after_claim", "original", "first retry") as gate:
        original = started("original", lambda: _in(session, person, "n"))
        gate.wait_for("original")
        nonce_age(session, "n")
        first = started("first retry", lambda: _in(session, person, "n"))
        gate.wait_for("first retry")  # it took the original over, and claimed, and stopped
        nonce_age(session, "n")
        assert _in(session, person, "n").reason == "checked_in"  # the second retry admits
    original.outcome()
    first.outcome()

    assert _undo(session, "n")().reason == "annulled"
    assert_capacity_holds(session)
    assert (session_inside(session), session_counter(session)) == (0, 0)
