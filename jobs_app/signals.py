"""Worker hooks: publish what waited in the outbox as soon as a worker is up."""

import logging

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def flush_outbox_on_worker_ready(sender=None, **kwargs):
    """Publish outbox messages left from a broker outage (a failure here must not stop the worker)."""
    from .services import outbox_flush

    try:
        outbox_flush()
    except Exception:
        logger.exception("Outbox flush at worker start-up failed")
