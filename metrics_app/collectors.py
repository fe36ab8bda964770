"""What a scrape reads when it happens: the task outbox and the broker's queues, bounded.

Both readings run concurrently on the health probes' threads (``health_app.selectors``) within
``METRICS_SCRAPE_TIMEOUT_SECONDS``. One that fails or misses the budget is left out of the answer
and named in ``checkin_scrape_errors``: the scrape always answers, with what it could read, within
the budget (MongoDB or Redis down or hung). Nothing here runs on the check-in path.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Callable, Iterator
from concurrent.futures import wait

import pymongo
from celery import current_app
from django.conf import settings
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core import metrics
from health_app.selectors import probe_executor
from jobs_app.liveness import redis_queue_length
from jobs_app.models import OutboxMessage
from jobs_app.selectors import broker_is_redis
from redis_fallback import is_redis_available
from redis_fallback.broker_queues import REDIS_BROKER_SCHEMES

SOURCES = ("outbox", "broker")


def outbox_pending(budget: float) -> int:
    """Count the tasks waiting in the MongoDB outbox for the broker (one indexed count)."""
    with pymongo.timeout(budget):
        return OutboxMessage.objects.filter(published_at__isnull=True).count()


@functools.cache
def _queue_reader(broker_url: str, queue: str) -> Callable[[], int]:
    return redis_queue_length(broker_url, [queue])


def broker_queue_lengths() -> dict[str, int]:
    """Read the length of each Celery queue on the Redis broker (one bounded attempt each)."""
    broker_url = settings.CELERY_BROKER_URL
    if not broker_url.startswith(REDIS_BROKER_SCHEMES):
        return {}
    if broker_is_redis() and not is_redis_available():
        # This process's breaker says Redis is down: do not wait on it again.
        raise ConnectionError("Redis unavailable (breaker open)")
    return {queue: _queue_reader(broker_url, queue)() for queue in current_app.amqp.queues}


class ScrapeCollector(Collector):
    """Read the outbox and the broker queues at scrape time; name what could not be read."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        budget = float(settings.METRICS_SCRAPE_TIMEOUT_SECONDS)
        pool = probe_executor()
        futures = {
            "outbox": pool.submit(outbox_pending, budget),
            "broker": pool.submit(broker_queue_lengths),
        }
        done, _ = wait(futures.values(), timeout=budget)
        results, errors = {}, {}
        for source, future in futures.items():
            if future not in done or future.exception() is not None:
                errors[source] = 1
            else:
                results[source] = future.result()
        if "outbox" in results:
            yield GaugeMetricFamily(
                "checkin_outbox_pending",
                "Tasks kept in the MongoDB outbox until the broker takes them.",
                value=results["outbox"],
            )
        if "broker" in results:
            queues = GaugeMetricFamily(
                "checkin_broker_queue_length",
                "Messages waiting in each Celery queue on the broker.",
                labels=["queue"],
            )
            for queue, length in sorted(results["broker"].items()):
                queues.add_metric([queue], length)
            yield queues
        scrape_errors = GaugeMetricFamily(
            "checkin_scrape_errors",
            "1 when this scrape could not read a source in time (outbox: MongoDB; broker: the "
            "broker's Redis); its metric is then missing from this answer.",
            labels=["source"],
        )
        for source in SOURCES:
            scrape_errors.add_metric([source], errors.get(source, 0))
        yield scrape_errors


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def dead_processes_forget(path: str) -> None:
    """Drop the gauges of this host's processes that are gone (killed, so they could not).

    Another host's (another container's) processes cannot be told from here: theirs stay until
    they exit normally or the directory is emptied at the next start.
    """
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        identifier = os.path.basename(name).rsplit("_", 1)[1][: -len(".db")]
        host, pid, _random = ([None, None, *identifier.rsplit("-", 2)])[-3:]
        if host == metrics.HOST and pid and pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(identifier, path)
