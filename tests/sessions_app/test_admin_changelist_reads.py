"""The admin's check-in, scan log, conflicts and lease changelists join nothing.

They had ``list_select_related``: django-mongodb-backend (5.2) puts the join's ``$lookup`` before
the ``$match`` and before the page's ``$sort`` and ``$limit``, so every record of the collection
(the whole scan log) was joined before the page's rows were picked, filtered or not. Now each
page's sessions and participants come in one read by ``_id`` each, however many rows it shows.
"""

import pytest
from django.utils import timezone

from sessions_app.models import CheckIn, Lease, Scan
from tests.factories import participants_make, session_make
from tests.mongo_commands import assert_joins_nothing

pytestmark = pytest.mark.django_db

OTHER_ROWS = 60  # another session's rows: a session's page must not read them


def _rows(session, people, *, start=0):
    now = timezone.now()
    CheckIn.objects.bulk_create(
        CheckIn(session=session, participant=p, state="inside", checked_in_at=now) for p in people
    )
    Scan.objects.bulk_create(
        Scan(session=session, participant=p, participant_name=p.full_name, direction="in",
             reason="checked_in", nonce=f"{session.pk}-{start + i}", source="offline",
             conflict="admitted_elsewhere", created_at=now)
        for i, p in enumerate(people)
    )  # fmt: skip
    Lease.objects.bulk_create(
        Lease(session=session, holder=f"door {start + i}", state="active", expires_at=now)
        for i in range(len(people))
    )


PAGES = {
    "checkin": "sessions_app_checkin",
    "scan": "sessions_app_scan",
    "scanconflict": "sessions_app_scan",
    "lease": "sessions_app_lease",
}


def _get(admin_client, commands, url):
    with commands.counted():
        response = admin_client.get(url)
    assert response.status_code == 200, url
    return response.content.decode(), list(commands.names)


@pytest.mark.parametrize("page", PAGES)
def test_the_changelists_join_nothing_and_read_a_bounded_number_of_times(
    admin_client, commands, page
):
    hall, other = session_make(title="Hall A keynote"), session_make(title="Hall B")
    people = participants_make(OTHER_ROWS)
    _rows(other, people)
    _rows(hall, people[:2], start=OTHER_ROWS)
    every = f"/admin/sessions_app/{page}/"
    one = f"{every}?session__id__exact={hall.pk}"
    admin_client.get(every)  # (the user's permissions read once)

    for url in (every, one):
        content, _names = _get(admin_client, commands, url)
        assert "Hall A keynote" in content
        if page == "checkin":
            assert people[0].full_name in content
        assert_joins_nothing(commands.bodies, PAGES[page])

    _content, few = _get(admin_client, commands, one)
    _rows(hall, people[2:7], start=OTHER_ROWS + 2)
    content, more = _get(admin_client, commands, one)
    if page == "checkin":
        assert people[6].full_name in content
    assert len(more) == len(few), (few, more)  # one read per related model, not one per row
