"""A session's check-in records are read from that session's records, joined to nothing.

The list was ``select_related("participant")``: django-mongodb-backend (5.2) put the join's
``$lookup`` before the ``$match``, so every check-in record of every session was joined to its
participant before the session's records were picked. Now the page's participants come in one
read by ``_id``, however many rows the page has.
"""

import pytest
from django.utils import timezone

from sessions_app.models import CheckIn
from tests.factories import participants_make, session_make
from tests.mongo_commands import assert_filters_first

pytestmark = pytest.mark.django_db

OTHER_RECORDS = 100  # other sessions' records: the page must not read them


def _records(session, people, state):
    CheckIn.objects.bulk_create(
        CheckIn(session=session, participant=person, state=state, checked_in_at=timezone.now())
        for person in people
    )


def _page(client, commands, url):
    with commands.counted():
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"], list(commands.names)


def test_the_check_in_list_starts_from_the_sessions_records(staff_client, commands):
    hall, other = session_make(title="Hall A"), session_make(title="Hall B")
    people = participants_make(OTHER_RECORDS)
    _records(other, people, CheckIn.State.INSIDE)
    _records(hall, people[:2], CheckIn.State.INSIDE)
    url = f"/api/sessions/{hall.pk}/check-ins/?inside=true"
    assert staff_client.get(url).status_code == 200  # (the user's permissions read once)

    rows, few = _page(staff_client, commands, url)

    assert sorted(r["participant_name"] for r in rows) == sorted(p.full_name for p in people[:2])
    assert_filters_first(commands.bodies, "sessions_app_checkin")

    _records(hall, people[2:6], CheckIn.State.INSIDE)
    rows, more = _page(staff_client, commands, url)
    assert sorted(r["participant_name"] for r in rows) == sorted(p.full_name for p in people[:6])
    assert len(more) == len(few), (few, more)  # one read of the page's participants, not N
