"""Probes and helpers: masking, broker check through kombu, reconcile freshness, HTTPS exemption."""

import importlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from devtools.servers import RedisServer
from health_app import probes
from jobs_app.models import JobRun
from jobs_app.schedule import RECONCILE_JOB
from jobs_app.selectors import broker_is_redis


@pytest.mark.parametrize(
    "error",
    [
        "Error 111 connecting to 127.0.0.1:6380. Connection refused.",
        "Authentication failed for redis://user:s3cret@cache.internal:6379/0",
        "mongo.internal:27017: timed out (configured timeouts: timeoutMS: 400.0ms)",
        ConnectionError("[Errno 111] Connection refused to 10.1.2.3"),
    ],
)
def test_mask_error_hides_hosts_and_credentials(error):
    text = probes.mask_error(error)
    for secret in (
        "127.0.0.1",
        "s3cret",
        "user",
        "cache.internal",
        "mongo.internal",
        "10.1.2.3",
    ):
        assert secret not in text
    assert "configured timeouts" not in text


def test_mask_error_hides_configured_hosts_and_passwords(settings):
    settings.CELERY_BROKER_URL = "amqp://rabbit:hunter2@broker.example:5672//"
    text = probes.mask_error("login refused for rabbit with hunter2 at broker.example")
    assert text == "login refused for *** with *** at ***"


@pytest.fixture
def separate_broker(settings):
    """A broker that is not REDIS_URL, so the kombu path runs (a second real redis-server)."""
    server = RedisServer().start()
    settings.CELERY_BROKER_URL = server.url
    yield server
    server.stop()


def test_separate_broker_is_checked_with_kombu(staff_web_client, separate_broker):
    client = staff_web_client
    assert not broker_is_redis()
    body = client.get("/health").json()
    assert (body["status"], body["celery"]["broker"]) == ("ok", "connected")

    separate_broker.kill()
    response = client.get("/health")
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["redis"]["status"] == "connected"
    assert body["celery"]["broker"] == "disconnected"
    assert "127.0.0.1" not in body["celery"]["brokerError"]
    assert f"***:{separate_broker.port}" in body["celery"]["brokerError"]


def test_separate_broker_paused_is_bounded(separate_broker):
    separate_broker.pause()
    try:
        observation = probes.broker_ping()
    finally:
        separate_broker.resume()
    assert not observation.ok


class ReconcileRecord:
    """The real JobRun record of the reconcile job, set to a chosen time (None: never ran)."""

    def __setitem__(self, key, when):

        when = when.replace(microsecond=0) if when else None  # MongoDB keeps milliseconds
        JobRun.objects.update_or_create(name=RECONCILE_JOB, defaults={"last_success_at": when})
        self.at = when

    def __getitem__(self, key):
        return self.at


@pytest.fixture
def reconcile_record(db):
    return ReconcileRecord()


@pytest.mark.real_reconcile_freshness
def test_reconcile_fresh_stale_and_never(reconcile_record, settings, monkeypatch):
    settings.RECONCILE_INTERVAL_SECONDS = 30
    reconcile_record["at"] = timezone.now() - timedelta(seconds=50)
    assert probes.reconcile_freshness().ok
    reconcile_record["at"] = timezone.now() - timedelta(seconds=61)
    stale = probes.reconcile_freshness()
    assert (stale.ok, stale.value) == (False, reconcile_record["at"])

    reconcile_record["at"] = None
    monkeypatch.setattr(probes, "_STARTED_AT", probes.time.monotonic())
    assert probes.reconcile_freshness().ok  # just started: grace period
    monkeypatch.setattr(probes, "_STARTED_AT", probes.time.monotonic() - 61)
    assert not probes.reconcile_freshness().ok


@pytest.mark.real_reconcile_freshness
def test_stale_reconcile_degrades_health(client, reconcile_record, settings):
    settings.RECONCILE_INTERVAL_SECONDS = 30
    reconcile_record["at"] = timezone.now() - timedelta(minutes=5)
    response = client.get("/health")
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["celery"]["reconcileStale"] is True
    assert body["celery"]["lastReconcile"] == reconcile_record["at"].isoformat(
        timespec="milliseconds"
    )


@pytest.fixture
def production_exemptions(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "test-only")
    return importlib.import_module("config.settings.production").SECURE_REDIRECT_EXEMPT


def test_production_does_not_redirect_health_to_https(production_exemptions):
    exempt = [re.compile(pattern) for pattern in production_exemptions]
    for path in ("health", "health/live", "health/ready", "health/checks"):
        assert any(pattern.search(path) for pattern in exempt), path
    assert not any(pattern.search("api/sessions/") for pattern in exempt)
    assert not any(pattern.search("healthz-admin") for pattern in exempt)


def test_production_exemption_works_through_the_middleware(client, settings, production_exemptions):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = production_exemptions
    for path in ("/health", "/health/live", "/health/ready"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/").status_code == 301
