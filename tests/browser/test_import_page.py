"""The import page in headless Chromium: upload, preview, confirm, the bar moves to 100 % while a
real Celery worker runs the job."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from jobs_app.models import Job
from participants_app.imports.retention import participant_imports_retain
from participants_app.imports.services import participant_import_run
from participants_app.models import Participant
from tests.factories import participant_make

from .support import screenshot, sign_in, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROWS = 1000  # two batches


@pytest.fixture
def worker(celery_worker_factory, worker_env):
    """A real Celery worker that pauses 0.8 s after each batch: a bar worth watching."""
    worker_env.update(
        DJANGO_SETTINGS_MODULE="chaos.settings",
        CHECKIN_FAILPOINTS="participant_import.after_batch=sleep:0.8",
    )
    return celery_worker_factory("browser-import").start()


def test_upload_preview_confirm_and_watch_the_bar_reach_100(
    page, live_server, organiser, worker, tmp_path
):
    participant_make(full_name="Ada", email="p0@example.com", ticket_code="ADA-0001")
    lines = "".join(f"Person {i};p{i}@example.com;Org {i % 5};\n" for i in range(ROWS))
    csv_file = tmp_path / "attendees.csv"
    csv_file.write_text(f"Full name;E-mail;Organization;Ticket code\n{lines}Nobody;nope;;\n")

    sign_in(page, live_server, organiser)
    page.get(f"{live_server.url}/admin/participants_app/participant/")
    page.find_element(By.ID, "import-link").click()
    page.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(csv_file))
    page.find_element(By.CSS_SELECTOR, "#import-form input[type=submit]").click()
    wait_for(page, lambda b: b.find_elements(By.ID, "preview-table"), "no preview")
    summary = page.find_element(By.ID, "preview-summary").text
    assert "999 to create" in summary
    assert "1 to update" in summary and "1 with errors" in summary
    first = page.find_element(By.CSS_SELECTOR, "#preview-table tbody tr")
    assert first.text.startswith("2 update Person 0 p0@example.com")
    assert "Not a valid e-mail address" in page.find_element(By.ID, "preview-table").text
    assert Participant.objects.count() == 1  # nothing written before the confirmation

    page.find_element(By.ID, "confirm-import").click()
    wait_for(page, lambda b: b.find_elements(By.ID, "job-bar"), "no progress page")
    widths = set()

    def bar_full(browser) -> bool:
        percent = int(browser.find_element(By.ID, "job-bar").get_attribute("aria-valuenow"))
        if 0 < percent < 100 and not any(0 < w < 100 for w in widths):
            screenshot(browser, "import-page")  # the first time the bar is part-way
        widths.add(percent)
        return percent == 100 and browser.find_elements(By.ID, "job-errors")

    # The page reloads once the job has ended: a bar read across the reload is read again.
    wait_for(page, bar_full, worker.log()[-2000:], seconds=60, poll=0.2)
    assert any(0 < w < 100 for w in widths), widths  # the bar moved while the job ran
    assert "Done" in page.find_element(By.ID, "job-status").text
    assert page.find_element(By.ID, "job-created").text == "999"
    assert "nope" in page.find_element(By.ID, "job-errors").text
    assert Participant.objects.count() == ROWS


def test_an_expired_preview_and_a_report_without_row_details_say_so(
    page, live_server, organiser, tmp_path
):
    csv_file = tmp_path / "late.csv"
    csv_file.write_text("Full name;E-mail\nAda Lovelace;ada@example.com\nNobody;nope\n")
    sign_in(page, live_server, organiser)

    def upload() -> None:
        page.get(f"{live_server.url}/admin/participants_app/participant/import/")
        page.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(csv_file))
        page.find_element(By.CSS_SELECTOR, "#import-form input[type=submit]").click()
        wait_for(page, lambda b: b.find_elements(By.ID, "preview-table"), "no preview")

    upload()  # ... and the organiser comes back to it the next day
    Job.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    page.find_element(By.ID, "confirm-import").click()
    wait_for(page, lambda b: b.find_elements(By.CSS_SELECTOR, ".messagelist .error"), "no note")
    note = page.find_element(By.CSS_SELECTOR, ".messagelist .error").text
    assert note == "This preview expired; upload the file again."
    assert page.find_elements(By.ID, "import-form")  # where to upload it again
    assert not Participant.objects.exists()

    upload()
    page.find_element(By.ID, "confirm-import").click()
    wait_for(page, lambda b: b.find_elements(By.ID, "job-bar"), "no progress page")
    job = Job.objects.get(status=Job.Status.QUEUED)
    participant_import_run(job_id=str(job.pk))  # the worker's work, here
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(days=8))
    participant_imports_retain()
    page.refresh()
    wait_for(page, lambda b: b.find_elements(By.ID, "rows-removed"), "no removal note")
    assert "Row details removed after 7 days" in page.find_element(By.ID, "rows-removed").text
    errors = page.find_element(By.ID, "job-errors").text
    assert "3" in errors and "Not a valid e-mail address." in errors and "nope" not in errors
