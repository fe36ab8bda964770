"""Pair the door page as a device with the code the admin shows, then scan at its session.

The organiser adds the device in the admin (one session), reads the pairing code off the page
(saved as docs/screenshots/device-pairing-code.png with CHECKIN_SCREENSHOTS); a fresh browser at
a phone's size follows "Pair this device" from the door's sign-in page, the scanner types the
code and Enter, and the door lists only the device's session and checks in as the device.
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from devices_app.models import DoorDevice
from sessions_app.models import Scan
from tests.factories import participant_make, session_make

from .conftest import PHONE
from .support import door_scan, scanner_type, screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _add_device(page, live_server, session) -> str:
    """Add "Hall A, door 2" for ``session`` in the admin; return the pairing code it shows."""
    page.get(f"{live_server.url}/admin/devices_app/doordevice/add/")
    page.find_element(By.ID, "id_name").send_keys("Hall A, door 2")
    page.find_element(By.ID, "id_location").send_keys("East wing, ground floor")
    page.find_element(By.ID, "id_all_sessions").click()  # on by default: this one scans one
    wait_for(page, lambda b: b.find_elements(By.ID, "id_sessions_from"), "no session chooser")
    page.find_element(By.CSS_SELECTOR, f"#id_sessions_from option[value='{session.pk}']").click()
    page.find_element(By.ID, "id_sessions_add").click()
    page.find_element(By.NAME, "_save").click()
    code = wait_for(page, lambda b: b.find_element(By.ID, "pairing-code"), "no pairing code")
    assert page.find_element(By.CSS_SELECTOR, "#pairing-qr svg").is_displayed()
    return code.text


def test_a_door_paired_with_the_admins_code_scans_as_the_device(page, live_server, organiser):
    hall_a = session_make(title="Hall A keynote", capacity=40)
    session_make(title="Hall B workshop", capacity=40)
    ada = participant_make(full_name="Ada Lovelace", ticket_code="ADA-0001")
    sign_in(page, live_server, organiser)
    code = _add_device(page, live_server, hall_a)
    screenshot(page, "device-pairing-code")

    page.delete_all_cookies()  # the tablet: another browser, nobody signed in
    page.set_window_size(*PHONE)
    page.get(f"{live_server.url}/door/login/")
    page.find_element(By.ID, "pair-link").click()
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "pair-code")
    scanner_type(page, code + Keys.ENTER)
    wait_for(page, lambda b: "Choose the session" in b.page_source, "not paired")
    picker = page.find_element(By.TAG_NAME, "main").text
    assert "Hall A keynote" in picker and "Hall B workshop" not in picker
    assert "Hall A, door 2" in page.find_element(By.CLASS_NAME, "top").text
    page.find_element(By.CSS_SELECTOR, f"button[value='{hall_a.pk}']").click()
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "code")
    reason, _text = door_scan(page, "ADA-0001", 1)
    assert reason == "checked_in"
    scan = Scan.objects.get(participant=ada)
    assert scan.device_id == DoorDevice.objects.get().pk and scan.device_name == "Hall A, door 2"
