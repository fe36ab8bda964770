"""Celery tasks of the participants app: thin wrappers that call a service."""

import logging

from celery import shared_task
from django.db import DatabaseError
from pymongo.errors import PyMongoError

from jobs_app.schedule import IMPORT_RETENTION_TASK, PERIODIC_TASK_OPTIONS
from jobs_app.services import task_publish

from .imports.retention import participant_imports_retain
from .imports.services import (
    IMPORT_TASK,
    ImportBusy,
    participant_import_fail,
    participant_import_run,
)

logger = logging.getLogger(__name__)


@shared_task(
    name=IMPORT_TASK,
    bind=True,
    ignore_result=True,
    acks_late=True,  # a worker killed mid-import: the broker redelivers, the job resumes
    reject_on_worker_lost=True,
    max_retries=20,
)
def participant_import_task(self, job_id: str) -> None:
    """Apply a confirmed participant import; queue its continuation when work is left."""
    try:
        more = participant_import_run(job_id=job_id)
    except ImportBusy:  # a duplicate delivery while another worker runs it
        raise self.retry(countdown=10) from None
    except (DatabaseError, PyMongoError) as exc:  # MongoDB away: the applied batches stay
        if self.request.retries >= self.max_retries:
            participant_import_fail(job_id=job_id, error=f"MongoDB: {type(exc).__name__}")
            raise
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from None
    except Exception as exc:
        logger.exception("Participant import %s failed", job_id)
        participant_import_fail(job_id=job_id, error=type(exc).__name__)
        raise
    if more:
        task_publish(task_name=IMPORT_TASK, args=[job_id])


@shared_task(name=IMPORT_RETENTION_TASK, **PERIODIC_TASK_OPTIONS)
def participant_imports_retain_task() -> dict:
    """Expire overdue import previews; remove old import reports' personal data."""
    return participant_imports_retain()
