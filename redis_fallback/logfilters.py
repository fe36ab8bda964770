"""Logging filters installed on every handler (``LOGGING`` in config/settings/base.py).

``MaskSecrets`` applies the project's one masking policy (``masking.mask_text``) to every log
line of every process — web, Celery worker and beat alike — so a URL with a password or a host
name never reaches the log, whoever logged it (Celery, kombu and redis-py quote the broker's
address in their errors). ``QuietOutages`` turns the traceback that Celery and kombu attach to an
expected outage (the broker or Redis unreachable) into one line, and lets the same line through
once per ``REDIS_OUTAGE_SUMMARY_SECONDS`` while the outage lasts, with a count of the ones held
back: beat printed a full traceback for every task it could not send, and a "Connection error"
line for every reconnect attempt.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from django.conf import settings
from kombu.exceptions import OperationalError
from redis import exceptions as redis_errors

from .masking import describe_error, mask_text

# An error of these types somewhere in the chain means "a dependency is unreachable": expected
# during an outage, reported by the health endpoints, not a bug worth a traceback.
EXPECTED_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OperationalError,
)


class MaskSecrets(logging.Filter):
    """Mask URLs, credentials, hosts and addresses in the message and traceback of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def outage_error(record: logging.LogRecord) -> BaseException | None:
    """Return the expected outage error of a record: in its traceback's chain, or an argument.

    Celery beat logs ``beat: Connection error: %s. Trying again in %s seconds...`` with the error
    as an argument and no traceback; its failed sends come with the traceback.
    """
    error = record.exc_info[1] if record.exc_info else None
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, EXPECTED_OUTAGE_ERRORS):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    args = record.args if isinstance(record.args, tuple) else ()
    return next((arg for arg in args if isinstance(arg, EXPECTED_OUTAGE_ERRORS)), None)


def _summary_seconds() -> float:
    # Installed by the LOGGING setting only, so the settings are always configured here.
    return float(settings.REDIS_OUTAGE_SUMMARY_SECONDS)


class QuietOutages(logging.Filter):
    """Log an expected outage error as one line, the same line at most once per interval."""

    def __init__(self, name: str = "", *, clock=time.monotonic) -> None:
        super().__init__(name)
        self._clock = clock
        self._lock = threading.Lock()
        # (logger, message template) -> [when last let through, how many held back since]
        self._seen: dict[tuple[str, str], list] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        error = outage_error(record)
        if error is None:
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < _summary_seconds():
                entry[1] += 1
                return False
            held = entry[1] if entry else 0
            self._seen[key] = [now, 0]
        message = record.getMessage()
        cause = describe_error(error)
        if cause.partition(": ")[2] not in message:
            message = f"{message} ({cause})"
        if held:
            message += f" [{held} more like it held back]"
        record.msg, record.args = message, ()
        record.exc_info, record.exc_text = None, None
        return True
