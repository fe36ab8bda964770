"""The Prometheus metrics of the whole system, defined once (prometheus_client; docs/metrics.md).

Every process that records something imports its metric from here: the web processes (requests,
verdicts), the Celery worker (the reconcile), the ASGI server (live clients), and every process's
sampler (``metrics_app/sampler.py``: breaker state, fallback cache, time in fallback). The
scrape-time readings (outbox, broker queues) live in ``metrics_app/collectors.py``.

Several processes answer requests, so with ``PROMETHEUS_MULTIPROC_DIR`` set (``make run``, the
image) every value lives in a per-process file of that directory and a scrape sums the files of
all processes (prometheus_client's multiprocess mode): a counter never depends on which worker
answered the scrape, and a dead process's counts stay in the sum. A file is named after the
host, the process id and a random part, not the process id alone: the containers of the compose
stack share one directory and each numbers its processes from 1. Without the variable (the
tests), or when the directory cannot be written, a process counts in memory.

Recording costs a dictionary lookup and a write to a memory-mapped file: no network I/O, ever.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import socket

from prometheus_client import Counter, Gauge, Histogram, values

logger = logging.getLogger(__name__)

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# prometheus_client parses "<type>_<mode>_<process>.db": no "_" in the process part.
HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"
_identity = {"pid": 0, "name": ""}


def process_identifier() -> str:
    """Name this process uniquely among every process writing to the directory.

    ``<host>-<pid>-<random>``: containers sharing the directory may have the same process ids
    (each numbers its own from 1), and even the same host name; a fork gets a new name.
    """
    pid = os.getpid()
    if _identity["pid"] != pid:
        _identity.update(pid=pid, name=f"{HOST}-{pid}-{secrets.token_hex(4)}")
    return _identity["name"]


def _directory_usable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


if MULTIPROCESS_DIR and not _directory_usable(MULTIPROCESS_DIR):
    # Counting must never stop a process from starting: count in memory, say so once.
    logger.warning(
        "PROMETHEUS_MULTIPROC_DIR %s is not a writable directory: this process's metrics stay "
        "in memory, and a scrape of another process will not see them",
        MULTIPROCESS_DIR,
    )
    MULTIPROCESS_DIR = ""
# Chosen before the first metric below is built (prometheus_client reads it at that moment; an
# empty variable would make it write files to the working directory).
if MULTIPROCESS_DIR:
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)
else:
    values.ValueClass = values.MutexValue

# Door requests: the check-in answers in tens of milliseconds, a MongoDB deadline is 1.4-1.9 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

HTTP_REQUESTS = Counter(
    "checkin_http_requests",
    "Web requests answered, by view, method and status class (2xx, 4xx, ...).",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "checkin_http_request_duration_seconds",
    "Time to answer a web request, by view and method (the whole middleware chain).",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)
SCANS = Counter(
    "checkin_scans",
    "Scan verdicts recorded in the scan log, by direction (in, out), reason and source.",
    ["direction", "reason", "source"],
)
RECONCILE_RUNS = Counter(
    "checkin_reconcile_runs",
    "Reconcile runs, by outcome: ok, failed (a session failed), lease_busy (another run held it).",
    ["outcome"],
)
RECONCILE_REPAIRS = Counter(
    "checkin_reconcile_repairs",
    "What the reconcile repaired: counter (a session's count set right), operation (an operation "
    "in flight ended), reseed (a Redis admission set rebuilt).",
    ["kind"],
)
REDIS_FALLBACK_SECONDS = Counter(
    "checkin_redis_fallback_seconds",
    "Seconds processes spent with their Redis breaker not closed (summed over processes).",
)
# Per-process state, sampled every second by each process; the scrape sums the live processes.
REDIS_BREAKER_STATE = Gauge(
    "checkin_redis_breaker_state",
    "Processes whose Redis breaker is in each state (closed, open, half_open).",
    ["state"],
    multiprocess_mode="livesum",
)
FALLBACK_CACHE_ENTRIES = Gauge(
    "checkin_fallback_cache_entries",
    "Entries in the processes' in-memory fallback caches (used while Redis is unavailable).",
    multiprocess_mode="livesum",
)
LIVE_CLIENTS = Gauge(
    "checkin_live_clients",
    "WebSocket clients connected to the live hubs of the ASGI processes.",
    multiprocess_mode="livesum",
)
LIVE_HUB_MODE = Gauge(
    "checkin_live_hub_mode",
    "ASGI processes whose live hub is in each mode (live: Redis notifications; polling).",
    ["mode"],
    multiprocess_mode="livesum",
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_request_observe(*, view: str, method: str, status: int, seconds: float) -> None:
    """Count one answered web request and its duration (never raises: a request never fails
    because of its metrics, e.g. a full disk under the multiprocess directory)."""
    method = method if method in _METHODS else "other"
    with contextlib.suppress(Exception):  # metrics are never worth a failed request
        HTTP_REQUESTS.labels(view, method, f"{status // 100}xx").inc()
        HTTP_LATENCY.labels(view, method).observe(seconds)


def scan_verdict_count(*, direction: str, reason: str, source: str) -> None:
    """Count one verdict written to the scan log (never raises, never does network I/O)."""
    with contextlib.suppress(Exception):  # the verdict stands whatever the metrics do
        SCANS.labels(direction or "unknown", reason or "unknown", source or "unknown").inc()


def reconcile_run_count(*, outcome: str, repaired: int = 0, ended_ops: int = 0,
                        reseeded: int = 0) -> None:  # fmt: skip
    """Count one reconcile run and what it repaired."""
    RECONCILE_RUNS.labels(outcome).inc()
    for kind, amount in (("counter", repaired), ("operation", ended_ops), ("reseed", reseeded)):
        if amount:
            RECONCILE_REPAIRS.labels(kind).inc(amount)
