"""Every CSV export defuses a cell a spreadsheet would run as a formula; numbers stay numbers."""

import csv
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from core.csv_export import csv_cell
from sessions_app.services import session_check_in
from tests.factories import participant_make, session_make

PREFIXES = ["=", "+", "-", "@", "\t", "\r"]
PAYLOADS = {p: f"{p}2+3+cmd|' /C calc'!A0" for p in PREFIXES}
PAYLOADS["-"] = '-1+HYPERLINK("http://evil.example","x")'


def _cells(body: bytes) -> list[str]:
    text = body.decode("utf-8").lstrip("\ufeff")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _api(client, session):
    return {
        "participants": lambda: client.get("/api/participants/export/?format=csv"),
        "inside": lambda: client.get(f"/api/sessions/{session.pk}/attendance/?format=csv"),
        "history": lambda: client.get(f"/api/sessions/{session.pk}/attendance/history/?format=csv"),
    }


def _admin(client, session, participant):
    people = "/admin/participants_app/participant/"
    sessions = "/admin/sessions_app/session/"
    return {
        "admin participants": lambda: client.post(
            people, {"action": "export_participants_action", ACTION_CHECKBOX_NAME: [participant.pk]}
        ),
        "admin inside": lambda: client.post(
            sessions, {"action": "export_inside_action", ACTION_CHECKBOX_NAME: [session.pk]}
        ),
        "admin history": lambda: client.post(
            sessions, {"action": "export_history_action", ACTION_CHECKBOX_NAME: [session.pk]}
        ),
    }


ENDPOINTS = ["participants", "inside", "history", "admin participants", "admin inside"]
ENDPOINTS += ["admin history"]


# Every export with every prefix in `make test`; in `make check` a diagonal of it: each export and
# each prefix once (the cell rule itself is one function, csv_cell, tested below for each prefix).
MATRIX = [
    pytest.param(
        endpoint,
        prefix,
        id=f"{prefix!r}-{endpoint}",
        marks=() if e % len(PREFIXES) == p else pytest.mark.slow,
    )
    for p, prefix in enumerate(PREFIXES)
    for e, endpoint in enumerate(ENDPOINTS)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "prefix"), MATRIX)
def test_export_defuses_a_formula_in_names_and_titles(
    endpoint, prefix, staff_client, client, staff_user
):
    payload = PAYLOADS[prefix]
    session = session_make(title=payload)
    person = participant_make(full_name=payload, organization=payload)
    session_check_in(session_id=session.pk, participant_id=person.pk, actor="alice")
    client.force_login(staff_user)
    responses = {**_api(staff_client, session), **_admin(client, session, person)}
    response = responses[endpoint]()
    assert response.status_code == 200
    cells = _cells(b"".join(response.streaming_content))
    assert "'" + payload in cells
    assert not [cell for cell in cells if cell.startswith(tuple(PREFIXES))]


def test_numbers_stay_numbers_and_text_that_looks_negative_is_defused():
    assert csv_cell(-3) == "-3"
    assert csv_cell(-2.5) == "-2.5"
    assert csv_cell(0) == "0"
    assert csv_cell("-3") == "'-3"
    assert csv_cell("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"


@pytest.mark.parametrize("prefix", PREFIXES, ids=repr)
def test_every_formula_prefix_is_defused_by_the_cell_rule(prefix):
    assert csv_cell(PAYLOADS[prefix]) == "'" + PAYLOADS[prefix]
