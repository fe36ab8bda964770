"""A lease's renew and sync read the lease by its ``_id`` alone, joined to nothing.

The read was ``select_related("session")``: django-mongodb-backend (5.2) put the join's
``$lookup`` before the ``$match``, so every lease ever granted was joined to its session before
the one lease was picked by ``_id`` (on the door's path, under the request's MongoDB deadline).
"""

import pytest
from django.utils import timezone

from sessions_app.models import Lease
from tests.factories import participants_make, session_make
from tests.mongo_commands import assert_filters_first

pytestmark = pytest.mark.django_db

OTHER_LEASES = 100


def _counted(commands, request):
    commands.names.clear()
    commands.counting = True
    try:
        return request()
    finally:
        commands.counting = False


def test_renew_and_sync_read_the_lease_by_id_and_join_nothing(door_client, commands):
    hall, other = session_make(capacity=50), session_make()
    (ada,) = participants_make(1)
    Lease.objects.bulk_create(
        Lease(session=other, holder=f"door {i}", state="active", expires_at=timezone.now())
        for i in range(OTHER_LEASES)
    )
    granted = door_client.post(f"/api/sessions/{hall.pk}/leases/", {"places": 3}, format="json")
    assert granted.status_code == 201, granted.content
    url = f"/api/leases/{granted.json()['lease']}/"

    renewed = _counted(commands, lambda: door_client.post(f"{url}renew/", {}, format="json"))
    assert (renewed.status_code, renewed.json()["session"]) == (200, str(hall.pk))
    assert_filters_first(commands.bodies, "sessions_app_lease")

    scan = {"participant": str(ada.pk), "nonce": "l-1", "direction": "in",
            "scanned_at": timezone.now().isoformat()}  # fmt: skip
    synced = _counted(
        commands, lambda: door_client.post(f"{url}sync/", {"scans": [scan]}, format="json")
    )
    assert synced.status_code == 200, synced.content
    assert synced.json()["results"][0]["reason"] == "checked_in"
    assert_filters_first(commands.bodies, "sessions_app_lease")
