"""What the log of a real Redis outage says: one line when it begins, a summary while it lasts,
one line when it ends; never a traceback, never a password (issue 22.4)."""

from __future__ import annotations

import logging
import sys
import time

import pytest
from django.test import override_settings

from devtools.servers import RedisServer
from redis_fallback import connection_status, get_redis
from redis_fallback.logfilters import MaskSecrets, QuietOutages
from redis_fallback.testing import reset_for_tests

from .conftest import LOGGER

pytestmark = pytest.mark.slow  # real processes, killed or paused servers

PASSWORD = "outage-horse-battery-3"


@pytest.fixture
def secured_redis():
    server = RedisServer(password=PASSWORD).start()
    yield server
    server.stop()


class _Lines(logging.Handler):
    """Format records as the configured console handler does, with its filters."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.addFilter(QuietOutages())
        self.addFilter(MaskSecrets())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def fallback_lines():
    handler = _Lines()
    logger = logging.getLogger(LOGGER)
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _wait_for(predicate, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not seen within {timeout} s"
        time.sleep(0.05)


def test_a_real_outage_logs_one_transition_then_summaries_and_no_traceback_or_password(
    secured_redis, fallback_lines
):
    with override_settings(
        REDIS_URL=secured_redis.url,
        REDIS_BREAKER_RESET_SECONDS=0.1,
        REDIS_OUTAGE_SUMMARY_SECONDS=1.0,
    ):
        reset_for_tests()
        assert get_redis().set("k", 1) is True
        secured_redis.kill()
        # Calls during the outage: the fallback answers them; the prober probes ten times a second.
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            get_redis().get("k")
            time.sleep(0.01)
        _wait_for(lambda: connection_status()["reconnect_attempts"] >= 10, "ten failed probes")
        secured_redis.start()
        _wait_for(lambda: not connection_status()["using_fallback"], "the recovery")
        reset_for_tests()

    text = "\n".join(fallback_lines)
    began = [line for line in fallback_lines if "breaker open" in line]
    summaries = [line for line in fallback_lines if "still unavailable" in line]
    ended = [line for line in fallback_lines if "reachable again" in line]
    assert len(began) == 1, text
    assert 2 <= len(summaries) <= 5, text
    assert "calls served by the fallback" in summaries[-1]
    assert len(ended) == 1, text
    assert len(fallback_lines) == len(began) + len(summaries) + len(ended), text
    assert "Traceback" not in text
    assert PASSWORD not in text and "127.0.0.1" not in text


def test_mask_secrets_masks_urls_in_message_args_and_traceback():
    record = logging.LogRecord(
        "celery.beat", logging.ERROR, __file__, 1, "beat: Connection error: %s. Trying again", (
            f"Cannot connect to redis://:{PASSWORD}@cache.internal:6379/0",
        ), None,
    )  # fmt: skip
    try:
        raise ConnectionError(f"redis://user:{PASSWORD}@10.1.2.3:6379/0 refused")
    except ConnectionError:
        record.exc_info = sys.exc_info()
    MaskSecrets().filter(record)
    line = logging.Formatter("%(message)s").format(record)
    assert PASSWORD not in line and "cache.internal" not in line and "10.1.2.3" not in line
    assert "redis://***@***:6379/0" in line


def test_quiet_outages_drops_the_traceback_and_repeats_once_per_interval():
    now = [0.0]
    quiet = QuietOutages(clock=lambda: now[0])

    def record() -> logging.LogRecord:
        try:
            try:
                raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6379")
            except OSError as error:
                raise RuntimeError("Couldn't apply scheduled task") from error
        except RuntimeError:
            return logging.LogRecord(
                "celery.beat", logging.ERROR, __file__, 1, "Message Error: %s", ("x",),
                sys.exc_info(),
            )  # fmt: skip

    first = record()
    assert quiet.filter(first) and first.exc_info is None
    assert "Error 111" in first.getMessage()
    assert [quiet.filter(record()) for _ in range(5)] == [False] * 5
    now[0] = 61.0
    again = record()
    assert quiet.filter(again) and "[5 more like it held back]" in again.getMessage()
