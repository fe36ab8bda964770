"""What organisers see in the admin: operations apart and last, the scan log in words, an add
form without read-only placeholders, times in the staff format."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from core.staff_time import staff_time
from sessions_app.models import CheckIn, Scan
from sessions_app.services import session_check_in
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db

EVENT_APPS = ("sessions_app", "participants_app", "auth")
OPERATIONS_APPS = ("axes", "django_celery_beat", "jobs_app", "authtoken")


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser(username="boss", password="x"))
    return client


@pytest.fixture
def full_session_scan():
    """A session of one place, one person inside and one refused at the door."""
    session = session_make(title="Workshop", capacity=1)
    for name in ("Uma Ortiz", "Vic Park"):
        session_check_in(
            session_id=session.pk,
            participant_id=participant_make(full_name=name).pk,
            source=CheckIn.Source.ADMIN,
            actor="boss",
        )
    return session


def test_operations_come_last_under_their_own_heading(boss):
    html = boss.get("/admin/").content.decode()
    heading = html.index('id="operations"')

    assert all(html.index(f'href="/admin/{label}/"') < heading for label in EVENT_APPS)
    assert all(html.index(f'href="/admin/{label}/"') > heading for label in OPERATIONS_APPS)


def test_scan_log_shows_verdicts_in_words(boss, full_session_scan):
    html = boss.get("/admin/sessions_app/scan/").content.decode()

    assert "Session full" in html and "Checked in" in html
    shown = re.sub(r'"[^"]*"', '""', html)  # the page's text, without links' query strings
    assert "session_full" not in shown and "checked_in" not in shown


def test_add_session_form_shows_no_read_only_placeholders(boss):
    html = boss.get("/admin/sessions_app/session/add/").content.decode()

    for label in ("Check in count", "Fill %", "Inside now", "Latest scans", "Created at"):
        assert label not in html
    assert 'name="title"' in html and 'name="capacity"' in html


def test_change_session_form_still_shows_the_counters(boss, full_session_scan):
    html = boss.get(f"/admin/sessions_app/session/{full_session_scan.pk}/change/").content.decode()

    assert "Check in count" in html and "Inside now" in html and "Uma Ortiz" in html


def test_admin_times_are_in_the_staff_format(boss, full_session_scan):
    session = full_session_scan
    scan = Scan.objects.filter(session=session).first()

    sessions_list = boss.get("/admin/sessions_app/session/").content.decode()
    scan_log = boss.get("/admin/sessions_app/scan/").content.decode()
    session_page = boss.get(f"/admin/sessions_app/session/{session.pk}/change/").content.decode()

    assert staff_time(session.starts_at) in sessions_list
    assert staff_time(scan.created_at, seconds=True) in scan_log
    assert staff_time(scan.created_at, seconds=True) in session_page  # its latest scans
