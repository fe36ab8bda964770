"""An acknowledged check-in survives MongoDB being killed (-9) right after the answer (real server)."""

import pytest
from django.db import connection

from sessions_app.models import CheckIn
from sessions_app.services import session_check_in
from tests.factories import participants_make, session_make

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_acknowledged_check_ins_survive_a_kill_of_mongodb(own_mongo):
    session = session_make(capacity=100)
    admitted = []
    for person in participants_make(40):
        verdict = session_check_in(session_id=session.pk, participant_id=person.pk)
        assert verdict.reason == "checked_in"
        admitted.append(str(person.pk))
    own_mongo.kill()  # SIGKILL at once after the last answer: nothing gets flushed by a shutdown
    own_mongo.start()  # the same data directory
    connection.close_pool()
    inside = {
        str(pk)
        for pk in CheckIn.objects.filter(session=session).values_list("participant_id", flat=True)
    }
    assert inside == set(admitted)
