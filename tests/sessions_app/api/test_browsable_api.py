"""The browsable API's HTML forms work as a browser posts them (CSRF token included)."""

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.test import Client

from participants_app.models import Participant
from sessions_app.models import Session
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client(staff_user):
    """A signed-in Django test client that enforces CSRF, as a real browser does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


def _form_post(csrf_client, url, fields):
    """Load the page, then post its HTML form as a browser does (multipart, CSRF token inside)."""
    page = csrf_client.get(url, HTTP_ACCEPT="text/html")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    data = {"csrfmiddlewaretoken": token.decode(), **fields}
    return csrf_client.post(url, data, HTTP_ACCEPT="text/html")


def _raw_body(html: str) -> dict:
    """The initial content of the raw-data form (what a user would post unchanged)."""
    raw = re.search(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    return json.loads(unescape(raw))


def test_html_form_check_in_and_check_out(csrf_client):
    session, person = session_make(title="Forms talk"), participant_make(ticket_code="FORM-0001")
    url = f"/api/sessions/{session.pk}/check-in/"
    done = _form_post(
        csrf_client, url, {"participant": "", "ticket_code": "FORM-0001", "nonce": ""}
    )
    assert done.status_code == 201, done.content[:300]
    assert b"checked_in" in done.content
    out = _form_post(
        csrf_client, f"/api/sessions/{session.pk}/check-out/", {"ticket_code": "FORM-0001"}
    )
    assert out.status_code == 200 and b"checked_out" in out.content
    assert Session.objects.get(pk=session.pk).check_in_count == 0
    assert person.full_name.encode() in out.content


def test_html_form_creates_a_session_and_a_participant(csrf_client):
    created = _form_post(
        csrf_client,
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
        csrf_client,
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


def test_check_in_page_opens_without_an_error_and_offers_a_sensible_raw_body(csrf_client):
    session = session_make(title="Raw body talk", capacity=7)
    page = csrf_client.get(f"/api/sessions/{session.pk}/check-in/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    html = page.content.decode()
    assert "HTTP 405" not in html and "Method Not Allowed" not in html
    body = _raw_body(html)
    assert set(body) == {"ticket_code", "nonce"}  # no empty participant id to trip over
    assert body["ticket_code"] == "" and len(body["nonce"]) >= 8
    out_page = csrf_client.get(f"/api/sessions/{session.pk}/check-out/", HTTP_ACCEPT="text/html")
    assert _raw_body(out_page.content.decode()) == {"ticket_code": ""}


def test_get_on_the_door_endpoints_shows_the_door_state(staff_client):
    session = session_make(title="State talk", capacity=7)
    body = staff_client.get(f"/api/sessions/{session.pk}/check-in/").json()
    assert body["session_title"] == "State talk"
    assert (body["check_in_count"], body["capacity"], body["status"]) == (0, 7, "open")
    assert staff_client.get(f"/api/sessions/{'0' * 24}/check-out/").status_code == 404


class _FormFields(HTMLParser):
    """The named fields of the browsable API's HTML POST form, with their initial values."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # > 0 inside <div id="post-object-form">
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and (self.depth or attrs.get("id") == "post-object-form"):
            self.depth += 1
        elif self.depth and tag in ("input", "select", "textarea") and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1


def _html_form(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    parser.fields.pop("csrfmiddlewaretoken", None)
    return parser.fields


def test_the_check_in_form_stays_the_input_form_after_a_post_and_posts_again(csrf_client):
    session = session_make(title="Again talk", capacity=5)
    participant_make(ticket_code="AGAIN-0001"), participant_make(ticket_code="AGAIN-0002")
    url = f"/api/sessions/{session.pk}/check-in/"
    first = _form_post(csrf_client, url, {"ticket_code": "AGAIN-0001", "nonce": "form-first"})
    assert first.status_code == 201, first.content[:300]
    form = _html_form(first.content.decode())
    assert set(form) == {"participant", "ticket_code", "nonce", "scanned_at"}, (
        form
    )  # not the verdict's fields
    assert form["nonce"] not in ("", "form-first")  # a fresh one: the next post is a new request
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', first.content).group(1)
    data = {"csrfmiddlewaretoken": token.decode(), **form, "ticket_code": "AGAIN-0002"}
    second = csrf_client.post(url, data, HTTP_ACCEPT="text/html")
    assert second.status_code == 201, second.content[:400]
    assert Session.objects.get(pk=session.pk).check_in_count == 2


def test_the_check_out_and_update_forms_stay_input_forms_after_a_post(csrf_client):
    session = session_make(title="Out talk")
    participant_make(ticket_code="OUT-0001")
    _form_post(csrf_client, f"/api/sessions/{session.pk}/check-in/", {"ticket_code": "OUT-0001"})
    out = _form_post(
        csrf_client, f"/api/sessions/{session.pk}/check-out/", {"ticket_code": "OUT-0001"}
    )
    assert out.status_code == 200
    assert {"participant", "ticket_code"} <= set(_html_form(out.content.decode()))
    assert not {"reason", "detail", "session_title"} & set(_html_form(out.content.decode()))
    created = _form_post(
        csrf_client,
        "/api/sessions/",
        {
            "title": "Formed",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T10:00",
            "capacity": "3",
            "status": "open",
        },
    )
    assert created.status_code == 201
    form = _html_form(created.content.decode())
    assert "title" in form and not {"id", "check_in_count"} & set(form), form


def test_endpoint_descriptions_are_rendered_markdown_not_backticks(csrf_client):
    session = session_make()
    html = csrf_client.get(f"/api/sessions/{session.pk}/check-in/", HTTP_ACCEPT="text/html").content
    after_title = html.decode().split('<div class="page-header">', 1)[1]
    description = after_title.split('<div class="pull-left">', 1)[1].split("</div>", 1)[0]
    assert "Check a participant in" in description
    assert "`" not in description
    assert "<code>ticket_code</code>" in description
