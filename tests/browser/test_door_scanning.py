"""The door page at a phone's size with a keyboard-wedge scanner (it types the code, then Enter).

A scan on the session picker never chooses a session and is never lost; check-out mode cannot
be mistaken for check-in and ends by itself; a code that is no ticket is said in a door team's
words. Redis is killed half-way where the door must work the same without it.
"""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from core.staff_time import staff_range, staff_time
from sessions_app.models import CheckIn, Scan, Session
from tests.factories import participant_make, session_make

from .conftest import PHONE
from .support import door_scan, scanner_type, screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def phone(page, live_server, door_staff_user):
    """The browser at a phone's size, signed in as door staff, on the door page."""
    page.set_window_size(*PHONE)
    sign_in(page, live_server, door_staff_user)
    page.get(f"{live_server.url}/door/")
    return page


def _running(**fields) -> Session:
    """An open session that started ten minutes ago: its door admits now."""
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    return session_make(starts_at=start, ends_at=start + dt.timedelta(hours=2), **fields)


def _choose(page, session) -> None:
    page.find_element(By.CSS_SELECTOR, f"button[value='{session.pk}']").click()
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "code")


def _style(page, element, prop: str) -> str:
    return page.execute_script(
        "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])", element, prop
    )


def _kept(page) -> str:
    notice = page.find_elements(By.ID, "kept")
    return notice[0].text if notice and notice[0].is_displayed() else ""


def _out_mode(page) -> bool:
    return page.find_element(By.ID, "mode-banner").is_displayed()


def test_scanner_keys_on_the_picker_choose_no_session_and_the_ticket_is_kept_then_checked_in(
    phone, live_server, redis_server
):
    first = _running(title="Opening keynote")
    second = _running(title="Workshop")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    participant_make(full_name="Vic Park", ticket_code="VIC-0002")
    phone.get(f"{live_server.url}/door/")
    assert phone.switch_to.active_element.tag_name != "button"

    scanner_type(phone, "UMA-0001" + Keys.ENTER)  # right after sign-in, before any tap
    wait_for(phone, lambda b: "Ticket UMA-0001 scanned" in _kept(b), "the scan was not kept")
    assert "choose the session to check it in" in _kept(phone)

    # Enter on a focused session button chooses nothing either: the newer ticket is kept.
    button = phone.find_element(By.CSS_SELECTOR, f"button[value='{first.pk}']")
    phone.execute_script("arguments[0].focus()", button)
    scanner_type(phone, "VIC-0002" + Keys.ENTER + " ")
    wait_for(phone, lambda b: "Ticket VIC-0002 scanned" in _kept(b), "the second scan was lost")
    assert "UMA-0001" in _kept(phone) and "not recorded" in _kept(phone)
    assert not Scan.objects.exists()

    redis_server.kill()
    phone.find_element(By.CSS_SELECTOR, f"button[value='{second.pk}']").click()
    wait_for(phone, lambda b: b.find_elements(By.ID, "result"), "no verdict after the tap")
    result = phone.find_element(By.ID, "result")
    assert result.get_attribute("data-reason") == "checked_in" and "Vic Park" in result.text
    where = phone.find_element(By.CSS_SELECTOR, ".where").text
    assert "Workshop" in where and staff_range(second.starts_at, second.ends_at) in where
    assert [c.session_id for c in CheckIn.objects.all()] == [second.pk]
    assert not Scan.objects.filter(session=first).exists()


def test_picker_without_javascript_keeps_a_scan_and_chooses_nothing(phone, live_server):
    session = _running(title="Opening keynote")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    participant_make(full_name="Vic Park", ticket_code="VIC-0002")
    phone.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        phone.get(f"{live_server.url}/door/")
        assert phone.switch_to.active_element.tag_name != "button"
        scanner_type(phone, "UMA-0001" + Keys.ENTER)
        wait_for(phone, lambda b: "Ticket UMA-0001 scanned" in _kept(b), "the scan was not kept")
        assert phone.current_url.endswith("/door/session/")  # kept by the server: no script ran
        scanner_type(
            phone, "VIC-0002" + Keys.ENTER
        )  # another scan before the tap replaces it, saying so
        wait_for(phone, lambda b: "Ticket VIC-0002 scanned" in _kept(b), "the 2nd scan was lost")
        assert "UMA-0001" in _kept(phone) and "not recorded" in _kept(phone)
        assert not Scan.objects.exists()
        phone.find_element(By.CSS_SELECTOR, f"button[value='{session.pk}']").click()
        wait_for(phone, lambda b: b.find_elements(By.ID, "result"), "no verdict after the tap")
        result = phone.find_element(By.ID, "result")
        assert result.get_attribute("data-reason") == "checked_in" and "Vic Park" in result.text
    finally:
        phone.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_picker_shows_date_and_zone_and_greys_the_sessions_not_open(phone, live_server):
    now = timezone.localtime()
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    night = session_make(
        title="Night owls", starts_at=midnight, ends_at=midnight + dt.timedelta(hours=2)
    )
    today = _running(title="Opening keynote", location="Main hall")
    draft = session_make(
        title="Draft talk", status=Session.Status.DRAFT, starts_at=midnight,
        ends_at=midnight + dt.timedelta(hours=1),
    )  # fmt: skip
    session_make(
        title="Yesterday's closing", status=Session.Status.CLOSED,
        starts_at=now - dt.timedelta(days=1), ends_at=now - dt.timedelta(days=1, hours=-1),
    )  # fmt: skip
    phone.get(f"{live_server.url}/door/")

    night_text = phone.find_element(By.CSS_SELECTOR, f"button[value='{night.pk}'] .when").text
    assert night_text == staff_range(night.starts_at, night.ends_at)
    assert night_text.startswith(midnight.strftime("%a %-d %b")) and night_text.endswith(" UTC")
    today_text = phone.find_element(By.CSS_SELECTOR, f"button[value='{today.pk}'] .when").text
    assert today_text == staff_range(today.starts_at, today.ends_at)

    assert not phone.find_elements(By.CSS_SELECTOR, f"button[value='{draft.pk}']")
    greyed = phone.find_element(By.CSS_SELECTOR, f".not-open[data-session='{draft.pk}']")
    assert "Draft talk" in greyed.text and "NOT OPEN (DRAFT)" in greyed.text
    note = phone.find_element(By.ID, "not-open-note").text
    assert "draft until an organiser opens it" in note
    assert "1 other session not open" in note  # yesterday's, ended: counted, not listed
    scanner_type(phone, "UMA-0001" + Keys.ENTER)
    wait_for(phone, lambda b: "UMA-0001" in _kept(b), "the scan was not kept")
    screenshot(phone, "door-picker")


def test_check_out_mode_is_blue_with_a_banner_and_ends_after_one_scan_or_the_timeout(
    phone, live_server, redis_server, settings
):
    session = _running(title="Opening keynote", capacity=5)
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    participant_make(full_name="Vic Park", ticket_code="VIC-0002")
    phone.get(f"{live_server.url}/door/")
    _choose(phone, session)
    body = phone.find_element(By.TAG_NAME, "body")
    check_in_page = _style(phone, body, "background-color")
    assert not _out_mode(phone)

    reason, text = door_scan(phone, "UMA-0001", 1)
    assert reason == "checked_in" and "CHECKED IN" in text
    checked_in_colour = _style(phone, phone.find_element(By.ID, "result"), "background-color")
    screenshot(phone, "door-check-in")

    phone.find_element(By.CSS_SELECTOR, "label.mode-out").click()
    wait_for(phone, _out_mode, "no check-out banner")
    assert "CHECK-OUT MODE" in phone.find_element(By.ID, "mode-banner").text
    assert _style(phone, body, "background-color") != check_in_page
    phone.find_element(By.ID, "code").click()  # back to the field, as door staff would
    screenshot(phone, "door-check-out-mode")
    reason, text = door_scan(phone, "UMA-0001", 2)
    result = phone.find_element(By.ID, "result")
    assert reason == "checked_out" and "CHECKED OUT" in text
    assert _style(phone, result, "background-color") != checked_in_colour
    screenshot(phone, "door-checked-out")
    wait_for(phone, lambda b: not _out_mode(b), "check-out mode outlived its one scan")
    assert phone.find_element(By.CSS_SELECTOR, "input[name=mode][value=in]").is_selected()
    assert door_scan(phone, "VIC-0002", 3)[0] == "checked_in"  # in again, not out

    redis_server.kill()
    settings.DOOR_CHECK_OUT_MODE_SECONDS = 2
    phone.get(f"{live_server.url}/door/")
    phone.find_element(By.CSS_SELECTOR, "label.mode-out").click()
    wait_for(phone, _out_mode, "no check-out banner (Redis down)")
    wait_for(phone, lambda b: not _out_mode(b), "check-out mode did not end after 2 s idle")
    phone.find_element(By.ID, "code").click()
    assert door_scan(phone, "UMA-0001", 1)[0] == "checked_in"
    latest = Scan.objects.filter(session=session).order_by("-created_at").first()
    first_time = phone.find_element(By.CSS_SELECTOR, "#recent time").text
    assert first_time == staff_time(latest.created_at, seconds=True)
    assert first_time.endswith(" UTC")


def test_a_code_that_is_no_ticket_says_so_in_door_words_at_verdict_size(
    phone, live_server, redis_server
):
    session = _running(title="Opening keynote")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    phone.get(f"{live_server.url}/door/")
    _choose(phone, session)
    door_scan(phone, "UMA-0001", 1)
    headline = phone.find_element(By.CSS_SELECTOR, "#result .headline")
    verdict_font = _style(phone, headline, "font-size")
    line = float(_style(phone, headline, "line-height").removesuffix("px"))

    redis_server.kill()
    reason, text = door_scan(phone, "#12 34", 2)
    headline = phone.find_element(By.CSS_SELECTOR, "#result .headline")
    assert reason == "invalid_code" and headline.text == "NOT A TICKET CODE"
    assert "Scan again" in text
    assert _style(phone, headline, "font-size") == verdict_font
    assert headline.size["height"] <= 2 * line + 1  # two lines at most, like "ALREADY INSIDE"
    screenshot(phone, "door-not-a-ticket")

    # A bad scan in check-out mode decided nothing: the door is still in check-out mode.
    phone.find_element(By.CSS_SELECTOR, "label.mode-out").click()
    phone.find_element(By.ID, "code").click()
    assert door_scan(phone, "#!#!", 3)[0] == "invalid_code"
    wait_for(phone, _out_mode, "check-out mode ended on a scan that decided nothing")
    assert door_scan(phone, "UMA-0001", 4)[0] == "checked_out"
