"""Participants in the staff UI: search, read-only check-ins inline, the door actions."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from participants_app.models import Participant
from sessions_app.models import CheckIn, Session
from sessions_app.services import session_check_in
from tests.factories import participant_make, participants_make, session_make

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/participants_app/participant/"


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="boss", password="boss-pass-123")
    client.force_login(user)
    return client


def test_search_by_name_email_and_ticket(admin_client):
    participant_make(full_name="Grace Hopper", email="grace@navy.example", ticket_code="NAVY-1906")
    participant_make(full_name="Alan Turing")
    for query in ("grace", "navy.example", "NAVY-1906"):
        html = admin_client.get(CHANGELIST, {"q": query}).content.decode()
        assert "Grace Hopper" in html and "Alan Turing" not in html


def test_change_form_shows_check_ins_inline_read_only(admin_client):
    session, person = session_make(title="Inline talk"), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk)
    page = admin_client.get(f"{CHANGELIST}{person.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Inline talk" in html
    assert "check_ins-0-session" not in html  # rendered as text, not as a form field


def test_change_form_saves_and_refuses_duplicate_email(admin_client):
    participant_make(email="taken@example.com")
    person = participant_make(full_name="Changer")
    data = {
        "full_name": "Changed",
        "email": "TAKEN@example.com",
        "organization": "",
        "ticket_code": person.ticket_code,
        "check_ins-TOTAL_FORMS": "0",
        "check_ins-INITIAL_FORMS": "0",
    }
    url = f"{CHANGELIST}{person.pk}/change/"
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert Participant.objects.get(pk=person.pk).full_name == "Changer"
    data["email"] = "Fresh@Example.com"
    assert admin_client.post(url, data).status_code == 302
    fresh = Participant.objects.get(pk=person.pk)
    assert (fresh.full_name, fresh.email) == ("Changed", "fresh@example.com")


def test_check_in_action_asks_for_the_session_then_respects_capacity(admin_client):
    session = session_make(title="Door A", capacity=2)
    session_make(title="Draft one", status="draft")
    people = participants_make(3)
    selected = [str(p.pk) for p in people]
    ask = admin_client.post(
        CHANGELIST, {"action": "check_in_to_session", ACTION_CHECKBOX_NAME: selected}
    )
    assert ask.status_code == 200
    html = ask.content.decode()
    assert "Door A" in html and "Draft one" not in html  # only open sessions
    done = admin_client.post(
        CHANGELIST,
        {
            "action": "check_in_to_session",
            "apply": "1",
            "session": str(session.pk),
            ACTION_CHECKBOX_NAME: selected,
        },
        follow=True,
    )
    assert done.status_code == 200
    message = done.content.decode()
    assert "checked in: 2" in message and "session full: 1" in message
    assert Session.objects.get(pk=session.pk).check_in_count == 2
    assert set(CheckIn.objects.values_list("source", flat=True)) == {"admin"}


def test_check_out_action_frees_the_places(admin_client):
    first, second = session_make(capacity=5), session_make(capacity=5)
    person, bystander = participants_make(2)
    for session in (first, second):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    done = admin_client.post(
        CHANGELIST,
        {"action": "check_out", ACTION_CHECKBOX_NAME: [str(person.pk), str(bystander.pk)]},
        follow=True,
    )
    assert "checked out: 2" in done.content.decode().lower()
    assert [s.check_in_count for s in Session.objects.filter(pk__in=[first.pk, second.pk])] == [
        0,
        0,
    ]
    assert not CheckIn.objects.filter(checked_out_at=None).exists()
