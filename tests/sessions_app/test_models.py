"""Session and CheckIn models: the counter a save never overwrites, fill percent, uniqueness."""

import pytest
from django.db import IntegrityError

from sessions_app.models import CheckIn, Session
from sessions_app.services import session_check_in
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db


def test_a_full_save_never_overwrites_the_counter():

    session = session_make()
    stale = Session.objects.get(pk=session.pk)
    session_check_in(session_id=session.pk, participant_id=participants_make(1)[0].pk)
    stale.title = "Edited with a stale copy"
    stale.check_in_count = 0
    stale.save()
    fresh = Session.objects.get(pk=session.pk)
    assert (fresh.title, fresh.check_in_count) == ("Edited with a stale copy", 1)


def test_fill_percent():
    assert Session(capacity=4, check_in_count=3).fill_percent == 75.0
    assert Session(capacity=0, check_in_count=0).fill_percent == 0.0


def test_unique_per_session_and_participant_in_the_database():

    session, (person,) = session_make(), participants_make(1)
    CheckIn.objects.create(session=session, participant=person)
    with pytest.raises(IntegrityError):
        CheckIn.objects.create(session=session, participant=person)
