"""The admin's Conflicts page and lease list: offline scans the server disagreed with, by name."""

import pytest
from django.test import Client
from django.utils import timezone

from sessions_app.models import Lease
from sessions_app.services import session_check_in
from sessions_app.services.leases import OfflineScan, lease_sync, session_lease_grant
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def conflicted():
    session = session_make(title="Hall D panel", capacity=50)
    answer = session_lease_grant(session_id=session.pk, places=2, actor="door-7")
    ada, bob = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=ada.pk)
    now = timezone.now()
    lease_sync(
        lease=Lease.objects.get(pk=answer.lease.pk),
        scans=[
            OfflineScan(nonce="a-1", direction="in", scanned_at=now, participant=ada.pk),
            OfflineScan(nonce="a-2", direction="in", scanned_at=now, participant=bob.pk),
            OfflineScan(nonce="a-3", direction="in", scanned_at=now, ticket_code="NOPE-1"),
        ],
        actor="door-7",
    )
    return session, ada, bob


def test_the_conflicts_page_names_the_person_the_session_and_the_clash(admin_client, conflicted):
    _session, ada, bob = conflicted
    page = admin_client.get("/admin/sessions_app/scanconflict/")
    assert page.status_code == 200
    text = page.content.decode()
    assert ada.full_name in text and "Hall D panel" in text
    assert "Admitted offline here, but already inside (another door)" in text
    assert "NOPE-1" in text and "Ticket unknown to the server" in text
    assert bob.full_name not in text  # admitted through the lease: no conflict
    assert "the lease" in text


def test_the_lease_list_shows_who_holds_what(admin_client, conflicted):
    page = admin_client.get("/admin/sessions_app/lease/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "door-7" in text and "Hall D panel" in text and "Active" in text


def test_the_conflicts_page_needs_the_scan_log(django_user_model, conflicted):
    user = django_user_model.objects.create_user(username="clerk", password="p-12345678x",
                                                 is_staff=True)  # fmt: skip
    client = Client()
    client.force_login(user)
    assert client.get("/admin/sessions_app/scanconflict/").status_code == 403
