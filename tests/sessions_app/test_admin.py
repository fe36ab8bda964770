"""The staff UI for sessions and check-ins renders and keeps the counters read-only."""

import datetime as dt

import pytest
from django.utils import timezone

from core.staff_time import staff_time
from sessions_app.models import CheckIn, Scan, Session
from sessions_app.services import session_check_in, session_check_out, session_scan_undo
from tests.factories import participant_make, participants_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_session():
    session = session_make(title="Busy", capacity=4, location="Hall C")
    for person in participants_make(3):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    return session


def _form(session, **overrides):
    data = {
        "title": session.title,
        "description": session.description,
        "location": session.location,
        "starts_at_0": session.starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": session.starts_at.strftime("%H:%M:%S"),
        "ends_at_0": session.ends_at.strftime("%Y-%m-%d"),
        "ends_at_1": session.ends_at.strftime("%H:%M:%S"),
        "capacity": session.capacity,
        "status": session.status,
    }
    data.update(overrides)
    return data


def test_changelist_shows_counts_fill_filters_and_search(admin_client, busy_session):
    page = admin_client.get("/admin/sessions_app/session/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Busy" in html and "75.0 %" in html
    assert "checked in now" in html.lower() and "fill %" in html.lower()
    assert admin_client.get("/admin/sessions_app/session/?status__exact=open").status_code == 200
    found = admin_client.get("/admin/sessions_app/session/?q=hall+c")
    assert "Busy" in found.content.decode()
    year = busy_session.starts_at.year
    assert (
        admin_client.get(f"/admin/sessions_app/session/?starts_at__year={year}").status_code == 200
    )


def test_change_form_shows_counter_read_only_and_saves_through_the_service(
    admin_client, busy_session
):
    url = f"/admin/sessions_app/session/{busy_session.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="check_in_count"' not in page.content.decode()  # not an input anywhere
    response = admin_client.post(url, _form(busy_session, title="Busier", check_in_count=0))
    assert response.status_code == 302
    fresh = Session.objects.get(pk=busy_session.pk)
    assert (fresh.title, fresh.check_in_count) == ("Busier", 3)


def test_change_form_refuses_capacity_below_count(admin_client, busy_session):
    url = f"/admin/sessions_app/session/{busy_session.pk}/change/"
    response = admin_client.post(url, _form(busy_session, capacity=2))
    assert response.status_code == 200
    assert "checked in now (3)" in response.content.decode()
    assert Session.objects.get(pk=busy_session.pk).capacity == 4


def test_add_form_creates_a_session(admin_client, busy_session):
    response = admin_client.post(
        "/admin/sessions_app/session/add/", _form(busy_session, title="Fresh", capacity=9)
    )
    assert response.status_code == 302
    fresh = Session.objects.get(title="Fresh")
    assert (fresh.capacity, fresh.check_in_count) == (9, 0)


def test_add_form_refuses_end_before_start(admin_client, busy_session):
    data = _form(busy_session, title="Backwards")
    data["ends_at_0"], data["starts_at_0"] = data["starts_at_0"], "2099-01-01"
    response = admin_client.post("/admin/sessions_app/session/add/", data)
    assert response.status_code == 200
    assert not Session.objects.filter(title="Backwards").exists()


def test_check_in_records_are_listed_read_only(admin_client, busy_session):
    page = admin_client.get("/admin/sessions_app/checkin/")
    assert page.status_code == 200
    assert page.content.decode().count("Person ") >= 3
    assert admin_client.get("/admin/sessions_app/checkin/add/").status_code == 403
    assert admin_client.get("/admin/sessions_app/checkin/?q=Person").status_code == 200


def test_records_read_who_in_what():
    keynote = session_make(title="Opening keynote")
    uma = participant_make(full_name="Uma Ortiz")
    session_check_in(session_id=keynote.pk, participant_id=uma.pk)
    assert str(CheckIn.objects.get()) == "Uma Ortiz in Opening keynote"
    assert str(Scan.objects.get()) == "Uma Ortiz in Opening keynote: checked_in"


def test_session_page_lists_who_is_inside_and_links_to_its_scans(admin_client, busy_session):
    inside = list(busy_session.check_ins.select_related("participant"))
    session_check_out(session_id=busy_session.pk, participant_id=inside[0].participant_id)
    html = admin_client.get(f"/admin/sessions_app/session/{busy_session.pk}/change/").content
    html = html.decode()
    assert "Inside now (2)" in html
    assert inside[1].participant.full_name in html and inside[2].participant.full_name in html
    listed = html[html.index("Inside now (2)") : html.index("All inside")]
    assert inside[0].participant.full_name not in listed  # left (their scans are further down)
    assert f"/admin/sessions_app/scan/?session__id__exact={busy_session.pk}" in html


def test_check_in_list_filters_by_session_and_says_inside_now(admin_client, busy_session):
    other = session_make(title="Elsewhere")
    html = admin_client.get("/admin/sessions_app/checkin/").content.decode()
    assert "Inside now" in html and "Elsewhere" in html  # the presence and session filters
    only = admin_client.get(
        f"/admin/sessions_app/checkin/?session__id__exact={other.pk}&presence=inside"
    )
    assert only.status_code == 200 and "Person " not in only.content.decode()
    inside = admin_client.get(
        f"/admin/sessions_app/checkin/?session__id__exact={busy_session.pk}&presence=inside"
    )
    assert inside.content.decode().count("Person ") >= 3


def test_session_list_shows_the_end_time_in_the_event_time_zone(
    admin_client, busy_session, settings
):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30 all year
    html = admin_client.get("/admin/sessions_app/session/").content.decode()
    assert "Asia/Kolkata" in html
    local_end = timezone.localtime(busy_session.ends_at).strftime("%H:%M")
    utc_end = busy_session.ends_at.astimezone(dt.UTC).strftime("%H:%M")
    assert local_end in html and utc_end not in html
    assert "ends" in html.lower()


def test_scan_log_shows_both_times_and_links_an_undo_and_its_scan(admin_client):
    session = session_make(capacity=5)
    uma = participant_make(full_name="Uma Ortiz")
    scanned = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    session_check_in(
        session_id=session.pk, participant_id=uma.pk, nonce="n-1", actor="door", scanned_at=scanned
    )
    session_scan_undo(session_id=session.pk, nonce="n-1", actor="door")
    scan = Scan.objects.get(nonce="n-1")
    undo = Scan.objects.get(reason="annulled")

    page = admin_client.get("/admin/sessions_app/scan/").content.decode()

    assert f"scanned {staff_time(scanned, seconds=True)}" in page
    assert f'href="/admin/sessions_app/scan/{scan.pk}/change/">the scan undone' in page
    detail = admin_client.get(f"/admin/sessions_app/scan/{scan.pk}/change/").content.decode()
    assert f'href="/admin/sessions_app/scan/{undo.pk}/change/">undone at' in detail
