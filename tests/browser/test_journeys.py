"""The journeys of door staff and organisers, walked in headless Chromium against a live server."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from sessions_app.models import Session
from tests.factories import participant_make, session_make

from .conftest import PHONE
from .support import door_scan, screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_html_form_check_in_in_the_browsable_api(page, live_server, organiser):
    session = session_make(title="Forms talk", capacity=3)
    participant_make(full_name="Uma Ortiz", ticket_code="FORM-0001")
    sign_in(page, live_server, organiser)
    page.get(f"{live_server.url}/api/sessions/{session.pk}/check-in/")
    assert "Method Not Allowed" not in page.page_source
    form = page.find_element(By.ID, "post-object-form")
    form.find_element(By.NAME, "ticket_code").send_keys("form-0001")
    form.find_element(By.CSS_SELECTOR, "button[type=submit], button.btn-primary").click()
    wait_for(page, lambda b: "HTTP 201 Created" in b.page_source, "no 201 after the form post")
    assert "Uma Ortiz" in page.page_source
    assert Session.objects.get(pk=session.pk).check_in_count == 1


def _switch_mode(page) -> None:
    """From the code input: Tab to the mode switch, arrow to the other mode; focus comes back."""
    page.switch_to.active_element.send_keys(Keys.TAB)
    page.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "code")


def test_door_page_keyboard_scans_with_redis_up_then_killed(
    page, live_server, door_staff_user, redis_server
):
    session = session_make(title="Opening keynote", capacity=1)
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    participant_make(full_name="Vic Park", ticket_code="VIC-0002")
    page.set_window_size(*PHONE)
    sign_in(page, live_server, door_staff_user)
    page.get(f"{live_server.url}/door/")
    page.find_element(By.CSS_SELECTOR, f"button[value='{session.pk}']").click()
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "code")
    page.get(f"{live_server.url}/door/")  # the choice is remembered
    assert page.switch_to.active_element.get_attribute("id") == "code"

    reason, text = door_scan(page, "uma-0001", 1)
    assert reason == "checked_in" and "Uma Ortiz" in text and "1 / 1" in text
    assert "verdict-ok" in page.find_element(By.ID, "result").get_attribute("class")
    assert door_scan(page, " UMA-0001 ", 2)[0] == "already_checked_in"
    reason, text = door_scan(page, "VIC-0002", 3)
    # Refused by code: this door never checked Vic in or out, so no name (sessions_app.access).
    assert reason == "session_full" and "VIC-0002" in text and "Vic Park" not in text
    assert "verdict-stop" in page.find_element(By.ID, "result").get_attribute("class")
    reason, text = door_scan(page, "NOPE-9999", 4)
    assert reason == "ticket_not_found" and "NOPE-9999" in text
    recent = page.find_elements(By.CSS_SELECTOR, "#recent li")
    assert len(recent) >= 4 and "NOPE-9999" in recent[0].text
    assert page.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    ), "the door page scrolls sideways on a phone"

    redis_server.kill()
    assert door_scan(page, "VIC-0002", 5)[0] == "session_full"
    _switch_mode(page)
    reason, text = door_scan(page, "UMA-0001", 6)
    assert reason == "checked_out" and "0 / 1" in text
    # Check-out mode lasted that one scan: the door checks in again without switching back.
    assert door_scan(page, "VIC-0002", 7)[0] == "checked_in"
    screenshot(page, "door-page")
    assert door_scan(page, "VIC-0002", 8)[0] == "already_checked_in"
    assert door_scan(page, "NOPE-9999", 9)[0] == "ticket_not_found"
    assert Session.objects.get(pk=session.pk).check_in_count == 1


def test_degraded_banner_in_the_admin(page, live_server, organiser, redis_server):
    session_make(title="Opening keynote", location="Main hall", capacity=120)
    sign_in(page, live_server, organiser)
    redis_server.kill()
    page.get(f"{live_server.url}/admin/sessions_app/session/")
    banner = page.find_element(By.ID, "degraded-banner")
    assert banner.is_displayed() and "Redis" in banner.text and "since" in banner.text
    assert "Opening keynote" in page.page_source  # the page itself still works
    screenshot(page, "degraded-banner")
    banner.find_element(By.LINK_TEXT, "System health").click()
    wait_for(page, lambda b: "unreachable" in b.page_source, "the health page says nothing")


def test_door_staff_sign_in_reach_the_door_but_not_the_participants(
    page, live_server, door_staff_user
):
    participant_make(full_name="Uma Ortiz")
    page.get(f"{live_server.url}/door/")
    assert "/door/login/" in page.current_url
    page.switch_to.active_element.send_keys("door")
    page.switch_to.active_element.send_keys(Keys.TAB, "door-pass-123", Keys.ENTER)
    wait_for(page, lambda b: b.current_url.endswith("/door/"), "not on the door page")
    assert "Choose the session" in page.page_source
    page.get(f"{live_server.url}/admin/participants_app/participant/")
    assert "Uma Ortiz" not in page.page_source
    assert "not authorized" in page.page_source


def test_api_docs_render_with_nothing_beyond_the_server(page, live_server, organiser):
    sign_in(page, live_server, organiser)
    page.get(f"{live_server.url}/api/docs/")
    wait_for(
        page,
        lambda b: b.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"),
        "Swagger UI did not render",
    )
    assert "Event check-in API" in page.find_element(By.CSS_SELECTOR, ".swagger-ui .info").text
    loaded = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(live_server.url) for url in loaded), loaded
