"""The staff UI for sessions and check-ins renders and keeps the counters read-only."""

import pytest

from sessions_app.models import Session
from sessions_app.services import session_check_in
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="boss", password="boss-pass-123")
    client.force_login(user)
    return client


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
