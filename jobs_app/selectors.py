"""Reads of job state."""

from datetime import datetime

from .liveness import HEARTBEAT_JOB
from .models import JobRun, OutboxMessage


def job_last_success_at(*, name: str) -> datetime | None:
    """Return when the named job last succeeded, or None if it never did."""
    run = JobRun.objects.filter(name=name).only("last_success_at").first()
    return run.last_success_at if run else None


def outbox_pending_count() -> int:
    """Return how many tasks wait in the outbox for the broker."""
    return OutboxMessage.objects.filter(published_at__isnull=True).count()


def worker_last_task_at() -> datetime | None:
    """Return when a Celery worker last started a task (its heartbeat), or None if never."""
    return job_last_success_at(name=HEARTBEAT_JOB)
