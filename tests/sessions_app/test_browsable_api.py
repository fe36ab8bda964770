"""The browsable API's HTML forms work as a browser posts them (CSRF token included)."""

import json
import re
from html import unescape

import pytest
from django.test import Client

from participants_app.models import Participant
from sessions_app.models import Session
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(staff_user):
    """A signed-in browser: CSRF is enforced, as for a real one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


def _form_post(browser, url, fields):
    """Load the page, then post its HTML form as a browser does (multipart, CSRF token inside)."""
    page = browser.get(url, HTTP_ACCEPT="text/html")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    data = {"csrfmiddlewaretoken": token.decode(), **fields}
    return browser.post(url, data, HTTP_ACCEPT="text/html")


def _raw_body(html: str) -> dict:
    """The initial content of the raw-data form (what a user would post unchanged)."""
    raw = re.search(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    return json.loads(unescape(raw))


def test_html_form_check_in_and_check_out(browser):
    session, person = session_make(title="Forms talk"), participant_make(ticket_code="FORM-0001")
    url = f"/api/sessions/{session.pk}/check-in/"
    done = _form_post(browser, url, {"participant": "", "ticket_code": "FORM-0001", "nonce": ""})
    assert done.status_code == 201, done.content[:300]
    assert b"checked_in" in done.content
    out = _form_post(
        browser, f"/api/sessions/{session.pk}/check-out/", {"ticket_code": "FORM-0001"}
    )
    assert out.status_code == 200 and b"checked_out" in out.content
    assert Session.objects.get(pk=session.pk).check_in_count == 0
    assert person.full_name.encode() in out.content


def test_html_form_creates_a_session_and_a_participant(browser):
    created = _form_post(
        browser,
        "/api/sessions/",
        {
            "title": "Made in a form",
            "description": "",
            "location": "",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T10:00",
            "capacity": "12",
            "status": "open",
        },
    )
    assert created.status_code == 201, created.content[:300]
    assert Session.objects.get(title="Made in a form").capacity == 12
    person = _form_post(
        browser,
        "/api/participants/",
        {"full_name": "Form Person", "email": "form@example.com", "organization": ""},
    )
    assert person.status_code == 201, person.content[:300]
    assert Participant.objects.filter(email="form@example.com").exists()


def test_json_input_still_refuses_unknown_fields_even_a_csrf_key(staff_client):
    session = session_make()
    response = staff_client.post(
        f"/api/sessions/{session.pk}/check-in/",
        {"ticket_code": "ABCD-1", "csrfmiddlewaretoken": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"csrfmiddlewaretoken": ["Unknown field."]}


def test_check_in_page_opens_without_an_error_and_offers_a_sensible_raw_body(browser):
    session = session_make(title="Raw body talk", capacity=7)
    page = browser.get(f"/api/sessions/{session.pk}/check-in/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    html = page.content.decode()
    assert "HTTP 405" not in html and "Method Not Allowed" not in html
    body = _raw_body(html)
    assert set(body) == {"ticket_code", "nonce"}  # no empty participant id to trip over
    assert body["ticket_code"] == "" and len(body["nonce"]) >= 8
    out_page = browser.get(f"/api/sessions/{session.pk}/check-out/", HTTP_ACCEPT="text/html")
    assert _raw_body(out_page.content.decode()) == {"ticket_code": ""}


def test_get_on_the_door_endpoints_shows_the_door_state(staff_client):
    session = session_make(title="State talk", capacity=7)
    body = staff_client.get(f"/api/sessions/{session.pk}/check-in/").json()
    assert body["session_title"] == "State talk"
    assert (body["check_in_count"], body["capacity"], body["status"]) == (0, 7, "open")
    assert staff_client.get(f"/api/sessions/{'0' * 24}/check-out/").status_code == 404
