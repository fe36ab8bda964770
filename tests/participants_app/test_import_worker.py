"""A real Celery worker runs an import; killed with SIGKILL mid-import, the job is redelivered to
another worker and finishes with every row once and exact counts."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs_app.models import Job
from participants_app.models import Participant
from tests.celery_support import wait_until
from tests.factories import participant_make

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROWS = 1000  # two batches of 500


def test_worker_killed_mid_import_is_redelivered_and_finishes_without_duplicates(
    staff_client, redis_server, celery_worker_factory, worker_env
):
    participant_make(full_name="Old", email="p7@example.com", ticket_code="KEEP-0007")
    # The worker pauses 0.6 s after each batch (a failpoint of the chaos settings), so that the
    # kill lands in the middle of the import, not after it.
    worker_env.update(
        DJANGO_SETTINGS_MODULE="chaos.settings",
        CHECKIN_FAILPOINTS="participant_import.after_batch=sleep:0.6",
    )
    lines = "".join(f"Person {i};p{i}@example.com;Org {i % 7};\n" for i in range(ROWS))
    content = f"Full name;E-mail;Organization;Ticket code\n{lines}".encode()
    upload = SimpleUploadedFile("big.csv", content)
    preview = staff_client.post("/api/participants/import/", {"file": upload}, format="multipart")
    assert preview.status_code == 201, preview.content
    assert preview.json()["counts"] == {"create": ROWS - 1, "update": 1, "unchanged": 0, "error": 0}
    job_id = preview.json()["job"]

    first = celery_worker_factory("import-first").start()
    assert staff_client.post(f"/api/participants/import/{job_id}/confirm/").status_code == 202

    def progress() -> int:
        return staff_client.get(f"/api/jobs/{job_id}/").json()["done"]

    seen = [wait_until(progress, timeout=60, interval=0.05)]
    assert 0 < seen[0] < ROWS, first.log()[-3000:]
    first.kill()  # SIGKILL mid-import: the task was never acknowledged
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.RUNNING and job.done < ROWS

    second = celery_worker_factory("import-second").start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and Job.objects.get(pk=job_id).status != Job.Status.DONE:
        seen.append(progress())
        time.sleep(0.2)
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.DONE, second.log()[-3000:]
    assert "participants_app.import_participants" in second.log()  # redelivered there
    assert len(set(seen)) >= 2 and seen == sorted(seen)  # the progress moved, never back
    assert (job.total, job.done, job.failed) == (ROWS, ROWS, 0)
    assert (job.created, job.updated, job.unchanged) == (ROWS - 1, 1, 0)
    assert Participant.objects.count() == ROWS
    codes = Participant.objects.values_list("ticket_code", flat=True)
    assert len(set(codes)) == ROWS
    kept = Participant.objects.get(email="p7@example.com")
    assert (kept.full_name, kept.ticket_code) == ("Person 7", "KEEP-0007")
