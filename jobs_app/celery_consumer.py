"""A Celery worker consumer that reconnects to the broker with capped exponential backoff.

Celery's own reconnect loop (kombu ``ensure_connection``) steps its sleep linearly from 2 s up to
30 s, so after a long Redis outage the worker can sit idle for half a minute after Redis is back.
This consumer retries after 0.1, 0.2, 0.4 ... seconds, capped at ``broker_reconnect_backoff_max``
(3 s), and never gives up while the process runs: a worker that exits on a Redis outage leaves the
queue unattended until somebody restarts it. It logs one line when the broker is found unreachable,
one summary line per ``broker_outage_summary_seconds`` while it stays so, and one when it is back;
the attempts themselves are DEBUG (one a few seconds was a wall of lines in a long outage).
"""

import logging
import time

from celery.worker.consumer import Consumer
from celery.worker.state import maybe_shutdown

from redis_fallback.breaker import describe_duration

logger = logging.getLogger(__name__)


def backoff_delay(attempt: int, *, base: float = 0.1, cap: float = 3.0) -> float:
    """Return the sleep before reconnect attempt ``attempt`` (1-based): base * 2**(n-1), capped."""
    return min(cap, base * (2 ** max(0, attempt - 1)))


class ResilientConsumer(Consumer):
    """Consumer whose broker (re)connection uses capped exponential backoff."""

    def ensure_connected(self, conn):
        cap = float(self.app.conf.get("broker_reconnect_backoff_max", 3.0))
        every = float(self.app.conf.get("broker_outage_summary_seconds", 60.0))
        attempt = 0
        began = last_line = time.monotonic()
        while True:
            try:
                conn.connect()
                break
            except conn.connection_errors as exc:
                attempt += 1
                delay = backoff_delay(attempt, cap=cap)
                now = time.monotonic()
                if attempt == 1:
                    began = last_line = now
                    logger.warning(
                        "Broker unreachable (%s); reconnecting with backoff up to %.0f s",
                        type(exc).__name__, cap,
                    )  # fmt: skip
                elif now - last_line >= every:
                    last_line = now
                    logger.warning(
                        "Broker still unreachable for %s (%s), %d reconnect attempts so far; "
                        "next in %.1f s",
                        describe_duration(now - began), type(exc).__name__, attempt, delay,
                    )  # fmt: skip
                else:
                    logger.debug("Reconnect attempt %d failed; next in %.1f s", attempt, delay)
                # Honour a shutdown requested meanwhile (Ctrl-C, SIGTERM), as Celery's loop does.
                maybe_shutdown()
                time.sleep(delay)
                maybe_shutdown()
        if attempt:
            logger.info(
                "Broker connection re-established after %s (%d attempt(s))",
                describe_duration(time.monotonic() - began), attempt,
            )  # fmt: skip
        self.first_connection_attempt = False
        self.broker_connection_retry_attempt = 0
        return conn
