"""Celery tasks of the sessions app: thin wrappers that call a service."""

from celery import shared_task
from django.db import DatabaseError

from jobs_app.schedule import RECONCILE_TASK, SESSIONS_CLOSE_TASK

from .services.closing import sessions_close_ended
from .services.reconcile import counters_reconcile


@shared_task(
    name=RECONCILE_TASK,
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,  # 1 s, 2 s, 4 s (with jitter)
    retry_backoff_max=30,
    max_retries=3,
)
def reconcile_counters_task() -> dict:
    """Reconcile every open session's counters with its CheckIn records."""
    return counters_reconcile().as_dict()


@shared_task(
    name=SESSIONS_CLOSE_TASK,
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=3,
)
def sessions_close_ended_task() -> dict:
    """Close the sessions whose admission window has ended; check out whoever is inside."""
    return sessions_close_ended().as_dict()
