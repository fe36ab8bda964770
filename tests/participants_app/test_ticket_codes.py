"""Ticket codes: read out and typed at a door, so case and stray spaces must not matter."""

import importlib
import re

import pytest
from django.apps import apps
from django.db import connection

from participants_app.models import Participant, ticket_code_generate
from participants_app.selectors import participant_get_by_ticket, participant_get_for_admission
from sessions_app.services import session_check_in
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db

_READABLE = re.compile(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}")


def test_lookup_ignores_case_and_surrounding_spaces_with_one_equality_find(commands):
    person = participant_make(ticket_code="Uma-0001")
    with commands.counted():
        assert participant_get_by_ticket(ticket_code="  uMA-0001\t").pk == person.pk
    assert commands.names == ["find participants_app_participant"]
    assert commands.bodies[0]["filter"] == {"ticket_code": "UMA-0001"}
    session = session_make()
    verdict = session_check_in(session_id=session.pk, ticket_code=" uma-0001 ")
    assert verdict.participant == str(person.pk)


def test_api_check_in_by_ticket_ignores_case_and_spaces(staff_client):
    session, person = session_make(), participant_make(ticket_code="VIP-0042")
    response = staff_client.post(
        f"/api/sessions/{session.pk}/check-in/", {"ticket_code": "  vip-0042 "}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["participant_name"] == person.full_name


def test_codes_are_stored_normalised_so_case_variants_are_duplicates(staff_client):
    assert participant_make(ticket_code=" mixed-Case1 ").ticket_code == "MIXED-CASE1"
    response = staff_client.post(
        "/api/participants/",
        {"full_name": "Copy", "email": "copy@example.com", "ticket_code": "Mixed-case1"},
        format="json",
    )
    assert response.status_code == 400 and "ticket_code" in response.json()


def test_generated_codes_avoid_look_alikes_and_never_start_with_a_hyphen():
    codes = [ticket_code_generate() for _ in range(300)]
    assert all(_READABLE.fullmatch(code) for code in codes), codes[:5]
    assert len(set(codes)) == len(codes)
    assert _READABLE.fullmatch(participant_make().ticket_code)


def test_data_migration_normalises_existing_codes_and_refuses_case_clashes():
    migration = importlib.import_module("participants_app.migrations.0003_ticket_code_normalised")
    collection = connection.database[Participant._meta.db_table]
    collection.insert_many(
        [
            {
                "full_name": "Old",
                "email": "old@example.com",
                "ticket_code": "x7Kp-q2",
                "deleting": False,
            },
            {
                "full_name": "New",
                "email": "new@example.com",
                "ticket_code": "ABCD-2",
                "deleting": False,
            },
        ]
    )
    migration.ticket_codes_normalise(apps, None)
    assert sorted(d["ticket_code"] for d in collection.find()) == ["ABCD-2", "X7KP-Q2"]
    collection.insert_one(
        {
            "full_name": "Clash",
            "email": "clash@example.com",
            "ticket_code": "abcd-2",
            "deleting": False,
        }
    )
    with pytest.raises(RuntimeError, match="differ only in case"):
        migration.ticket_codes_normalise(apps, None)


def test_the_door_keeps_one_copy_per_ticket_whatever_the_case(settings):
    settings.DOOR_READ_CACHE_SECONDS = 60
    uma = participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    assert participant_get_for_admission(ticket_code="uma-0001").full_name == "Uma Ortiz"
    uma.full_name = "Uma Ortiz-Lee"
    uma.save()  # in this process: the copy of her ticket goes at once, whatever case made it
    assert participant_get_for_admission(ticket_code="uma-0001").full_name == "Uma Ortiz-Lee"
    assert participant_get_for_admission(ticket_code=" Uma-0001 ").full_name == "Uma Ortiz-Lee"
