"""Reads of job state."""

from datetime import datetime

from bson import ObjectId
from django.conf import settings

from .models import Job, JobRun
from .schedule import HEARTBEAT_JOB


def broker_is_redis() -> bool:
    """Tell whether the Celery broker is the Redis the breaker watches (REDIS_URL)."""
    return settings.CELERY_BROKER_URL in (settings.REDIS_URL, settings.REDIS_URL_FOR_CELERY)


def job_last_success_at(*, name: str) -> datetime | None:
    """Return when the named job last succeeded, or None if it never did."""
    run = JobRun.objects.filter(name=name).only("last_success_at").first()
    return run.last_success_at if run else None


def worker_last_task_at() -> datetime | None:
    """Return when a Celery worker last started a task (its heartbeat), or None if never."""
    return job_last_success_at(name=HEARTBEAT_JOB)


class JobNotFoundError(Exception):
    """No job with this id that the user may see (the API answers 404 ``job_not_found``)."""

    reason = "job_not_found"
    detail = "No job with this id that you may see."


def job_get_for_user(*, job_id, user, kind: str | None = None):
    """Return the job if ``user`` may see it (started it, or holds ``jobs_app.view_job``).

    Raise ``JobNotFoundError`` otherwise, also for a malformed id: whether a job
    of someone else exists is not told.
    """
    if not ObjectId.is_valid(job_id):
        raise JobNotFoundError
    jobs = Job.objects.filter(pk=ObjectId(job_id))
    if kind is not None:
        jobs = jobs.filter(kind=kind)
    job = jobs.first()
    if job is None or not (
        job.started_by == user.get_username() or user.has_perm("jobs_app.view_job")
    ):
        raise JobNotFoundError
    return job
