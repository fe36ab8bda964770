"""The door page's Undo, in a real browser: the last check-in undone from the keyboard, with Redis
up and killed; the Undo gone once its window has passed; the door's own latency sent along."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from sessions_app.models import CheckIn, Scan, Session
from tests.factories import participant_make, session_counter, session_make

from .conftest import PHONE
from .support import door_scan, scanner_type, screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def phone(page, live_server, door_staff_user):
    page.set_window_size(*PHONE)
    sign_in(page, live_server, door_staff_user)
    return page


def _running(**fields) -> Session:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    return session_make(starts_at=start, ends_at=start + dt.timedelta(hours=2), **fields)


def _choose(page, live_server, session) -> None:
    page.get(f"{live_server.url}/door/")
    page.find_element(By.CSS_SELECTOR, f"button[value='{session.pk}']").click()
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "code")


def _answered(page, count: int) -> tuple[str, str]:
    wait_for(
        page,
        lambda b: b.execute_script("return document.body.dataset.answered") == str(count),
        f"no answer {count}",
    )
    result = page.find_element(By.ID, "result")
    return result.get_attribute("data-reason"), result.text


@pytest.mark.parametrize("redis_state", ["up", "killed"])
def test_undo_on_the_last_check_in_from_the_keyboard_frees_the_place(
    phone, live_server, redis_server, redis_state
):
    session = _running(title="Opening keynote", capacity=1)
    uma = participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    participant_make(full_name="Vic Park", ticket_code="VIC-0002")
    _choose(phone, live_server, session)
    if redis_state == "killed":
        redis_server.kill()

    reason, text = door_scan(phone, "UMA-0001", 1)
    assert reason == "checked_in" and "Uma Ortiz" in text
    undo = phone.find_element(By.ID, "undo")
    assert undo.is_displayed() and undo.text.lower() == "undo"
    screenshot(phone, f"door-undo-offered-redis-{redis_state}")

    # Keyboard only: Tab from the code field reaches the Undo, Enter presses it.
    for _tab in range(6):
        if phone.switch_to.active_element.get_attribute("id") == "undo":
            break
        scanner_type(phone, Keys.TAB)
    assert phone.switch_to.active_element.get_attribute("id") == "undo"
    scanner_type(phone, Keys.ENTER)
    reason, text = _answered(phone, 2)

    assert reason == "annulled"
    assert "CHECK-IN UNDONE" in text and "Uma Ortiz" in text and "0 / 1 inside" in text
    assert not phone.find_elements(By.ID, "undo")
    wait_for(phone, lambda b: b.switch_to.active_element.get_attribute("id") == "code")
    screenshot(phone, f"door-undone-redis-{redis_state}")
    assert not CheckIn.objects.filter(participant=uma, state=CheckIn.State.INSIDE).exists()
    assert session_counter(session) == 0
    # The page measured the scan's round trip and sent it with the undo.
    assert Scan.objects.get(reason="annulled").client_latency_ms is not None

    assert door_scan(phone, "VIC-0002", 3)[0] == "checked_in"  # the freed place, once
    assert door_scan(phone, "UMA-0001", 4)[0] == "session_full"


def test_the_undo_is_taken_away_when_its_window_has_passed(
    phone, live_server, redis_server, settings
):
    settings.UNDO_WINDOW_SECONDS = 2
    session = _running(title="Workshop")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    _choose(phone, live_server, session)
    assert door_scan(phone, "UMA-0001", 1)[0] == "checked_in"
    assert phone.find_element(By.ID, "undo").is_displayed()
    wait_for(phone, lambda b: not b.find_elements(By.ID, "undo"), "the Undo outlived its window")
    assert "Uma Ortiz" in phone.find_element(By.ID, "result").text  # the answer stays


def test_alt_u_presses_the_undo_from_the_code_field(phone, live_server, redis_server):
    session = _running(title="Workshop")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    _choose(phone, live_server, session)
    assert door_scan(phone, "UMA-0001", 1)[0] == "checked_in"
    assert phone.switch_to.active_element.get_attribute("id") == "code"
    ActionChains(phone).key_down(Keys.ALT).send_keys("u").key_up(Keys.ALT).perform()
    reason, text = _answered(phone, 2)
    assert reason == "annulled" and "Uma Ortiz" in text
