"""Test-only tasks the worker under test loads with ``-I tests.jobs_app.probe_tasks``.

They record each start and finish in a MongoDB collection so a test can see redeliveries.
"""

import time

from celery import shared_task
from django.db import connection

PROBE_COLLECTION = "probe_events"


def probe_events(token: str) -> list[dict]:
    """Return the recorded events of one probe token, oldest first."""
    connection.ensure_connection()
    return list(
        connection.database[PROBE_COLLECTION].find({"token": token}, {"_id": 0}).sort("t", 1)
    )


@shared_task(name="tests.probe_sleep", acks_late=True, reject_on_worker_lost=True)
def probe_sleep(token: str, seconds: float = 0.0) -> None:
    """Record a start, sleep (on the first delivery only), record a finish."""
    connection.ensure_connection()
    events = connection.database[PROBE_COLLECTION]
    redelivered = events.count_documents({"token": token, "event": "start"}) > 0
    events.insert_one({"token": token, "event": "start", "t": time.time()})
    if not redelivered:
        time.sleep(seconds)
    events.insert_one({"token": token, "event": "finish", "t": time.time()})


def probe_release(token: str) -> None:
    """Let a waiting ``tests.probe_gate`` task of this token return."""
    connection.ensure_connection()
    connection.database[PROBE_COLLECTION].insert_one(
        {"token": token, "event": "release", "t": time.time()}
    )


@shared_task(name="tests.probe_gate", acks_late=True, reject_on_worker_lost=True)
def probe_gate(token: str, limit: float = 60.0) -> None:
    """Record a start, wait (bounded) until the test releases the token, record a finish.

    The test decides the moment the task returns, and so the moment the worker acknowledges it.
    """
    connection.ensure_connection()
    events = connection.database[PROBE_COLLECTION]
    events.insert_one({"token": token, "event": "start", "t": time.time()})
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if events.count_documents({"token": token, "event": "release"}):
            break
        time.sleep(0.02)
    events.insert_one({"token": token, "event": "finish", "t": time.time()})
