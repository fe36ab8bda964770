"""Import data retention: unconfirmed previews expire, finished reports lose their personal data."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from jobs_app.models import Job
from jobs_app.schedule import IMPORT_RETENTION_TASK
from participants_app.imports.retention import participant_imports_retain
from participants_app.imports.services import participant_import_run
from participants_app.models import ImportChunk, Participant

pytestmark = pytest.mark.django_db

URL = "/api/participants/import/"
CHANGELIST = "/admin/participants_app/participant/"
# One good row, one with a duplicate e-mail and one with a ticket code taken within the file.
CSV = (
    b"Full name;E-mail;Organization;Ticket code\n"
    b"Ada Lovelace;ada@example.com;Analytical;ADA-0001\n"
    b"Ada Again;ada@example.com;;\n"
    b"Bob Moog;bob@example.com;;ADA-0001\n"
)
PII = ("Ada", "Bob", "ada@example.com", "bob@example.com", "ADA-0001", "Analytical")


def upload(client) -> str:
    response = client.post(URL, {"file": SimpleUploadedFile("people.csv", CSV)}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["job"]


def age_job(job_id: str, *, hours: float, field: str = "created_at") -> None:
    """Move a job's creation (or end) this many hours into the past."""
    Job.objects.filter(pk=job_id).update(**{field: timezone.now() - dt.timedelta(hours=hours)})


def stored_text(job_id: str) -> str:
    """Everything kept about an import: its job's report and its stored rows."""
    job = Job.objects.get(pk=job_id)
    rows = list(ImportChunk.objects.filter(job_id=job.pk).values_list("rows", "plan"))
    return repr(job.report) + repr(rows)


def test_row_errors_name_no_value_only_lines_and_columns(staff_client):
    job_id = upload(staff_client)
    report = Job.objects.get(pk=job_id).report
    messages = " ".join(m for e in report["invalid"] for m in e["messages"])
    assert "also on line 2" in messages
    for value in PII:
        assert value not in messages


def test_unconfirmed_preview_expires_after_the_setting(staff_client, settings):
    settings.IMPORT_PREVIEW_EXPIRY_HOURS = 24
    job_id = upload(staff_client)
    age_job(job_id, hours=23)
    participant_imports_retain()
    assert Job.objects.get(pk=job_id).status == Job.Status.PENDING  # not before its time
    assert ImportChunk.objects.filter(job_id=job_id).exists()

    age_job(job_id, hours=25)
    summary = participant_imports_retain()
    assert summary["previews_expired"] == 1
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.EXPIRED
    assert not ImportChunk.objects.filter(job_id=job.pk).exists()
    kept = stored_text(job_id)
    for value in PII:
        assert value not in kept
    assert job.report["preview"]["counts"] == {"create": 1, "update": 0, "unchanged": 0, "error": 2}

    response = staff_client.post(f"{URL}{job_id}/confirm/")
    assert response.status_code == 409, response.content
    assert response.json() == {
        "detail": "This preview expired; upload the file again.",
        "reason": "preview_expired",
    }
    assert Job.objects.get(pk=job_id).status == Job.Status.EXPIRED


def test_confirming_an_old_preview_before_the_sweep_is_refused(staff_client, settings):
    settings.IMPORT_PREVIEW_EXPIRY_HOURS = 24
    job_id = upload(staff_client)
    age_job(job_id, hours=25)
    response = staff_client.post(f"{URL}{job_id}/confirm/")
    assert response.status_code == 409 and response.json()["reason"] == "preview_expired"
    assert Job.objects.get(pk=job_id).status == Job.Status.EXPIRED
    assert not ImportChunk.objects.filter(job_id=job_id).exists()
    assert not Participant.objects.exists()


def test_admin_says_an_expired_preview_must_be_uploaded_again(client, staff_user):
    client.force_login(staff_user)
    response = client.post(f"{CHANGELIST}import/", {"file": SimpleUploadedFile("p.csv", CSV)})
    preview_url = response["Location"]
    job = Job.objects.get()
    age_job(str(job.pk), hours=25)
    for method in (client.get, client.post):  # viewing it, and confirming it
        response = method(preview_url, follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == f"{CHANGELIST}import/"
        assert "This preview expired; upload the file again." in response.content.decode()
    progress = client.get(f"{preview_url}progress/", follow=True)
    assert "This preview expired; upload the file again." in progress.content.decode()
    assert Job.objects.get().status == Job.Status.EXPIRED
    assert not Participant.objects.exists()


def test_finished_report_drops_personal_data_after_the_setting(client, staff_user, settings):
    settings.IMPORT_REPORT_PII_HOURS = 168
    client.force_login(staff_user)
    response = client.post(f"{CHANGELIST}import/", {"file": SimpleUploadedFile("p.csv", CSV)})
    client.post(response["Location"])
    job = Job.objects.get()
    participant_import_run(job_id=str(job.pk))
    progress_url = f"{response['Location']}progress/"

    age_job(str(job.pk), hours=167, field="finished_at")
    participant_imports_retain()
    assert "bob@example.com" in stored_text(str(job.pk))  # not before its time
    assert "bob@example.com" in client.get(progress_url).content.decode()

    age_job(str(job.pk), hours=169, field="finished_at")
    assert participant_imports_retain()["reports_scrubbed"] == 1
    kept = stored_text(str(job.pk))
    for value in PII:
        assert value not in kept
    job = Job.objects.get()
    assert (job.status, job.created, job.failed) == (Job.Status.DONE, 1, 2)
    assert [e["line"] for e in job.report["errors"]] == [3, 4]
    assert "also on line 2" in job.report["errors"][0]["messages"][0]

    html = client.get(progress_url).content.decode()
    assert "Row details removed after 7 days" in html
    assert "also on line 2" in html
    for value in ("ada@example.com", "bob@example.com", "ADA-0001"):
        assert value not in html
    api = client.get(f"/api/jobs/{job.pk}/").json()
    assert [e["line"] for e in api["errors"]] == [3, 4] and "email" not in api["errors"][0]
    assert participant_imports_retain()["reports_scrubbed"] == 0  # once


def test_failed_import_keeps_no_rows_after_the_setting(staff_client, settings):
    settings.IMPORT_REPORT_PII_HOURS = 168
    job_id = upload(staff_client)
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED, finished_at=timezone.now() - dt.timedelta(hours=169)
    )
    assert ImportChunk.objects.filter(job_id=job_id).exists()
    participant_imports_retain()
    assert not ImportChunk.objects.filter(job_id=job_id).exists()
    kept = stored_text(job_id)
    for value in PII:
        assert value not in kept


def test_bootstrap_schedules_the_retention_task_and_the_task_runs_it(staff_client, settings):
    call_command("bootstrap", "--no-demo", verbosity=0)
    entry = PeriodicTask.objects.get(task=IMPORT_RETENTION_TASK)
    assert entry.enabled and entry.interval.every == 3600

    settings.IMPORT_PREVIEW_EXPIRY_HOURS = 24
    job_id = upload(staff_client)
    age_job(job_id, hours=25)
    celery_app.loader.import_default_modules()  # what a worker does as it starts
    result = celery_app.tasks[IMPORT_RETENTION_TASK].apply()
    assert result.successful(), result.traceback
    assert result.result["previews_expired"] == 1
    assert Job.objects.get(pk=job_id).status == Job.Status.EXPIRED
