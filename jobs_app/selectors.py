"""Reads of job state."""

from datetime import datetime

from django.conf import settings

from .models import JobRun
from .schedule import HEARTBEAT_JOB


def broker_is_redis() -> bool:
    """Tell whether the Celery broker is the Redis the breaker watches (REDIS_URL)."""
    return settings.CELERY_BROKER_URL == settings.REDIS_URL


def job_last_success_at(*, name: str) -> datetime | None:
    """Return when the named job last succeeded, or None if it never did."""
    run = JobRun.objects.filter(name=name).only("last_success_at").first()
    return run.last_success_at if run else None


def worker_last_task_at() -> datetime | None:
    """Return when a Celery worker last started a task (its heartbeat), or None if never."""
    return job_last_success_at(name=HEARTBEAT_JOB)
