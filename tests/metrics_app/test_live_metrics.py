"""Live WebSocket clients and the hub's mode, read from a real ASGI server (uvicorn) in
multiprocess mode: its /metrics counts the clients it serves and says when the hub polls because
Redis was killed."""

import time

import httpx
import pytest

from tests.live_support import AsgiServer, LiveView

from .conftest import SCRAPE_TOKEN, samples_of, value_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # a real uvicorn, Redis killed


@pytest.fixture
def asgi(tmp_path):
    server = AsgiServer(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), METRICS_TOKEN=SCRAPE_TOKEN
    ).start()
    yield server
    server.stop()


def _scrape(server) -> dict:
    response = httpx.get(
        f"http://127.0.0.1:{server.port}/metrics",
        headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return samples_of(response.text)


def _wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_clients_and_hub_mode_follow_the_websockets_and_redis(
    asgi, staff_token, redis_server, clean_redis_layer
):
    views = [
        LiveView.open(f"ws://127.0.0.1:{asgi.port}/ws/occupancy/", token=staff_token)
        for _ in range(2)
    ]
    try:
        _wait_for(lambda: value_of(_scrape(asgi), "checkin_live_clients") == 2)
        _wait_for(lambda: value_of(_scrape(asgi), "checkin_live_hub_mode", mode="live") == 1)
        views.pop().close()
        _wait_for(lambda: value_of(_scrape(asgi), "checkin_live_clients") == 1)

        redis_server.kill()
        _wait_for(lambda: value_of(_scrape(asgi), "checkin_live_hub_mode", mode="polling") == 1)
        samples = _scrape(asgi)
        assert value_of(samples, "checkin_live_hub_mode", mode="live") == 0
        assert value_of(samples, "checkin_live_clients") == 1  # a Redis fault keeps the clients
    finally:
        for view in views:
            view.close()
    assert "Traceback" not in asgi.log(), asgi.log()[-3000:]
