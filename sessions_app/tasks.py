"""Celery tasks of the sessions app: thin wrappers that call a service."""

from celery import shared_task

from jobs_app.schedule import PERIODIC_TASK_OPTIONS, RECONCILE_TASK, SESSIONS_CLOSE_TASK

from .services.closing import sessions_close_ended
from .services.reconcile import counters_reconcile


@shared_task(name=RECONCILE_TASK, **PERIODIC_TASK_OPTIONS)
def reconcile_counters_task() -> dict:
    """Reconcile every open session's counters with its CheckIn records."""
    return counters_reconcile().as_dict()


@shared_task(name=SESSIONS_CLOSE_TASK, **PERIODIC_TASK_OPTIONS)
def sessions_close_ended_task() -> dict:
    """Close the sessions whose admission window has ended; check out whoever is inside."""
    return sessions_close_ended().as_dict()
