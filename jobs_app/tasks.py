"""Celery tasks of the jobs app."""

from celery import shared_task

from .schedule import OUTBOX_TASK
from .services import outbox_flush


@shared_task(name=OUTBOX_TASK, ignore_result=True)
def outbox_flush_task() -> dict[str, int]:
    """Publish tasks that were kept in the outbox while the broker was down."""
    return outbox_flush()
