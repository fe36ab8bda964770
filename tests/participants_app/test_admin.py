"""Participants in the staff UI: search, read-only check-ins inline, the door actions."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from participants_app.models import Participant
from sessions_app.models import CheckIn, Session
from sessions_app.services import session_check_in
from tests.factories import participant_make, participants_make, session_make

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/participants_app/participant/"


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
    said = _messages(done)
    assert "Checked in to Door A" in said["success"] and "(now 2/2)" in said["success"]
    assert "(session full)" in said["error"]
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
    said = [m.message for m in done.context["messages"]]
    assert len(said) == 2 and all(m.startswith("Checked out of ") for m in said)
    assert [s.check_in_count for s in Session.objects.filter(pk__in=[first.pk, second.pk])] == [
        0,
        0,
    ]
    assert not CheckIn.objects.filter(checked_out_at=None).exists()


def _apply(admin_client, session_id, people):
    return admin_client.post(
        CHANGELIST,
        {
            "action": "check_in_to_session",
            "apply": "1",
            "session": str(session_id),
            ACTION_CHECKBOX_NAME: [str(p.pk) for p in people],
        },
        follow=True,
    )


def _messages(response) -> dict[str, str]:
    return {m.level_tag: m.message for m in response.context["messages"]}


def test_batch_check_in_names_who_was_refused_and_why_as_an_error(admin_client):
    session = session_make(title="Tiny room", capacity=1)
    uma, vic = participant_make(full_name="Uma Ortiz"), participant_make(full_name="Vic Park")
    said = _messages(_apply(admin_client, session.pk, [uma, vic]))
    assert "Uma Ortiz" in said["success"] and "1/1" in said["success"]
    assert "Vic Park (session full)" in said["error"] and "Tiny room" in said["error"]


def test_session_closing_while_the_form_is_open_checks_nobody_in_anywhere(admin_client):
    chosen = session_make(title="Closing soon")
    session_make(title="Still open")
    person = participant_make(full_name="Uma Ortiz")
    Session.objects.filter(pk=chosen.pk).update(status=Session.Status.CLOSED)  # meanwhile
    done = _apply(admin_client, chosen.pk, [person])
    said = _messages(done)
    assert "Closing soon" in said["error"] and "not open" in said["error"]
    assert "nobody" in said["error"].lower()
    assert not CheckIn.objects.exists()  # not in the chosen session, nor in any other


def test_session_deleted_while_the_form_is_open_asks_again_without_choosing_for_you(admin_client):
    gone = session_make(title="Deleted meanwhile")
    session_make(title="Still open")
    person = participant_make()
    gone_id = gone.pk
    gone.delete()
    page = _apply(admin_client, gone_id, [person])
    html = page.content.decode()
    assert "no longer exists" in html
    select = re.search(r'<select name="session".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)" selected>', select) in ([], [""])
    assert not CheckIn.objects.exists()


def test_check_out_says_from_which_session(admin_client):
    keynote = session_make(title="Opening keynote")
    person = participant_make(full_name="Uma Ortiz")
    session_check_in(session_id=keynote.pk, participant_id=person.pk)
    done = admin_client.post(
        CHANGELIST, {"action": "check_out", ACTION_CHECKBOX_NAME: [str(person.pk)]}, follow=True
    )
    said = _messages(done)
    assert "Uma Ortiz" in said["success"] and "Opening keynote" in said["success"]
