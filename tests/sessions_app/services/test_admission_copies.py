"""The door's per-process copies of sessions and participants never change a decision.

Another process changes the documents behind this process's back (a queryset update: no signal
reaches this process's copies), and the next check-in must still decide by what MongoDB holds.
"""

import pytest

from core.exceptions import NotFoundError, NotFoundReason
from participants_app.models import Participant
from sessions_app.models import CheckIn, Session
from sessions_app.selectors import session_get_for_admission
from sessions_app.services import session_check_in, session_check_out
from sessions_app.services.admission_protocol import _admission_of
from sessions_app.verdicts import Reason
from tests.factories import participant_make, participants_make, session_counter, session_make

pytestmark = pytest.mark.django_db


def _check_in(session, **who):
    return session_check_in(session_id=session.pk, **who)


def test_a_ticket_given_to_someone_else_meanwhile_admits_nobody(settings):
    settings.DOOR_READ_CACHE_SECONDS = 60
    session, (holder, other) = session_make(capacity=5), participants_make(2)
    code = holder.ticket_code
    _check_in(session, participant_id=other.pk)  # the session is this process's copy now
    session_check_in(session_id=session_make().pk, ticket_code=code)  # the holder is copied
    Participant.objects.filter(pk=holder.pk).update(ticket_code="MOVED-AWAY-1")
    Participant.objects.filter(pk=other.pk).update(ticket_code=code)  # no signal here

    with pytest.raises(NotFoundError) as refused:
        _check_in(session, ticket_code=code)
    assert refused.value.reason == NotFoundReason.TICKET_NOT_FOUND
    assert not CheckIn.objects.filter(session_id=session.pk, participant_id=holder.pk).exists()
    assert session_counter(session) == 1


def test_a_session_closed_elsewhere_admits_nobody(settings):
    settings.DOOR_READ_CACHE_SECONDS = 60
    session, (first, second) = session_make(capacity=5), participants_make(2)
    assert _check_in(session, participant_id=first.pk).reason == Reason.CHECKED_IN
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CLOSED)

    assert _check_in(session, participant_id=second.pk).reason == Reason.SESSION_NOT_OPEN
    assert session_counter(session) == 1


def test_a_session_reopened_elsewhere_admits_at_once(settings):
    settings.DOOR_READ_CACHE_SECONDS = 60
    session = session_make(capacity=5, status=Session.Status.CLOSED)
    person = participant_make()
    assert _check_in(session, participant_id=person.pk).reason == Reason.SESSION_NOT_OPEN
    Session.objects.filter(pk=session.pk).update(status=Session.Status.OPEN)

    assert _check_in(session, participant_id=person.pk).reason == Reason.CHECKED_IN


def test_capacity_lowered_and_epoch_bumped_elsewhere_are_obeyed(settings):
    settings.DOOR_READ_CACHE_SECONDS = 60
    session, people = session_make(capacity=5), participants_make(3)
    assert _check_in(session, participant_id=people[0].pk).reason == Reason.CHECKED_IN
    # Another process: capacity down to 1, and a repair bumped the epoch.
    Session.objects.filter(pk=session.pk).update(capacity=1, epoch=7)

    verdict = _check_in(session, participant_id=people[1].pk)
    assert (verdict.reason, verdict.capacity) == (Reason.SESSION_FULL, 1)
    assert session_counter(session) == 1


def test_answers_from_the_copy_show_this_process_s_own_admissions(settings):
    """Someone already inside is answered from the copy (no count read): after this process's own
    check-ins and check-outs the copy has their counts, not the count it was made with."""
    settings.DOOR_READ_CACHE_SECONDS = 60
    session, (inside, second, third) = session_make(capacity=8), participants_make(3)
    assert _check_in(session, participant_id=inside.pk).check_in_count == 1  # copied at 0

    assert _check_in(session, participant_id=second.pk).check_in_count == 2
    assert _check_in(session, participant_id=third.pk).check_in_count == 3
    again = _check_in(session, participant_id=inside.pk)
    assert (again.reason, again.check_in_count) == (Reason.ALREADY_CHECKED_IN, 3)  # was 0

    assert session_check_out(session_id=session.pk, participant_id=third.pk).check_in_count == 2
    again = _check_in(session, participant_id=inside.pk)
    assert (again.reason, again.check_in_count) == (Reason.ALREADY_CHECKED_IN, 2)


def test_the_copy_never_takes_an_older_count(settings):
    """A slower request's count (read before another's) does not replace a newer one."""
    settings.DOOR_READ_CACHE_SECONDS = 60
    session, (first, second) = session_make(capacity=8), participants_make(2)
    _check_in(session, participant_id=first.pk)
    old = Session.objects.filter(pk=session.pk).values("check_in_count", "moves", "epoch").get()
    _check_in(session, participant_id=second.pk)
    assert session_get_for_admission(session_id=session.pk).check_in_count == 2
    _admission_of(
        {
            "_id": session.pk, "status": Session.Status.OPEN, "capacity": 8,
            "check_in_count": old["check_in_count"], "epoch": old["epoch"], "moves": old["moves"],
        }
    )  # fmt: skip
    assert session_get_for_admission(session_id=session.pk).check_in_count == 2
