"""The Celery application, configured from Django settings under the CELERY_ namespace."""

import gc
import os
import warnings

from celery import Celery, signals
from celery.exceptions import CPendingDeprecationWarning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("checkin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_after_setup.connect
def _quiet_connection_loss_notice(**kwargs) -> None:
    """Drop Celery's eight-line notice, printed on every broker connection loss, of a Celery 6 default.

    The behaviour this project relies on (acks_late: an unacknowledged task is delivered again)
    is the same either way. Installed after Celery's own logging set-up, which turns its
    deprecation warnings to "always".
    """
    warnings.filterwarnings(
        "ignore",
        message=r"\s*In Celery 5\.1 we introduced an optional breaking change",
        category=CPendingDeprecationWarning,
    )


@signals.worker_before_create_process.connect
def _freeze_before_fork(**kwargs) -> None:
    """Freeze what the worker's main process holds before it forks a pool child.

    The main process has loaded Django, the tasks and their imports; a collection in a child
    writes to the header of every object it walks, and each page so written becomes the child's
    own copy. Frozen (``gc.freeze``), they are never walked in a child, and stay shared (Celery
    collects right after this signal, before the fork). The same as the web workers' master
    (``config/gunicorn.py``, ``when_ready``). Once, before the first child: what the main process
    makes later (a replacement child's fork comes after a child died) stays collectable, so
    nothing that dies in a cycle later is kept for ever.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
