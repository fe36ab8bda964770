"""The periodic tasks beat runs, stored in django-celery-beat's tables (MongoDB).

Created once, idempotently, by `manage.py bootstrap` (called by `make run` and the container
entrypoint). An existing entry is left alone, so an interval edited in the admin is kept.
"""

from django.conf import settings
from django.db import DatabaseError
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# Celery task names (the task decorators use them) and the job name of the reconcile, under
# which its lease and its last-success record (JobRun, read by health) are kept.
RECONCILE_TASK = "sessions_app.reconcile_counters"
SESSIONS_CLOSE_TASK = "sessions_app.sessions_close_ended"
OUTBOX_TASK = "jobs_app.outbox_flush"
IMPORT_RETENTION_TASK = "participants_app.imports_retain"
# Hourly: a preview or a report outlives its retention by at most an hour.
IMPORT_RETENTION_INTERVAL_SECONDS = 3600

# The options of every periodic task: a MongoDB error retries it soon (1 s, 2 s, 4 s with jitter,
# at most 30 s apart), three times; beat queues it again at its next interval anyway.
PERIODIC_TASK_OPTIONS = {
    "ignore_result": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 30,
    "max_retries": 3,
}
RECONCILE_JOB = "reconcile_counters"
# The JobRun a Celery worker touches as it starts each task (its heartbeat).
HEARTBEAT_JOB = "celery_worker"


def _every(seconds: int) -> IntervalSchedule:
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    return schedule


def periodic_tasks_ensure() -> str:
    """Create the beat entries that are missing; return a one-line report."""
    wanted = [
        ("Reconcile capacity counters", RECONCILE_TASK, settings.RECONCILE_INTERVAL_SECONDS),
        ("Publish the task outbox", OUTBOX_TASK, settings.RECONCILE_INTERVAL_SECONDS),
        ("Close ended sessions", SESSIONS_CLOSE_TASK, settings.RECONCILE_INTERVAL_SECONDS),
        (
            "Expire import previews, drop old reports' personal data",
            IMPORT_RETENTION_TASK,
            IMPORT_RETENTION_INTERVAL_SECONDS,
        ),
    ]
    created = []
    for name, task, seconds in wanted:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        # Expire a run that waited longer than its interval: the next one is already due.
        PeriodicTask.objects.create(
            name=name, task=task, interval=_every(seconds), expire_seconds=seconds
        )
        created.append(f"{name} (every {seconds} s)")
    if created:
        return "Created periodic tasks: " + ", ".join(created)
    return "Periodic tasks exist; left as they are."
