"""The Celery application, configured from Django settings under the CELERY_ namespace."""

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
