"""The text a scrape answers: every process's metrics (or this process's), plus the readings."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from core import metrics

from .collectors import ScrapeCollector, dead_processes_forget
from .sampler import process_sample


def metrics_exposition() -> bytes:
    """Return the Prometheus text exposition of the whole system.

    In multiprocess mode the sum over the files of every process (the dead ones' counters
    included, their gauges not); otherwise this process's registry. Either way this process's
    gauges are sampled first, and the scrape-time readings come last.
    """
    process_sample()
    readings = CollectorRegistry()  # no auto_describe: it would collect (read) once more
    readings.register(ScrapeCollector())
    if metrics.MULTIPROCESS_DIR:
        dead_processes_forget(metrics.MULTIPROCESS_DIR)
        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed, path=metrics.MULTIPROCESS_DIR)
        return generate_latest(summed) + generate_latest(readings)
    return generate_latest(REGISTRY) + generate_latest(readings)
