"""The check-in service on the real servers: verdicts, idempotency, re-entry, precedence."""

import pytest
from django.db.models import F

from core.exceptions import NotFoundError
from sessions_app.api.verdict_status import verdict_http_status
from sessions_app.models import CheckIn, Session
from sessions_app.services import session_check_in, session_check_out
from sessions_app.verdicts import Reason
from tests.factories import participant_make, participants_make, session_make

pytestmark = pytest.mark.django_db


def _count(session) -> int:
    return Session.objects.get(pk=session.pk).check_in_count


def test_check_in_admits_and_counts_once():
    session, person = session_make(capacity=2), participant_make()
    verdict = session_check_in(session_id=str(session.pk), participant_id=str(person.pk))
    assert verdict.reason == Reason.CHECKED_IN
    assert verdict_http_status(verdict) == 201
    assert (verdict.check_in_count, verdict.capacity) == (1, 2)
    assert verdict.session == str(session.pk) and verdict.participant == str(person.pk)
    record = CheckIn.objects.get(session=session, participant=person)
    assert record.is_inside and record.source == "api"


def test_by_ticket_code():
    session, person = session_make(), participant_make(ticket_code="door-scan-01")
    verdict = session_check_in(session_id=session.pk, ticket_code="door-scan-01")
    assert verdict.reason == Reason.CHECKED_IN
    assert verdict.participant == str(person.pk)


def test_retry_same_nonce_answers_the_original_verdict_and_counts_once():
    session, person = session_make(capacity=5), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk, nonce="n-1")
    for _ in range(3):
        verdict = session_check_in(session_id=session.pk, participant_id=person.pk, nonce="n-1")
        assert (verdict.reason, verdict.replayed, verdict.inside) == (Reason.CHECKED_IN, True, True)
        assert verdict_http_status(verdict) == 200
        assert "same nonce" in verdict.detail
    assert _count(session) == 1
    assert CheckIn.objects.filter(session=session).count() == 1


def test_retry_same_participant_without_nonce_is_already_checked_in():
    session, person = session_make(capacity=5), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk)
    verdict = session_check_in(session_id=session.pk, participant_id=person.pk)
    assert (verdict.reason, verdict.replayed) == (Reason.ALREADY_CHECKED_IN, False)
    assert _count(session) == 1


def test_retry_after_session_filled_is_still_already_checked_in():
    session = session_make(capacity=1)
    person = participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk)
    verdict = session_check_in(session_id=session.pk, participant_id=person.pk)
    assert verdict.reason == Reason.ALREADY_CHECKED_IN


def test_full_session_refuses_with_counts():
    session = session_make(capacity=1)
    first, second = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=first.pk)
    verdict = session_check_in(session_id=session.pk, participant_id=second.pk)
    assert verdict.reason == Reason.SESSION_FULL
    assert verdict_http_status(verdict) == 409
    assert (verdict.check_in_count, verdict.capacity) == (1, 1)
    assert not CheckIn.objects.filter(participant=second).exists()


def test_zero_capacity_session_is_full():
    session, person = session_make(capacity=0), participant_make()
    assert (
        session_check_in(session_id=session.pk, participant_id=person.pk).reason == "session_full"
    )
    assert _count(session) == 0


@pytest.mark.parametrize("status", ["draft", "closed", "cancelled"])
def test_only_open_sessions_admit(status):
    session, person = session_make(status=status), participant_make()
    verdict = session_check_in(session_id=session.pk, participant_id=person.pk)
    assert verdict.reason == Reason.SESSION_NOT_OPEN
    assert verdict_http_status(verdict) == 409
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"session_id": "0" * 24}, Reason.SESSION_NOT_FOUND),
        ({"session_id": "not-an-id"}, Reason.SESSION_NOT_FOUND),
        ({"participant_id": "f" * 24}, Reason.PARTICIPANT_NOT_FOUND),
        ({"ticket_code": "nobody-has-this"}, Reason.TICKET_NOT_FOUND),
    ],
)
def test_unknown_things_raise_not_found(kwargs, reason):
    session, person = session_make(), participant_make()
    call = {"session_id": session.pk, "participant_id": person.pk} | kwargs
    if "ticket_code" in kwargs:
        call.pop("participant_id")
    with pytest.raises(NotFoundError) as caught:
        session_check_in(**call)
    assert caught.value.reason == reason


def test_check_out_then_in_again_keeps_count_right():
    session = session_make(capacity=1)
    first, second = participants_make(2)
    assert session_check_in(session_id=session.pk, participant_id=first.pk).check_in_count == 1
    out = session_check_out(session_id=session.pk, participant_id=first.pk)
    assert (out.reason, out.check_in_count) == (Reason.CHECKED_OUT, 0)
    assert session_check_out(session_id=session.pk, participant_id=first.pk).reason == (
        Reason.NOT_CHECKED_IN
    )
    assert _count(session) == 0
    assert session_check_in(session_id=session.pk, participant_id=second.pk).check_in_count == 1
    assert session_check_in(session_id=session.pk, participant_id=first.pk).reason == "session_full"
    session_check_out(session_id=session.pk, participant_id=second.pk)
    again = session_check_in(session_id=session.pk, participant_id=first.pk)
    assert (again.reason, again.check_in_count) == (Reason.CHECKED_IN, 1)
    assert CheckIn.objects.filter(session=session).count() == 2  # one record per pair, reused
    assert CheckIn.objects.get(participant=first).is_inside


def test_replayed_nonce_after_check_out_does_not_readmit():
    session, person = session_make(), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk, nonce="req-42")
    session_check_out(session_id=session.pk, participant_id=person.pk)
    replay = session_check_in(session_id=session.pk, participant_id=person.pk, nonce="req-42")
    # The original verdict, and the news that the person is not inside now.
    assert (replay.reason, replay.replayed, replay.inside) == (Reason.CHECKED_IN, True, False)
    assert _count(session) == 0
    fresh = session_check_in(session_id=session.pk, participant_id=person.pk, nonce="req-43")
    assert fresh.reason == Reason.CHECKED_IN
    assert _count(session) == 1


def test_check_out_of_a_closed_session_still_works():
    session, person = session_make(), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk)
    Session.objects.filter(pk=session.pk).update(status="closed")
    assert (
        session_check_out(session_id=session.pk, participant_id=person.pk).reason == "checked_out"
    )
    assert _count(session) == 0


def test_participant_inside_a_closed_session_gets_already_checked_in():
    session, person = session_make(), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk)
    Session.objects.filter(pk=session.pk).update(status="closed")
    assert session_check_in(session_id=session.pk, participant_id=person.pk).reason == (
        Reason.ALREADY_CHECKED_IN
    )


def test_counter_left_high_by_a_crash_errs_on_the_safe_side():
    """A crash between the increment and the record leaves the counter high: no overbooking."""
    session = session_make(capacity=2)
    first, second = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=first.pk)
    Session.objects.filter(pk=session.pk).update(check_in_count=F("check_in_count") + 1)
    assert (
        session_check_in(session_id=session.pk, participant_id=second.pk).reason == "session_full"
    )
    assert CheckIn.objects.filter(session=session, state=CheckIn.State.INSIDE).count() == 1
