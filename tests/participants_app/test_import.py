"""Participant import through the API: preview, confirm, the job's work, re-imports, errors."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from jobs_app.models import Job, OutboxMessage
from participants_app.imports.files import MAX_BYTES
from participants_app.imports.queries import participants_write
from participants_app.imports.rows import batch_plan
from participants_app.imports.services import IMPORT_TASK, participant_import_run
from participants_app.models import ImportChunk, Participant
from tests.factories import participant_make

pytestmark = pytest.mark.django_db

URL = "/api/participants/import/"
HEADER = "Full name;E-mail;Organization;Ticket code\n"


def upload(client, content: bytes, name: str = "people.csv"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def confirm_and_run(client, job_id: str) -> dict:
    """Confirm (the broker is up: published), then do the worker's work here."""
    response = client.post(f"{URL}{job_id}/confirm/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    assert participant_import_run(job_id=job_id) is False
    return client.get(f"/api/jobs/{job_id}/").json()


def test_preview_writes_nothing_then_confirm_imports_and_reimport_changes_nothing(staff_client):
    participant_make(full_name="Old Name", email="known@example.com", ticket_code="KNOWN-1")
    content = (
        HEADER + "Ada Lovelace;ADA@Example.com;Analytical;ada-0001\n"
        "Old Name Updated;KNOWN@example.com;New Org;\n"
        "Bad Row;not-an-email;;\n"
        "Ada Again;ada@example.com;;\n"
        "Bob Moog;bob@example.com;;KNOWN-1\n"
    ).encode()
    response = upload(staff_client, content)
    assert response.status_code == 201, response.content
    preview = response.json()
    assert preview["status"] == "pending"
    assert preview["counts"] == {"create": 1, "update": 1, "unchanged": 0, "error": 3}
    by_line = {row["line"]: row for row in preview["rows"]}
    assert [by_line[n]["action"] for n in (2, 3, 4, 5, 6)] == [
        "create",
        "update",
        "error",
        "error",
        "error",
    ]
    assert by_line[3]["changes"] == ["full_name", "organization"]
    assert by_line[4]["messages"] == ["Not a valid e-mail address."]
    assert by_line[4]["email"] == "not-an-email"  # the value is in the row, not in the message
    assert by_line[5]["messages"] == ["E-mail is also on line 2."]
    assert by_line[6]["messages"] == ["Ticket code belongs to someone else."]
    assert Participant.objects.count() == 1  # nothing written before the confirmation

    job = confirm_and_run(staff_client, preview["job"])
    assert (job["status"], job["total"], job["done"], job["percent"]) == ("done", 5, 5, 100.0)
    assert (job["created"], job["updated"], job["unchanged"], job["failed"]) == (1, 1, 0, 3)
    assert [e["line"] for e in job["errors"]] == [4, 5, 6]
    ada = Participant.objects.get(email="ada@example.com")
    assert (ada.full_name, ada.organization, ada.ticket_code) == (
        "Ada Lovelace",
        "Analytical",
        "ADA-0001",
    )
    known = Participant.objects.get(email="known@example.com")
    assert (known.full_name, known.organization, known.ticket_code) == (
        "Old Name Updated",
        "New Org",
        "KNOWN-1",  # the file gave no code: the existing one stays
    )
    stamps = dict(Participant.objects.values_list("email", "updated_at"))

    again = upload(staff_client, content).json()
    assert again["counts"] == {"create": 0, "update": 0, "unchanged": 2, "error": 3}
    job = confirm_and_run(staff_client, again["job"])
    assert (job["created"], job["updated"], job["unchanged"]) == (0, 0, 2)
    assert dict(Participant.objects.values_list("email", "updated_at")) == stamps
    assert Participant.objects.count() == 2


def test_reimport_changes_a_ticket_code_only_when_the_file_gives_one(staff_client):
    participant_make(full_name="Cy", email="cy@example.com", ticket_code="CY-0001")
    job_id = upload(staff_client, (HEADER + "Cy Twombly;cy@example.com;Art;\n").encode())
    job = confirm_and_run(staff_client, job_id.json()["job"])
    assert job["updated"] == 1
    assert Participant.objects.get(email="cy@example.com").ticket_code == "CY-0001"

    preview = upload(staff_client, (HEADER + "Cy Twombly;cy@example.com;Art;cy-0002\n").encode())
    assert preview.json()["rows"][0]["changes"] == ["ticket_code"]
    confirm_and_run(staff_client, preview.json()["job"])
    assert Participant.objects.get(email="cy@example.com").ticket_code == "CY-0002"


def test_xlsx_without_organization_column_keeps_organizations(staff_client):
    participant_make(full_name="Di", email="di@example.com", organization="Keep Me")
    book = Workbook()
    book.active.append(["E-mail", "Name"])
    book.active.append(["di@example.com", "Di Renamed"])
    book.active.append(["new@example.com", "New Person"])
    buffer = io.BytesIO()
    book.save(buffer)
    preview = upload(staff_client, buffer.getvalue(), "people.xlsx").json()
    assert preview["format"] == "xlsx"
    confirm_and_run(staff_client, preview["job"])
    assert Participant.objects.get(email="di@example.com").organization == "Keep Me"
    new = Participant.objects.get(email="new@example.com")
    assert new.organization == "" and len(new.ticket_code) == 14  # a generated code


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", "Not a spreadsheet"),
        (b"Ada,ada@example.com\n", "a.csv", "No usable header"),
        (b"x" * (MAX_BYTES + 1), "big.csv", "too large"),
    ],
)
def test_files_that_cannot_be_imported_are_a_400_in_drf_shape(staff_client, content, name, message):
    response = upload(staff_client, content, name)
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert not Job.objects.exists()


def test_upload_without_a_file_is_a_field_error(staff_client):
    response = staff_client.post(URL, {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()
    response = staff_client.post(URL, {"other": "x"}, format="multipart")
    assert response.json() == {"other": ["Unknown field."]}


def test_confirm_with_the_broker_down_keeps_the_job_queued_in_the_outbox(
    staff_client, redis_server
):
    preview = upload(staff_client, (HEADER + "Eve;eve@example.com;;\n").encode()).json()
    redis_server.kill()
    response = staff_client.post(f"{URL}{preview['job']}/confirm/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    message = OutboxMessage.objects.get(task_name=IMPORT_TASK)
    assert message.args == [preview["job"]] and message.published_at is None
    again = staff_client.post(f"{URL}{preview['job']}/confirm/")  # confirming twice: once
    assert again.status_code == 202
    assert OutboxMessage.objects.filter(task_name=IMPORT_TASK).count() == 1


def test_door_staff_and_plain_users_cannot_import_or_see_jobs(
    staff_client, door_client, plain_client
):
    content = (HEADER + "Eve;eve@example.com;;\n").encode()
    for client in (door_client, plain_client):
        assert upload(client, content).status_code == 403
    job_id = upload(staff_client, content).json()["job"]
    for client in (door_client, plain_client):
        assert client.post(f"{URL}{job_id}/confirm/").status_code == 403
        response = client.get(f"/api/jobs/{job_id}/")
        assert response.status_code == 404
        assert response.json()["reason"] == "job_not_found"
    assert staff_client.get("/api/jobs/nonsense/").json()["reason"] == "job_not_found"
    assert staff_client.get(f"/api/jobs/{job_id}/").json()["status"] == "pending"


def test_a_batch_written_but_not_marked_applied_is_counted_once_when_redelivered(staff_client):
    """The state a worker killed between a batch's writes and its "applied" mark leaves behind."""
    content = (HEADER + "A;a@example.com;;\nB;b@example.com;;\nC;c@example.com;;\n").encode()
    job_id = upload(staff_client, content).json()["job"]
    staff_client.post(f"{URL}{job_id}/confirm/")
    chunk = ImportChunk.objects.get(job_id=job_id)
    plan = batch_plan(chunk.rows, generate_codes=True)
    ImportChunk.objects.filter(pk=chunk.pk).update(plan=plan)
    first_two = [
        {"email": e["email"], "set": e["set"], "ticket_code": e["ticket_code"]} for e in plan[:2]
    ]
    assert participants_write(first_two) == {}  # ... and then the worker died

    assert participant_import_run(job_id=job_id) is False
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.created, job.failed, job.done) == ("done", 3, 0, 3)
    codes = {e["email"]: e["ticket_code"] for e in plan}
    assert dict(Participant.objects.values_list("email", "ticket_code")) == codes
    assert not ImportChunk.objects.filter(job_id=job_id).exists()  # rows dropped when done
