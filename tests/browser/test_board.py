"""The live board in headless Chromium: counts change in place, through a Redis outage too.

The page comes from the live server (WSGI, as gunicorn serves it); its WebSocket goes to a real
uvicorn process (config.asgi) on another port, as ``LIVE_WEBSOCKET_URL`` says. Check-ins go
through the HTTP API with a door token.
"""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.factories import participants_make, session_make

from .support import screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
UPDATE_SECONDS = 2  # the acceptance bound: a check-in shows on the board within 2 s


def _count(page, session) -> str:
    return page.find_element(By.CSS_SELECTOR, f"#s-{session.pk} [data-field='count']").text


def _shows(page, session, count: int, message: str):
    WebDriverWait(page, UPDATE_SECONDS, poll_frequency=0.05).until(
        lambda b: _count(b, session) == str(count), message
    )


@pytest.fixture
def board_settings(settings, asgi_server):
    """The board's page (live server) opens its WebSocket on the ASGI server's port."""
    settings.LIVE_WEBSOCKET_URL = f"ws://localhost:{asgi_server.port}"
    return settings


def test_board_counts_live_through_a_redis_outage(
    page, live_server, board_settings, django_user_model, redis_server
):
    organiser = django_user_model.objects.create_superuser(username="boss", password="boss-1234")
    start = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=20)  # doors open
    keynote = session_make(
        title="Opening keynote", location="Hall A", capacity=120, starts_at=start
    )
    session_make(
        title="Workshop: accessible forms", location="Room 2", capacity=24,
        starts_at=start + dt.timedelta(hours=1), ends_at=start + dt.timedelta(hours=3),
    )  # fmt: skip
    session_make(title="Draft talk", status="draft")
    people = participants_make(3)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=organiser).key}")

    def check_in(person):
        url = f"/api/sessions/{keynote.pk}/check-in/"
        assert api.post(url, {"participant": str(person.pk)}, format="json").status_code == 201

    sign_in(page, live_server, organiser)
    page.get(f"{live_server.url}/board/")
    wait_for(page, lambda b: b.find_element(By.ID, "status").text == "Live", "never live")
    titles = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#rows .title")]
    assert titles == ["Opening keynote", "Workshop: accessible forms"]  # open, by start time
    assert _count(page, keynote) == "0"
    banner = page.find_element(By.ID, "banner")
    assert not banner.is_displayed()

    check_in(people[0])
    _shows(page, keynote, 1, "a check-in did not show within 2 s")

    redis_server.kill()
    check_in(people[1])
    _shows(page, keynote, 2, "with Redis killed, a check-in did not show within 2 s")
    wait_for(page, lambda b: banner.is_displayed(), "no banner while polling")
    assert "Redis unavailable" in banner.text
    screenshot(page, "live-board-polling")

    redis_server.start()
    wait_for(page, lambda b: not banner.is_displayed(), "the banner stayed after Redis returned")
    check_in(people[2])
    _shows(page, keynote, 3, "after Redis returned, a check-in did not show within 2 s")
    screenshot(page, "live-board")


def test_board_refuses_anonymous_visitors(page, live_server):
    page.get(f"{live_server.url}/board/")
    assert "/door/login/" in page.current_url
