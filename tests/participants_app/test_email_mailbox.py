"""One mailbox, one participant: Unicode and IDNA spellings of an address are the same e-mail."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from participants_app.fields import email_normalize
from participants_app.imports.files import sheet_read
from participants_app.imports.rows import rows_check
from participants_app.models import Participant

SPELLINGS = ["dup@bücher.example", "dup@xn--bcher-kva.example", "dup@bu\u0308cher.example"]


def test_every_spelling_of_one_mailbox_normalises_to_one_address():
    assert {email_normalize(e) for e in SPELLINGS} == {"dup@xn--bcher-kva.example"}
    assert email_normalize(" Ada.Lovelace+x@Example.COM ") == "ada.lovelace+x@example.com"


@pytest.mark.django_db
def test_api_refuses_a_second_participant_for_the_same_mailbox(staff_client):
    first = staff_client.post(
        "/api/participants/", {"full_name": "A", "email": SPELLINGS[0]}, format="json"
    )
    assert first.status_code == 201, first.json()
    for spelling in SPELLINGS[1:]:
        response = staff_client.post(
            "/api/participants/", {"full_name": "B", "email": spelling}, format="json"
        )
        assert response.status_code == 400, (spelling, response.json())
        assert "email" in response.json()
    assert Participant.objects.count() == 1


@pytest.mark.django_db
def test_import_sees_the_spellings_as_one_mailbox():
    lines = "".join(f"P{i},{e}\n" for i, e in enumerate(SPELLINGS))
    sheet = sheet_read(content=f"name,email\n{lines}".encode(), name="a.csv")
    check = rows_check(sheet.rows)
    assert len(check.rows) == 1
    assert [e["line"] for e in check.errors] == [3, 4]


@pytest.mark.django_db
def test_report_command_normalises_unique_rows_and_leaves_clashes_untouched():
    collection = connection.database[Participant._meta.db_table]
    # Written behind the model's back, as rows stored before the rule were.
    for i, email in enumerate([*SPELLINGS[:2], "solo@bücher.example"]):
        collection.insert_one(
            {
                "full_name": f"P{i}",
                "email": email,
                "organization": "",
                "ticket_code": f"T-000{i}",
                "deleting": False,
            }
        )
    out = io.StringIO()
    call_command("participants_report_duplicate_emails", "--fix", stdout=out)
    stored = sorted(collection.distinct("email"))
    assert stored == sorted(
        ["dup@bücher.example", "dup@xn--bcher-kva.example", "solo@xn--bcher-kva.example"]
    )
    report = out.getvalue()
    assert "Normalised 1 e-mail(s)." in report
    assert "dup@xn--bcher-kva.example: " in report and "<dup@bücher.example>" in report
