"""Probes by IP get health with production's ALLOWED_HOSTS; no other Host gets through."""

import pytest


@pytest.fixture(autouse=True)
def production_hosts(settings):
    """What production has by default (tests normally allow 127.0.0.1 and hide the problem)."""
    settings.ALLOWED_HOSTS = ["localhost"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "[::1]:8000", "10.1.2.3", "172.17.0.5:8000"])
@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/health"])
def test_health_answers_probes_addressed_by_ip(client, host, path):
    response = client.get(path, HTTP_HOST=host)
    assert response.status_code == 200, response.content
    assert response.json()["status"] in ("ok", "degraded")


def test_probes_by_ip_see_no_error_texts(client, redis_server):
    redis_server.kill()
    body = client.get("/health", HTTP_HOST="127.0.0.1:8000").json()
    assert body["redis"]["lastError"] == "redacted"


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("127.0.0.1:8000", "/api/sessions/"),
        ("127.0.0.1:8000", "/admin/login/"),
        ("127.0.0.1:8000", "/api/auth/token/"),
        ("127.0.0.1:8000", "/health/checks"),
        ("evil.example", "/health/live"),
        ("evil.example", "/admin/login/"),
        ("localhost.evil.example", "/health"),
    ],
)
def test_every_other_host_and_path_is_still_validated(client, host, path):
    assert client.get(path, HTTP_HOST=host).status_code == 400


def test_the_allowed_name_still_works(client):
    assert client.get("/health/live", HTTP_HOST="localhost").status_code == 200
