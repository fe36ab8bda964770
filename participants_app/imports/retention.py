"""How long an import keeps personal data: previews expire, finished reports lose their rows.

- A preview not confirmed within ``IMPORT_PREVIEW_EXPIRY_HOURS`` expires: the job becomes
  "expired", its stored rows (``ImportChunk``) are deleted and its report keeps the counts only.
  Confirming it is refused (``ImportPreviewExpired``).
- A finished or failed import keeps its rows' e-mails (next to their errors) and its preview rows
  for ``IMPORT_REPORT_PII_HOURS`` after its end; then the report keeps the counts, the line
  numbers and the reasons (which never name a value, see rows.py), and any stored rows go.

Beat runs ``participant_imports_retain`` hourly (``jobs_app.schedule``); confirming and the
admin's pages expire an overdue preview themselves, so its time is exact where it matters.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from jobs_app.models import Job

from ..models import IMPORT_KIND, ImportChunk

PREVIEW_EXPIRED_MESSAGE = "This preview expired; upload the file again."
# Set in a report whose personal data was removed: when it was.
ROWS_REMOVED_KEY = "rows_removed_at"
_FINISHED = (Job.Status.DONE, Job.Status.FAILED)


class ImportPreviewExpired(Exception):
    """The preview was not confirmed in time: its rows are gone, the file must be uploaded again."""


def import_preview_deadline() -> datetime:
    """Return the creation time before which an unconfirmed preview has expired."""
    return timezone.now() - timedelta(hours=settings.IMPORT_PREVIEW_EXPIRY_HOURS)


def retention_phrase(hours: float) -> str:
    """Say a retention time for staff: "7 days", "1 day" or "36 hours"."""
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def report_without_personal_data(report: dict, *, removed_at: datetime) -> dict:
    """Return the report with its counts, line numbers and reasons, without names, e-mails or
    ticket codes (the preview rows go, each error keeps its line and messages)."""
    kept = {**report, ROWS_REMOVED_KEY: removed_at.isoformat()}
    if "preview" in report:
        kept["preview"] = {k: v for k, v in report["preview"].items() if k != "rows"}
    for key in ("invalid", "errors"):
        if key in report:
            kept[key] = [
                {"line": e["line"], "messages": e.get("messages", [])} for e in report[key]
            ]
    return kept


def participant_import_expire(*, job_id) -> bool:
    """Expire the import if it is a preview left unconfirmed past its time; return True if so.

    The status changes first, on the condition that it is still pending: a confirmation racing
    with it either wins (the import runs with its rows) or finds it expired. Only then the rows go.
    """
    job = Job.objects.filter(
        pk=job_id,
        kind=IMPORT_KIND,
        status=Job.Status.PENDING,
        created_at__lt=import_preview_deadline(),
    ).first()
    if job is None:
        return False
    now = timezone.now()
    expired = Job.objects.filter(pk=job.pk, status=Job.Status.PENDING).update(
        status=Job.Status.EXPIRED,
        finished_at=now,
        report=report_without_personal_data(job.report or {}, removed_at=now),
    )
    if expired:
        ImportChunk.objects.filter(job_id=job.pk).delete()
    return bool(expired)


def _report_scrub(job: Job) -> int:
    now = timezone.now()
    scrubbed = Job.objects.filter(pk=job.pk).update(
        report=report_without_personal_data(job.report or {}, removed_at=now)
    )
    # A failed import's rows, or a finished one's that its end did not get to delete.
    ImportChunk.objects.filter(job_id=job.pk).delete()
    return scrubbed


def participant_imports_retain() -> dict[str, int]:
    """Expire overdue previews and remove the personal data of reports past their retention.

    Return the counts (``previews_expired``, ``reports_scrubbed``, ``batches_deleted``). Safe to
    run twice or concurrently: each step is conditional or idempotent.
    """
    due = Job.objects.filter(
        kind=IMPORT_KIND, status=Job.Status.PENDING, created_at__lt=import_preview_deadline()
    ).values_list("pk", flat=True)
    expired = sum(participant_import_expire(job_id=pk) for pk in list(due))

    cutoff = timezone.now() - timedelta(hours=settings.IMPORT_REPORT_PII_HOURS)
    old = Job.objects.filter(kind=IMPORT_KIND, status__in=_FINISHED, finished_at__lt=cutoff)
    scrubbed = sum(
        _report_scrub(job) for job in old.only("pk", "report") if ROWS_REMOVED_KEY not in job.report
    )

    # Rows of expired previews whose expiry stopped between its two steps (a killed worker).
    holders = set(ImportChunk.objects.values_list("job_id", flat=True))
    stale = Job.objects.filter(pk__in=holders, status=Job.Status.EXPIRED).values_list(
        "pk", flat=True
    )
    deleted, _ = ImportChunk.objects.filter(job_id__in=list(stale)).delete()
    return {"previews_expired": expired, "reports_scrubbed": scrubbed, "batches_deleted": deleted}
