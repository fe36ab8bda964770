"""gunicorn's worker form, the same wherever it runs: ``gunicorn --config config/gunicorn.py ...``.

The Dockerfile, docker-compose.yml and devtools.stack (the chaos suite, the benchmarks) pass this
file; their command lines add the bind address, the worker count and the rest.

Threaded workers (``gthread``), ``WEB_THREADS`` threads each, so that one process sees the
requests that arrive together and its admission control (``core.middleware.AdmissionMiddleware``:
at most ``WEB_MAX_CONCURRENT_REQUESTS`` writes at once) answers the excess 503 ``busy`` with
``Retry-After`` within ``WEB_ADMISSION_WAIT_SECONDS``. A sync worker serves one request at a
time: the excess waited in the kernel's accept backlog, unseen, until the door gave up (10 s).

A worker takes no more connections than it has threads (``worker_connections``) and keeps none
open between requests (``keepalive = 0``, as the sync workers did): nothing queues inside a worker
out of Django's sight, and a worker killed mid-request loses at most ``WEB_THREADS`` requests.
More threads than admission slots: the spare ones answer ``busy`` while the slots work.

Each worker imports every view before its first request and then freezes what it has made so far
out of Python's garbage collector (``post_worker_init``): see the hook. With ``--preload`` (the
Dockerfile, docker-compose.yml) the master does it once before it forks the workers
(``when_ready``), so that the application's pages stay shared between them: see that hook.
"""

import gc
import os

# The same default as config/settings/database.py (this file is read before Django's settings).
_limit = int(os.environ.get("WEB_MAX_CONCURRENT_REQUESTS", "4"))

worker_class = "config.gunicorn_worker.ThreadWorker"  # gthread; its network waits in its poller
threads = int(os.environ.get("WEB_THREADS", "8"))
worker_connections = threads
keepalive = 0
# No control socket (gunicorn 25+, for ``gunicornc``: worker counts, reloads, shutdown), which
# nothing here uses: by default every gunicorn on a machine binds the same path in $HOME and
# takes it from the one before, and the image's user has no home to put it in.
control_socket_disable = True

if _limit > 0 and threads <= _limit:
    raise SystemExit(
        f"WEB_THREADS ({threads}) must exceed WEB_MAX_CONCURRENT_REQUESTS ({_limit}): with every "
        "thread in a slot, no thread is free to answer the excess busy and it queues instead."
    )


def _import_views_and_freeze() -> None:
    """Import every view (if config.wsgi set Django up), collect start-up's garbage, and move
    every object left out of the collector's generations (``gc.freeze``)."""
    from django.apps import apps  # noqa: PLC0415 (read after the application's load, not before)
    from django.urls import get_resolver  # noqa: PLC0415

    if apps.ready:  # config.wsgi set Django up (another WSGI app under this config: no views)
        get_resolver().url_patterns  # noqa: B018 (the property imports every URLconf and view)
    gc.collect()  # what start-up left behind goes, rather than being kept forever
    gc.freeze()


def when_ready(server):
    """The master is listening, its workers not forked yet: with ``--preload`` the application is
    loaded here, so its objects are frozen here, once, for every worker.

    A collection in a worker writes to the header of every object it walks, and a page written by
    a forked process is that process's own copy from then on. Frozen before the fork, the
    application's objects are never walked in a worker, and their pages stay shared: measured
    with ``--preload`` and 3 workers (``/proc/<pid>/smaps_rollup`` after 60 requests), 50.6 MB
    private to each worker when each froze after its own ``gc.collect()``, 9.0 MB with this hook;
    the master and its workers 264 MB in all (proportional set size), 139 MB with it. Without
    ``--preload`` the master holds no application and each worker does it all
    (``post_worker_init``).
    """
    _import_views_and_freeze()


def post_worker_init(worker):
    """The application is loaded: import every view, then freeze what lives as long as the worker.

    Django imports the views on the first request that resolves a URL; measured, that request
    also triggered a full collection of 86-137 ms in each worker (every one of its threads
    stopped), and the next came under load 38 s later at 89-101 ms: each walks every object the
    worker holds, nearly all of them modules, classes and functions made at import. Imported
    here, before the worker accepts anything, and moved out of the collector's generations
    (``gc.freeze``), they are walked no more: full collections then see only what requests made.
    With ``--preload`` the master froze the application before the fork (``when_ready``): what is
    left here is the worker's own, and the frozen objects are not walked by this collection.
    """
    _import_views_and_freeze()
