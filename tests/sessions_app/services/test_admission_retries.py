"""Retries of door requests (same nonce): a check-out's resend, and a retry after its original is gone.

A door resends a request whose answer was lost with the same body. A check-out's resend must not
check out someone who came back in meanwhile (it answers its original's verdict); a retry whose
original stalled past its deadline must get its final verdict within seconds, not after the
reconcile's minute — whichever of the original's writes land before or after the retry takes over.
"""

import threading
import time

import pymongo
import pytest
from django.conf import settings

from core import failpoints
from core.mongo_failures import is_database_unavailable
from sessions_app.api.verdict_status import verdict_http_status
from sessions_app.services import session_check_in, session_check_out
from tests.factories import (
    assert_capacity_holds,
    nonce_age,
    participants_make,
    session_counter,
    session_inside,
    session_make,
)
from tests.interleaving import deadline_runs_out, gate_at, started

pytestmark = pytest.mark.django_db


def _in(session, person, nonce):
    return session_check_in(session_id=session.pk, participant_id=person.pk, nonce=nonce)


def _out(session, person, nonce):
    return session_check_out(session_id=session.pk, participant_id=person.pk, nonce=nonce)


# --- A. a check-out's resend ----------------------------------------------------------------------


def test_a_check_out_resent_after_the_person_came_back_answers_checked_out_and_leaves_them_in():
    session = session_make(capacity=2)
    (person,) = participants_make(1)
    assert _in(session, person, "in-1").reason == "checked_in"
    assert _out(session, person, "out-a").reason == "checked_out"
    assert _in(session, person, "in-b").reason == "checked_in"

    replay = _out(session, person, "out-a")  # the resend of the lost check-out answer

    assert (replay.reason, replay.replayed, replay.inside) == ("checked_out", True, True)
    assert verdict_http_status(replay) == 200
    assert (session_inside(session), session_counter(session)) == (1, 1)


def test_a_check_out_resend_racing_its_original_changes_nothing_and_then_answers_its_verdict():
    session = session_make(capacity=2)
    person, other = participants_make(2)
    for p, nonce in ((person, "in-1"), (other, "in-2")):
        _in(session, p, nonce)
    with gate_at("check_out.after_record", "original") as gate:
        original = started("original", lambda: _out(session, person, "out-a"))
        gate.wait_for("original")  # its record is leaving, the counter still holds the place
        resend = _out(session, person, "out-a")
        assert resend.reason == "check_in_in_progress"
        assert_capacity_holds(session)
        assert session_counter(session) == 2
    assert original.outcome().reason == "checked_out"
    late = _out(session, person, "out-a")
    assert (late.reason, late.replayed, late.inside) == ("checked_out", True, False)
    assert (session_inside(session), session_counter(session)) == (1, 1)


def test_a_check_in_nonce_sent_with_a_check_out_is_refused_as_reused_and_checks_nobody_out():
    session = session_make(capacity=2)
    (person,) = participants_make(1)
    _in(session, person, "scan-1")

    verdict = _out(session, person, "scan-1")

    assert verdict.reason == "nonce_reused"
    assert (session_inside(session), session_counter(session)) == (1, 1)


def test_api_check_out_takes_a_nonce_and_answers_a_resend_with_the_original_verdict(door_client):
    session = session_make(capacity=2)
    (person,) = participants_make(1)
    url = f"/api/sessions/{session.pk}/"
    door_client.post(
        url + "check-in/", {"participant": str(person.pk), "nonce": "i1"}, format="json"
    )
    body = {"participant": str(person.pk), "nonce": "o1"}
    assert (
        door_client.post(url + "check-out/", body, format="json").json()["reason"] == "checked_out"
    )
    door_client.post(
        url + "check-in/", {"participant": str(person.pk), "nonce": "i2"}, format="json"
    )

    resend = door_client.post(url + "check-out/", body, format="json")

    assert resend.status_code == 200
    assert (resend.json()["reason"], resend.json()["replayed"], resend.json()["inside"]) == (
        "checked_out", True, True,
    )  # fmt: skip
    assert session_counter(session) == 1


# --- C. a retry after its original is gone -------------------------------------------------------


def test_a_retry_taking_over_an_original_stalled_after_its_increment_admits_once():
    session = session_make(capacity=1)
    (person,) = participants_make(1)
    with gate_at("check_in.after_increment", "original") as gate:
        original = started("original", lambda: _in(session, person, "n"))
        gate.wait_for("original")  # the counter holds its place; its record is still entering
        nonce_age(session, "n")

        retry = _in(session, person, "n")

        assert (retry.reason, retry.inside) == ("checked_in", True)
        assert_capacity_holds(session)
    # The original resumes after the takeover: its admit fails, its undo is fenced by the epoch.
    assert original.outcome().reason == "check_in_in_progress"
    assert (session_inside(session), session_counter(session)) == (1, 1)
    replay = _in(session, person, "n")
    assert (replay.reason, replay.replayed) == ("checked_in", True)


def test_a_retry_taking_over_an_original_stalled_after_its_claim_admits_once():
    session = session_make(capacity=1)
    (person,) = participants_make(1)
    with gate_at("check_in.after_claim", "original") as gate:
        original = started("original", lambda: _in(session, person, "n"))
        gate.wait_for("original")  # claimed, nothing counted yet
        nonce_age(session, "n")
        assert _in(session, person, "n").reason == "checked_in"
    # Its increment finds the session full with its own retry inside: never "session_full".
    assert original.outcome().reason == "check_in_in_progress"
    assert (session_inside(session), session_counter(session)) == (1, 1)


def test_a_retry_after_the_originals_admit_landed_answers_checked_in_not_alreadysession_inside():
    session = session_make(capacity=1)
    (person,) = participants_make(1)
    with gate_at("check_in.after_admit", "original") as gate:
        original = started("original", lambda: _in(session, person, "n"))
        gate.wait_for("original")  # admitted; its verdict is not in the scan log yet
        nonce_age(session, "n")

        retry = _in(session, person, "n")

        assert (retry.reason, retry.inside) == ("checked_in", True)
    assert original.outcome().reason == "checked_in"
    assert (session_inside(session), session_counter(session)) == (1, 1)


@pytest.mark.parametrize("stalled_at", ["check_out.after_record", "check_out.after_decrement"])
def test_a_check_out_retry_taking_over_its_stalled_original_frees_the_place_once(stalled_at):
    session = session_make(capacity=2)
    person, other = participants_make(2)
    for p, nonce in ((person, "in-1"), (other, "in-2")):
        _in(session, p, nonce)
    with gate_at(stalled_at, "original") as gate:
        original = started("original", lambda: _out(session, person, "out"))
        gate.wait_for("original")
        nonce_age(session, "out")

        retry = _out(session, person, "out")

        assert (retry.reason, retry.inside) == ("checked_out", False)
        assert_capacity_holds(session)
    assert original.outcome().reason == "checked_out"
    assert (session_inside(session), session_counter(session)) == (1, 1)


def test_a_retry_of_a_check_in_that_landed_answers_checked_in_though_another_door_let_them_out():
    """The original admitted the person, but its verdict never reached the scan log (the write
    failed) and its answer was lost; another door checked them out. The retry that takes the
    nonce over answers the original's verdict: it does not admit them a second time."""
    session = session_make(capacity=2)
    (person,) = participants_make(1)
    with failpoints.armed("scans.finish", deadline_runs_out):
        assert _in(session, person, "n").reason == "checked_in"  # the door hears nothing
    assert _out(session, person, "o").reason == "checked_out"
    nonce_age(session, "n")

    retry = _in(session, person, "n")

    assert (retry.reason, retry.inside) == ("checked_in", False)
    assert (session_inside(session), session_counter(session)) == (0, 0)


def test_a_retry_of_a_check_out_that_landed_leaves_the_next_visit_alone():
    """The same for a check-out: the person came back in meanwhile; the retry answers
    ``checked_out`` and does not end the visit that began after it."""
    session = session_make(capacity=2)
    (person,) = participants_make(1)
    _in(session, person, "in-1")
    with failpoints.armed("scans.finish", deadline_runs_out):
        assert _out(session, person, "out").reason == "checked_out"
    assert _in(session, person, "in-2").reason == "checked_in"
    nonce_age(session, "out")

    retry = _out(session, person, "out")

    assert (retry.reason, retry.inside) == ("checked_out", True)
    assert (session_inside(session), session_counter(session)) == (1, 1)


@pytest.mark.slow  # over a second: `make test` runs it
def test_a_door_retrying_every_second_gets_its_verdict_within_5_s_of_a_stalled_originals_deadline():
    deadline = settings.MONGODB_REQUEST_TIMEOUT_SECONDS
    assert deadline, "the request deadline is what bounds the original"
    session = session_make(capacity=1)
    (person,) = participants_make(1)
    release = threading.Event()

    def original_request():
        with pymongo.timeout(deadline):  # the middleware's deadline, as on the door's request
            return _in(session, person, "n")

    def stall(_name):  # the original only: it stalls past its deadline until the test ends
        if threading.current_thread().name == "original":
            release.wait(30)

    failpoints.arm("check_in.after_increment", stall)
    try:
        started_at = time.monotonic()
        original = started("original", original_request)
        gave_up_at = started_at + deadline  # the original answers 503 about here
        time.sleep(max(0.0, gave_up_at - time.monotonic()))
        verdict = None
        while time.monotonic() < gave_up_at + 5:  # the door retries after Retry-After: 1
            with pymongo.timeout(deadline):
                verdict = _in(session, person, "n")
            if verdict.reason != "check_in_in_progress":
                break
            time.sleep(1)
        assert verdict is not None
        assert verdict.reason == "checked_in", f"still {verdict.reason} 5 s after the deadline"
    finally:
        release.set()
        failpoints.disarm("check_in.after_increment")
    with pytest.raises(Exception) as stalled:  # resumed past its deadline: it sends nothing more
        original.outcome()
    assert is_database_unavailable(stalled.value)
    assert (session_inside(session), session_counter(session)) == (1, 1)
