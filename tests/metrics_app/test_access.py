"""/metrics is served to the configured scraper only: closed (404) unless a token or addresses
are set, then 403 to anyone else; never behind Host validation or the HTTPS redirect."""

import pytest

from metrics_app.checks import metrics_addresses_check

from .conftest import SCRAPE_TOKEN

pytestmark = pytest.mark.django_db


def test_closed_by_default_answers_404(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = []
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 404
    assert b"checkin_" not in response.content


@pytest.mark.parametrize(
    "authorization",
    ["", f"Bearer {SCRAPE_TOKEN}x", "Bearer ", f"Token {SCRAPE_TOKEN}", SCRAPE_TOKEN],
    ids=["none", "wrong", "empty", "other-scheme", "no-scheme"],
)
def test_without_the_right_token_answers_403(client, settings, authorization):
    settings.METRICS_TOKEN = SCRAPE_TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []
    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 403
    assert b"checkin_" not in response.content
    assert SCRAPE_TOKEN.encode() not in response.content


def test_the_right_token_is_served_the_exposition(client, settings):
    settings.METRICS_TOKEN = SCRAPE_TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    assert b"# TYPE checkin_http_requests_total counter" in response.content


@pytest.mark.parametrize(
    ("remote_addr", "status"),
    [("10.20.30.40", 200), ("192.0.2.7", 200), ("::ffff:192.0.2.7", 200), ("10.21.0.1", 403),
     ("2001:db8::1", 403), ("127.0.0.1", 403)],
)  # fmt: skip
def test_allowed_addresses_and_networks(client, settings, remote_addr, status):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.20.0.0/16", "192.0.2.7"]
    assert client.get("/metrics", REMOTE_ADDR=remote_addr).status_code == status


def test_a_forwarded_address_is_not_believed(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.20.0.0/16"]
    response = client.get("/metrics", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.20.0.1")
    assert response.status_code == 403


def test_a_scraper_addressing_the_server_by_ip_over_http_is_served(client, settings):
    """Prometheus scrapes a pod's IP over plain HTTP: no 400 for the Host, no HTTPS redirect."""
    settings.METRICS_TOKEN = SCRAPE_TOKEN
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(
        "/metrics", HTTP_HOST="10.0.0.5:8000", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}"
    )
    assert response.status_code == 200


def test_other_methods_are_refused(client, settings):
    settings.METRICS_TOKEN = SCRAPE_TOKEN
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}")
    assert response.status_code == 405


def test_a_malformed_address_setting_is_a_system_check_error_and_opens_nothing(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["127.0.0.1", "not-an-address"]
    (error,) = metrics_addresses_check()
    assert error.id == "metrics.E001"
    assert "not-an-address" in error.msg
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
