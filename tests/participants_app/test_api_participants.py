"""Participants API: create, generated ticket codes, case-insensitive e-mail, search, bad input."""

import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from participants_app.models import Participant
from participants_app.services import participant_create
from sessions_app.services import session_check_in
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def test_create_generates_a_readable_ticket_code_and_lowercases_email(staff_client):
    response = staff_client.post(
        "/api/participants/",
        {"full_name": "Ada Lovelace", "email": "Ada@Example.COM", "organization": "AE Ltd"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){2}", body["ticket_code"])
    assert len(body["id"]) == 24
    assert (
        staff_client.get(f"/api/participants/{body['id']}/").json()["full_name"] == "Ada Lovelace"
    )


def test_given_ticket_code_is_kept(staff_client):
    response = staff_client.post(
        "/api/participants/",
        {"full_name": "B", "email": "b@example.com", "ticket_code": "VIP-0001"},
        format="json",
    )
    assert response.json()["ticket_code"] == "VIP-0001"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"full_name": "Dup", "email": "TAKEN@example.com"}, "email"),
        (
            {"full_name": "Dup", "email": "fresh@example.com", "ticket_code": "TAKEN-1"},
            "ticket_code",
        ),
        ({"full_name": "X", "email": "not-an-email"}, "email"),
        ({"full_name": "", "email": "x@example.com"}, "full_name"),
        ({"full_name": "X", "email": "x@example.com", "ticket_code": "has space"}, "ticket_code"),
        ({"full_name": "X", "email": "x@example.com", "ticket_code": "é-accent"}, "ticket_code"),
        ({"full_name": "X", "email": "x@example.com", "role": "admin"}, "role"),
    ],
)
def test_bad_participant_input_400(staff_client, payload, field):
    participant_make(email="taken@example.com", ticket_code="TAKEN-1")
    response = staff_client.post("/api/participants/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Participant.objects.count() == 1


def test_update_to_a_duplicate_email_400(staff_client):
    participant_make(email="one@example.com")
    other = participant_make(email="two@example.com")
    response = staff_client.patch(
        f"/api/participants/{other.pk}/", {"email": "One@Example.com"}, format="json"
    )
    assert response.status_code == 400
    assert "email" in response.json()


def test_concurrent_duplicate_emails_one_wins_the_other_gets_a_field_error():
    """The unique index is the real guard; losing the race is a ValidationError, not a 500."""

    outcomes = []
    barrier = threading.Barrier(4)

    def create(n):
        try:
            barrier.wait()
            participant_create(full_name=f"Racer {n}", email="Race@Example.com")
            outcomes.append("created")
        except ValidationError as exc:
            outcomes.append(sorted(exc.message_dict))
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("created") == 1
    assert outcomes.count(["email"]) == 3
    assert Participant.objects.filter(email="race@example.com").count() == 1


def test_search_and_filters(staff_client):
    participant_make(
        full_name="Grace Hopper",
        email="grace@navy.example",
        ticket_code="NAVY-1906",
        organization="Navy",
    )
    participant_make(full_name="Alan Turing", email="alan@bletchley.example")

    def names(query):
        response = staff_client.get(f"/api/participants/?{query}")
        assert response.status_code == 200
        return [row["full_name"] for row in response.json()["results"]]

    assert names("search=hopper") == ["Grace Hopper"]
    assert names("search=bletchley") == ["Alan Turing"]
    assert names("search=NAVY-1906") == ["Grace Hopper"]
    assert names("ticket_code=NAVY-1906") == ["Grace Hopper"]
    assert names("organization=navy") == ["Grace Hopper"]
    assert names("ordering=-full_name") == ["Grace Hopper", "Alan Turing"]


@pytest.mark.parametrize("bad_id", ["nope", "0" * 24])
def test_unknown_or_invalid_id_404_with_reason(staff_client, bad_id):
    response = staff_client.get(f"/api/participants/{bad_id}/")
    assert response.status_code == 404
    assert response.json()["reason"] == "participant_not_found"


def test_delete(staff_client):
    person = participant_make()
    assert staff_client.delete(f"/api/participants/{person.pk}/").status_code == 204
    assert not Participant.objects.exists()


def test_delete_with_check_ins_409(staff_client):

    session, person = session_make(), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk)
    assert staff_client.delete(f"/api/participants/{person.pk}/").status_code == 409
    assert Participant.objects.filter(pk=person.pk).exists()
