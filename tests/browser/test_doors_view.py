"""The doors view in headless Chromium: a door device's scan shows in its row within a few
seconds, with Redis up and killed; a silent and a failing door are highlighted in words.

The page comes from the live server (WSGI); its WebSocket goes to a real uvicorn process
(config.asgi), as on the board. The doors are real paired devices: added and paired over the API,
they scan with ``Authorization: Device <token>`` and report the latency they measured in
``X-Door-Latency-Ms``, as the door page does.
"""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from devices_app.models import DoorDevice
from tests.factories import participants_make, session_make

from .support import screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
UPDATE_SECONDS = 5  # "within a few seconds": the view reads about once a second


@pytest.fixture
def doors_settings(settings, asgi_server):
    """The doors view's page (live server) opens its WebSocket on the ASGI server's port."""
    settings.LIVE_WEBSOCKET_URL = f"ws://localhost:{asgi_server.port}"
    return settings


def _cell(page, device, field) -> str:  # device: a Door or a DoorDevice
    return page.find_element(By.CSS_SELECTOR, f"#d-{device.pk} [data-field='{field}']").text


def _shows(page, device, field, text: str, message: str):
    WebDriverWait(
        page, UPDATE_SECONDS, poll_frequency=0.05,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(lambda b: _cell(b, device, field) == text, message)  # fmt: skip


def _device(name, location="", *, seen_ago=1) -> DoorDevice:
    now = timezone.now()
    return DoorDevice.objects.create(
        name=name, location=location, paired_at=now - dt.timedelta(hours=2),
        last_seen_at=now - dt.timedelta(seconds=seen_ago),
    )  # fmt: skip


class Door:
    """A paired door device speaking the API: its row in the view, its requests."""

    def __init__(self, organiser_api: APIClient, name: str, location: str) -> None:
        made = organiser_api.post("/api/devices/", {"name": name, "location": location}, "json")
        assert made.status_code == 201, made.content
        paired = APIClient().post(
            "/api/devices/pair/", {"code": made.json()["pairing_code"]}, "json"
        )
        assert paired.status_code == 200, paired.content
        self.pk = made.json()["id"]
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Device {paired.json()['token']}")

    def scan(self, session, body: dict, latency_ms: int, status: int) -> None:
        url = f"/api/sessions/{session.pk}/check-in/"
        answer = self.api.post(url, body, "json", HTTP_X_DOOR_LATENCY_MS=str(latency_ms))
        assert answer.status_code == status, answer.content

    def check_in(self, session, person, latency_ms: int) -> None:
        self.scan(session, {"participant": str(person.pk)}, latency_ms, 201)


def test_a_device_scan_shows_in_its_row_with_redis_up_and_killed(
    page, live_server, doors_settings, django_user_model, redis_server
):
    organiser = django_user_model.objects.create_superuser(username="boss", password="boss-1234")
    organiser_api = APIClient()
    organiser_api.force_authenticate(organiser)
    keynote = session_make(title="Opening keynote", location="Hall A", capacity=120)
    workshop = session_make(title="Workshop: accessible forms", location="Room 2", capacity=24)
    people = participants_make(8)
    hall_a = Door(organiser_api, "Hall A, door 2", "North entrance")
    silent = _device("Hall B, side door", "Garden", seen_ago=375)  # paired, silent for 6 minutes
    gate = Door(organiser_api, "Room 2, gate", "First floor")
    for i, person in enumerate(people[:4]):
        hall_a.check_in(keynote, person, latency_ms=60 + 15 * i)
    for code in ("WRONG-1", "WRONG-2", "WRONG-3"):
        gate.scan(workshop, {"ticket_code": code}, latency_ms=300, status=404)

    sign_in(page, live_server, organiser)
    page.get(f"{live_server.url}/board/doors/")
    wait_for(page, lambda b: b.find_element(By.ID, "status").text == "Live", "never live")
    _shows(page, hall_a, "scans_1m", "4", "the doors view did not show the door's scans")
    assert _cell(page, hall_a, "name").startswith("Hall A, door 2")
    assert _cell(page, hall_a, "latency") == "75 / 105 ms"
    rows = {
        row.find_element(By.CSS_SELECTOR, "[data-field='name'] .name").text: row
        for row in page.find_elements(By.CSS_SELECTOR, "#doors tr")
    }
    assert list(rows) == ["Hall A, door 2", "Hall B, side door", "Room 2, gate"]
    assert "alert-silent" in rows["Hall B, side door"].get_attribute("class")
    assert "Silent: no request or scan for a minute or more" in rows["Hall B, side door"].text
    assert _cell(page, silent, "seen") == "6 min ago"
    assert "alert-failing" in rows["Room 2, gate"].get_attribute("class")
    assert "none accepted (3 unknown ticket)" in rows["Room 2, gate"].text
    banner = page.find_element(By.ID, "banner")
    assert not banner.is_displayed()
    screenshot(page, "doors-view")

    hall_a.check_in(keynote, people[4], latency_ms=90)
    _shows(page, hall_a, "scans_1m", "5", "a device's scan did not show within 5 s")

    redis_server.kill()
    wait_for(page, lambda b: banner.is_displayed(), "no banner while polling")
    assert "Redis unavailable" in banner.text
    hall_a.check_in(keynote, people[5], latency_ms=110)
    _shows(page, hall_a, "scans_1m", "6", "with Redis killed, a device's scan did not show")
    gate.check_in(workshop, people[6], latency_ms=240)
    _shows(page, gate, "accepted", "1 in · 0 out", "with Redis killed, the gate's scan")
    wait_for(
        page,
        lambda b: (
            "alert-failing" not in b.find_element(By.ID, f"d-{gate.pk}").get_attribute("class")
        ),
        "an accepted scan did not lift the failing highlight",
    )
    screenshot(page, "doors-view-polling")

    redis_server.start()
    wait_for(page, lambda b: not banner.is_displayed(), "the banner stayed after Redis returned")
    hall_a.check_in(keynote, people[7], latency_ms=70)
    _shows(page, hall_a, "scans_1m", "7", "after Redis returned, a device's scan did not show")
    session_rows = page.find_elements(By.CSS_SELECTOR, "#sessions tr")
    assert [r.find_element(By.CSS_SELECTOR, "[data-field='title']").text for r in session_rows] == [
        "Opening keynote", "Workshop: accessible forms"
    ]  # fmt: skip


def test_doors_view_refuses_anonymous_visitors(page, live_server):
    page.get(f"{live_server.url}/board/doors/")
    assert "/door/login/" in page.current_url
