"""The admission window: a session admits from "doors open" before its start until a grace after its
end; then beat closes it and checks out whoever is still inside, through the door protocol."""

import datetime as dt

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from door_app.answers import RecentScan
from jobs_app.schedule import SESSIONS_CLOSE_TASK, periodic_tasks_ensure
from sessions_app.api.verdict_status import verdict_http_status
from sessions_app.models import CheckIn, Scan, Session
from sessions_app.services import session_check_in, session_check_out, sessions_close_ended
from tests.factories import participants_make, session_counter, session_inside, session_make
from tests.interleaving import gate_at, started

pytestmark = pytest.mark.django_db


def _at(minutes_from_now: float, *, hours: float = 1, **fields) -> Session:
    """An open session starting ``minutes_from_now`` (negative: in the past), lasting ``hours``."""
    start = timezone.now() + dt.timedelta(minutes=minutes_from_now)
    return session_make(starts_at=start, ends_at=start + dt.timedelta(hours=hours), **fields)


def _end_now(session, minutes_ago: float = 60) -> None:
    """Move a session's times so that it ended ``minutes_ago`` (as time passing would)."""
    ends = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Session.objects.filter(pk=session.pk).update(
        starts_at=ends - dt.timedelta(hours=1), ends_at=ends
    )


def _check_in(session, person):
    return session_check_in(session_id=session.pk, participant_id=person.pk)


def test_a_session_whose_doors_are_not_open_yet_refuses_with_not_yet_open_and_counts_nobody():
    session = _at(45)  # doors open 30 minutes before the start: in 15 minutes
    (person,) = participants_make(1)

    verdict = _check_in(session, person)

    assert (verdict.reason, verdict_http_status(verdict)) == ("not_yet_open", 409)
    assert session_counter(session) == 0
    assert Scan.objects.get(session=session).reason == "not_yet_open"


def test_a_session_that_ended_yesterday_and_is_still_open_refuses_with_session_ended():
    session = _at(-26 * 60)  # started 26 hours ago, lasted one
    (person,) = participants_make(1)

    verdict = _check_in(session, person)

    assert (verdict.reason, verdict_http_status(verdict)) == ("session_ended", 409)
    assert session_counter(session) == 0
    assert Scan.objects.get(session=session).reason == "session_ended"


def test_doors_open_before_the_start_and_close_after_a_grace():
    early, late = _at(20), _at(-70)  # starts in 20 min; ended 10 min ago (grace: 15)
    a, b = participants_make(2)
    assert _check_in(early, a).reason == "checked_in"
    assert _check_in(late, b).reason == "checked_in"


def test_the_api_answers_409_session_ended_with_its_words(door_client):
    session = _at(-3 * 60)
    (person,) = participants_make(1)
    response = door_client.post(
        f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["reason"] == "session_ended"


def test_closing_an_ended_session_checks_everyone_out_once_and_logs_it_as_the_system():
    session = session_make(capacity=3)
    people = participants_make(2)
    for person in people:
        _check_in(session, person)
    _end_now(session)

    first = sessions_close_ended()
    second = sessions_close_ended()

    assert (first.closed, first.checked_out) == (1, 2)
    assert (second.closed, second.checked_out) == (0, 0)
    fresh = Session.objects.get(pk=session.pk)
    assert (fresh.status, fresh.check_in_count, session_inside(session)) == ("closed", 0, 0)
    scans = Scan.objects.filter(session=session, direction=Scan.Direction.OUT)
    assert sorted((s.reason, s.source) for s in scans) == [("session_ended", "system")] * 2
    assert RecentScan.of(scans[0]).label == "session ended"  # the door page's list shows it


def test_sessions_still_in_their_window_are_left_alone():
    session = session_make(capacity=3)
    (person,) = participants_make(1)
    _check_in(session, person)
    _end_now(session, minutes_ago=10)  # within the 15 minutes' grace

    assert sessions_close_ended().closed == 0
    assert (Session.objects.get(pk=session.pk).status, session_counter(session)) == ("open", 1)


def test_a_door_check_out_stalled_while_the_session_closes_is_counted_out_once():
    session = session_make(capacity=3)
    leaving, staying = participants_make(2)
    for person in (leaving, staying):
        _check_in(session, person)
    _end_now(session)
    with gate_at("check_out.after_record", "door") as gate:
        door = started(
            "door", lambda: session_check_out(session_id=session.pk, participant_id=leaving.pk)
        )
        gate.wait_for("door")  # its record is leaving; the counter still holds its place
        summary = sessions_close_ended()
        assert summary.checked_out == 1  # the other one; the door's check-out stays the door's
        assert session_counter(session) >= session_inside(session)
    assert door.outcome().reason == "checked_out"
    assert sessions_close_ended().checked_out == 0
    assert (session_counter(session), session_inside(session)) == (0, 0)


def test_a_door_check_out_while_the_closing_run_is_stalled_is_counted_out_once():
    session = session_make(capacity=3)
    (person,) = participants_make(1)
    _check_in(session, person)
    _end_now(session)
    with gate_at("check_out.after_record", "closer") as gate:
        closer = started("closer", sessions_close_ended)
        gate.wait_for("closer")  # the system's check-out is between its record and its decrement
        door = session_check_out(session_id=session.pk, participant_id=person.pk)
        assert door.reason == "check_in_in_progress"
        assert session_counter(session) == 1
    assert closer.outcome().checked_out == 1
    assert sessions_close_ended().checked_out == 0
    assert (session_counter(session), session_inside(session)) == (0, 0)
    assert CheckIn.objects.get(session=session).state == "out"


def test_bootstrap_registers_the_periodic_closing_of_ended_sessions():
    periodic_tasks_ensure()
    assert PeriodicTask.objects.filter(task=SESSIONS_CLOSE_TASK).exists()
