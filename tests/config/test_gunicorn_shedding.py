"""Overload on a real gunicorn, started as the image starts it (the Dockerfile's CMD): more
concurrent check-ins than one worker's admission limit are answered, each either a verdict or 503
``busy`` with ``Retry-After``, and every refusal is counted by the metrics.

A sync worker serves one request at a time, so its admission slot is never contended: the excess
waits in the kernel's accept backlog and is served late or not at all (the door gives up), never
refused. Threaded workers (config/gunicorn.py) let the limit see the excess and shed it.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from devtools.servers import free_port, wait_for_port
from tests.factories import participants_make, session_make
from tests.metrics_app.conftest import samples_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCRAPE_TOKEN = "scrape-token-for-the-shedding-test"
SCANS = 24  # at once, against 2 slots
HOLD_S = 0.3  # each admission holds its slot this long (a slow MongoDB, via a failpoint)
DOOR_TIMEOUT_S = 10.0  # generous for a loaded machine; sync serves 24 x 0.3 s in a row instead


def _image_command(port: int) -> list[str]:
    """The Dockerfile's CMD, bound to ``port`` with one worker and no access log."""
    line = next(x for x in (ROOT / "Dockerfile").read_text().splitlines() if x.startswith("CMD "))
    argv = json.loads(line[len("CMD ") :])
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "1"
    del argv[argv.index("--access-logfile") : argv.index("--access-logfile") + 2]
    assert argv[0] == "gunicorn"
    return [str(Path(sys.executable).with_name("gunicorn")), *argv[1:]]


@pytest.fixture
def image_gunicorn(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="chaos.settings",  # production-like on loopback (DEBUG off)
        MONGODB_NAME=connection.settings_dict["NAME"],
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        METRICS_TOKEN=SCRAPE_TOKEN,
        WEB_MAX_CONCURRENT_REQUESTS="2",
        WEB_THREADS="8",
        WEB_ADMISSION_WAIT_SECONDS="0.05",
        CHECKIN_FAILPOINTS=f"check_in.after_claim=sleep:{HOLD_S}",
    )
    port = free_port()
    proc = subprocess.Popen(
        _image_command(port), cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _post_5xx(base: str) -> float:
    response = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}, timeout=30
    )
    assert response.status_code == 200
    return sum(
        value
        for (name, labels), value in samples_of(response.text).items()
        if name == "checkin_http_requests_total"
        and dict(labels).get("method") == "POST"
        and dict(labels).get("status") == "5xx"
    )


def test_check_ins_beyond_the_limit_are_answered_busy_with_retry_after_not_queued(
    image_gunicorn, staff_user
):
    session = session_make(capacity=1000)
    first, *people = participants_make(SCANS + 1)
    headers = {"Authorization": f"Token {Token.objects.create(user=staff_user).key}"}
    url = f"{image_gunicorn}/api/sessions/{session.pk}/check-in/"
    # One alone first: the worker's first request pays for its connections and caches.
    warm = httpx.post(url, json={"participant": str(first.pk)}, headers=headers, timeout=60)
    assert warm.status_code == 201, warm.text

    def scan(person) -> tuple:
        try:
            r = httpx.post(
                url, json={"participant": str(person.pk)}, headers=headers, timeout=DOOR_TIMEOUT_S
            )
        except httpx.HTTPError as exc:
            return (type(exc).__name__, None, None)
        return (r.status_code, r.json().get("reason"), r.headers.get("Retry-After"))

    with ThreadPoolExecutor(SCANS) as pool:
        answers = list(pool.map(scan, people))

    unexpected = [a for a in answers if a[0] != 201 and a[:2] != (503, "busy")]
    assert not unexpected, f"neither a verdict nor busy: {unexpected}"
    busy = [a for a in answers if a[0] == 503]
    assert busy, f"no scan was refused busy: the excess queued instead ({answers})"
    assert all(retry_after and int(retry_after) >= 1 for *_, retry_after in busy)
    assert any(a[0] == 201 for a in answers)
    assert _post_5xx(image_gunicorn) == len(busy)  # every refusal counted by the metrics
