"""Worker hooks: publish what waited in the outbox as soon as a worker is up; worker liveness."""

import logging

from celery.signals import task_prerun, task_received, worker_ready, worker_shutting_down

from . import liveness
from .services import outbox_flush

logger = logging.getLogger(__name__)


@worker_ready.connect
def flush_outbox_on_worker_ready(sender=None, **kwargs):
    """Publish outbox messages left from a broker outage (a failure here must not stop the worker)."""

    try:
        outbox_flush()
    except Exception:
        logger.exception("Outbox flush at worker start-up failed")


@worker_ready.connect
def start_consumption_watchdog(sender=None, **kwargs):
    """Watch, from the worker's main process, that it keeps taking the tasks that wait for it."""
    liveness.watchdog_start(sender)


@worker_shutting_down.connect
def stop_consumption_watchdog(sender=None, **kwargs):
    liveness.watchdog_stop()


@task_received.connect
def mark_task_received(sender=None, **kwargs):
    liveness.task_received_mark()


@task_prerun.connect
def record_worker_heartbeat(sender=None, **kwargs):
    liveness.worker_heartbeat_record()
