"""A participant's admin page reads that participant's scans, joined to nothing.

The history (sessions_app/admin_history.py) was ``select_related("session")``:
django-mongodb-backend (5.2) put the join's ``$lookup`` before the ``$match``, so every scan of
the whole log was joined to its session before the participant's were picked. Now the shown
scans' sessions come in one read by ``_id``, however many sessions they name.
"""

import pytest
from django.utils import timezone

from sessions_app.models import Scan
from tests.factories import participants_make, session_make
from tests.mongo_commands import assert_filters_first

pytestmark = pytest.mark.django_db

OTHER_SCANS = 300  # the rest of the scan log: the page must not read them


def _scans(sessions, person):
    Scan.objects.bulk_create(
        Scan(session=session, participant=person, participant_name=person.full_name,
             direction="in", reason="checked_in", nonce=f"{person.pk}-{i}", source="api",
             created_at=timezone.now())
        for i, session in enumerate(sessions)
    )  # fmt: skip


def _page(admin_client, commands, url):
    with commands.counted():
        response = admin_client.get(url)
    assert response.status_code == 200
    return response.content.decode(), list(commands.names)


def test_the_participants_history_starts_from_their_scans(admin_client, commands):
    ada, bob = participants_make(2)
    other = session_make(title="Hall B")
    _scans([other] * OTHER_SCANS, bob)
    _scans([session_make(title="Keynote A"), session_make(title="Workshop A")], ada)
    url = f"/admin/participants_app/participant/{ada.pk}/change/"
    admin_client.get(url)  # (the user's permissions read once)

    page, few = _page(admin_client, commands, url)

    assert "Keynote A" in page and "Workshop A" in page and "Hall B" not in page
    assert_filters_first(commands.bodies, "sessions_app_scan")

    _scans([session_make(title=f"Talk {i}") for i in range(4)], ada)
    page, more = _page(admin_client, commands, url)
    assert "Talk 3" in page
    assert len(more) == len(few), (few, more)  # one read of the shown scans' sessions, not N
