"""Participant import: preview a file, confirm it, and the job that applies it in batches.

1. ``participant_import_preview`` reads and validates the file, decides each row's action
   (nothing is written to the participants), stores the valid rows in ``ImportChunk`` batches and
   a ``Job`` awaiting confirmation with the preview in its report.
2. ``participant_import_confirm`` queues the job through the outbox (``task_publish``): with the
   broker down it waits in MongoDB and starts when the broker is back; the job says "queued".
   A preview left unconfirmed too long expires instead (retention.py).
3. ``participant_import_run`` (the Celery task's work) applies the batches in order. For each, it
   stores the batch's plan, writes it (bulk), marks the batch applied and records the progress. A
   redelivered job skips applied batches and re-applies a stored plan (the writes are idempotent),
   so a worker killed mid-import leaves no duplicates and exact counts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from bson import ObjectId
from django.utils import timezone

from core.caching import STATS_KEY, cache_invalidate
from core.failpoints import failpoint
from jobs_app.models import Job
from jobs_app.services import lease_acquire, lease_release, lease_renew, task_publish

from ..caching import participant_detail_key
from ..models import IMPORT_KIND, ImportChunk
from .files import sheet_read
from .queries import participants_lookup, participants_write
from .retention import (
    ImportPreviewExpired,
    import_preview_deadline,
    participant_import_expire,
)
from .rows import ACTIONS, CREATE, ERROR, UNCHANGED, UPDATE, batch_plan, rows_check

logger = logging.getLogger(__name__)

IMPORT_TASK = "participants_app.import_participants"
BATCH_SIZE = 500
PREVIEW_ROWS = 200  # rows shown in the preview (every error row is shown too, up to REPORT_ERRORS)
REPORT_ERRORS = 1000
# One delivery of the task works this long, then queues its continuation: each delivery stays far
# below the task time limits and the broker's visibility timeout.
RUN_BUDGET_SECONDS = 60.0
LEASE_SECONDS = 120.0


class ImportBusy(Exception):
    """Another live worker is applying this import now (a duplicate delivery): try later."""


@dataclass
class ImportPreview:
    """What an upload would do; nothing is written until the job is confirmed."""

    job: Job
    format: str
    columns: list[str]
    ignored_columns: list[str]
    counts: dict[str, int]
    rows: list[dict] = field(default_factory=list)


def _row_view(line: int, values: dict, action: str, messages: list[str] | None = None) -> dict:
    return {
        "line": line,
        "action": action,
        "full_name": values.get("full_name", ""),
        "email": values.get("email", ""),
        "organization": values.get("organization", ""),
        "ticket_code": values.get("ticket_code", ""),
        "messages": messages or [],
    }


def participant_import_preview(*, content: bytes, file_name: str, user_name: str) -> ImportPreview:
    """Validate a file and decide each row's action; store it as a job awaiting confirmation.

    Raise ``ImportFileError`` for a file that cannot be imported (too large, not a spreadsheet,
    no usable header, too many rows).
    """
    sheet = sheet_read(content=content, name=file_name)
    check = rows_check(sheet.rows)
    raw = dict(sheet.rows)
    views: dict[int, dict] = {}
    for error in check.errors:
        views[error["line"]] = _row_view(
            error["line"], raw[error["line"]], ERROR, error["messages"]
        )
    counts = dict.fromkeys(ACTIONS, 0)
    counts[ERROR] = len(check.errors)
    for entry in batch_plan(check.rows, generate_codes=False):
        counts[entry["action"]] += 1
        line = entry["line"]
        views[line] = _row_view(line, raw[line], entry["action"], entry.get("messages"))
        if entry["action"] == UPDATE:
            views[line]["changes"] = sorted(entry["set"])
    shown = sorted(views)[:PREVIEW_ROWS]
    errors_after = [line for line in sorted(views) if views[line]["action"] == ERROR]
    lines = sorted(set(shown) | set(errors_after[:REPORT_ERRORS]))
    preview = {
        "format": sheet.format,
        "columns": sheet.columns,
        "ignored_columns": sheet.ignored_columns,
        "counts": counts,
        "rows": [views[line] for line in lines],
        "rows_total": len(sheet.rows),
    }
    job = Job.objects.create(
        kind=IMPORT_KIND,
        title=(file_name or "upload")[:200],
        status=Job.Status.PENDING,
        total=len(sheet.rows),
        done=len(check.errors),
        failed=len(check.errors),
        started_by=user_name[:150],
        report={
            "preview": preview,
            "invalid": check.errors[:REPORT_ERRORS],
            "invalid_total": len(check.errors),
        },
    )
    ImportChunk.objects.bulk_create(
        ImportChunk(job=job, index=i, rows=check.rows[start : start + BATCH_SIZE])
        for i, start in enumerate(range(0, len(check.rows), BATCH_SIZE))
    )
    return ImportPreview(
        job=job,
        format=sheet.format,
        columns=sheet.columns,
        ignored_columns=sheet.ignored_columns,
        counts=counts,
        rows=preview["rows"],
    )


def participant_import_confirm(*, job: Job) -> Job:
    """Queue a previewed import (once; confirming again changes nothing) and return the job.

    Published through the outbox: with the broker down the job stays "queued" until a worker
    starts or beat flushes the outbox. Raise ``ImportPreviewExpired`` for a preview older than
    ``IMPORT_PREVIEW_EXPIRY_HOURS`` (expired here if the hourly sweep has not reached it yet).
    """
    queued = Job.objects.filter(
        pk=job.pk, status=Job.Status.PENDING, created_at__gte=import_preview_deadline()
    ).update(status=Job.Status.QUEUED, queued_at=timezone.now())
    if queued:
        result = task_publish(task_name=IMPORT_TASK, args=[str(job.pk)])
        if not result.published:
            logger.info("Import %s kept in the outbox until the broker is back", job.pk)
    else:
        participant_import_expire(job_id=job.pk)
    job = Job.objects.get(pk=job.pk)
    if job.status == Job.Status.EXPIRED:
        raise ImportPreviewExpired(str(job.pk))
    return job


@dataclass
class _Totals:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))

    def add(self, plan: list[dict]) -> None:
        for entry in plan:
            self.counts[entry["action"]] += 1

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _apply(plan: list[dict]) -> None:
    """Write a batch's plan; turn the writes that failed into row errors (in place)."""
    writes = [entry for entry in plan if entry["action"] in (CREATE, UPDATE)]
    failed = participants_write(
        [
            {"email": e["email"], "set": e["set"], "ticket_code": e["ticket_code"]}
            if e["action"] == CREATE
            else {"id": ObjectId(e["id"]), "email": e["email"], "set": e["set"]}
            for e in writes
        ]
    )
    taken = [writes[position] for position, what in failed.items() if what == "email"]
    # An insert whose e-mail exists: this batch's own insert of an earlier delivery (same planned
    # ticket code) counts as created; a participant created meanwhile by someone else is an error.
    ours, _ = participants_lookup(emails=[e["email"] for e in taken], codes=[])
    for position, what in failed.items():
        entry = writes[position]
        mine = what == "email" and ours.get(entry["email"], {}).get("ticket_code") == entry.get(
            "ticket_code"
        )
        if mine:
            continue
        if what == "ticket_code":
            message = "Ticket code was taken meanwhile."
        elif what == "email":
            message = (
                "A participant with this e-mail was created meanwhile; import again to update."
            )
        else:
            message = f"Not written ({what})."
        entry.update(action=ERROR, messages=[message])
    changed = [participant_detail_key(e["id"]) for e in writes if e.get("id")]
    cache_invalidate(*changed, STATS_KEY)


def _progress(job: Job, totals: _Totals, **fields) -> None:
    invalid = job.report.get("invalid_total", 0)
    Job.objects.filter(pk=job.pk).update(
        done=invalid + totals.rows,
        created=totals.counts[CREATE],
        updated=totals.counts[UPDATE],
        unchanged=totals.counts[UNCHANGED],
        failed=invalid + totals.counts[ERROR],
        **fields,
    )


def _finish(job: Job, totals: _Totals) -> None:
    errors = list(job.report.get("invalid", []))
    for plan in ImportChunk.objects.filter(job_id=job.pk).values_list("plan", flat=True):
        errors.extend(
            {"line": e["line"], "email": e["email"], "messages": e["messages"]}
            for e in plan or []
            if e["action"] == ERROR
        )
    errors.sort(key=lambda e: e["line"])
    report = {**job.report, "errors": errors[:REPORT_ERRORS], "errors_total": len(errors)}
    _progress(job, totals, status=Job.Status.DONE, finished_at=timezone.now(), report=report)
    # The rows (personal data) are not needed once the outcome is recorded.
    ImportChunk.objects.filter(job_id=job.pk).delete()


def participant_import_run(*, job_id: str, budget_seconds: float = RUN_BUDGET_SECONDS) -> bool:
    """Apply a confirmed import's batches; return True if work is left for a next delivery.

    Raise ``ImportBusy`` while another live worker holds the job's lease.
    """
    job = Job.objects.filter(pk=ObjectId(job_id), kind=IMPORT_KIND).first()
    if job is None or job.status not in (Job.Status.QUEUED, Job.Status.RUNNING):
        return False  # unknown, unconfirmed or finished: nothing to do
    lease = f"job:{job_id}"
    if not lease_acquire(name=lease, ttl_seconds=LEASE_SECONDS):
        raise ImportBusy(job_id)
    try:
        now = timezone.now()
        Job.objects.filter(pk=job.pk, started_at__isnull=True).update(started_at=now)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
        totals = _Totals()
        for plan in ImportChunk.objects.filter(job_id=job.pk, applied=True).values_list(
            "plan", flat=True
        ):
            totals.add(plan or [])
        pending = list(
            ImportChunk.objects.filter(job_id=job.pk, applied=False)
            .order_by("index")
            .values_list("index", flat=True)
        )
        deadline = time.monotonic() + budget_seconds
        for index in pending:
            if time.monotonic() > deadline:
                return True
            chunk = ImportChunk.objects.get(job_id=job.pk, index=index)
            plan = chunk.plan
            if plan is None:  # first delivery to reach it: decide and keep the decision
                plan = batch_plan(chunk.rows, generate_codes=True)
                ImportChunk.objects.filter(pk=chunk.pk).update(plan=plan)
            _apply(plan)
            ImportChunk.objects.filter(pk=chunk.pk).update(plan=plan, applied=True)
            totals.add(plan)
            _progress(job, totals)
            lease_renew(name=lease, ttl_seconds=LEASE_SECONDS)
            failpoint("participant_import.after_batch")
        _finish(job, totals)
        return False
    finally:
        lease_release(name=lease)


def participant_import_fail(*, job_id: str, error: str) -> None:
    """Mark an import failed (an unexpected error; the rows applied so far stay applied).

    Its stored rows stay until ``IMPORT_REPORT_PII_HOURS`` (retention.py).
    """
    Job.objects.filter(pk=ObjectId(job_id)).exclude(status=Job.Status.DONE).update(
        status=Job.Status.FAILED, finished_at=timezone.now(), error=error[:300]
    )
