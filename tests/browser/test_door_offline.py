"""The door page offline, in a real browser, with the server really stopped and started again.

The door page runs against its own uvicorn (config.asgi's HTTP app; tests/browser/door_offline_asgi
.py adds the static files), paired as a door device with the admin's code. Online, a scan is
answered by the server while the page takes a lease of places and the offline pack. Then the
server process is stopped: scans are decided on the device (admitted on the lease, already inside,
unknown ticket, checked out), queued in IndexedDB, and the banner counts them; a reload while
stopped opens the page from the service worker's copy with the queue intact. Another door admits
one of the same people online meanwhile. The server starts again on the same port: the queue
syncs by itself, the conflict is shown on the door, the scan log and the admin show the offline
scans with their scan times and the conflict. Walked with Redis up and killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions

from devices_app.services import device_create
from devtools.servers import free_port, wait_for_port
from sessions_app.models import CheckIn, Scan
from sessions_app.services import session_check_in
from tests.factories import (
    assert_capacity_holds,
    participant_make,
    participants_make,
    session_make,
)

from .conftest import DESKTOP, PHONE
from .support import scanner_type, screenshot, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
SYNC_WAIT = 30  # the door probes every 3 s; uvicorn starts in a few


class DoorServer:
    """uvicorn serving the door page on one port, stopped and started again like a real outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.log_path = Path(tempfile.mkdtemp(prefix="checkin-door-")) / "uvicorn.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DoorServer:
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test",
                   MONGODB_NAME=connection.settings_dict["NAME"])  # fmt: skip
        argv = [sys.executable, "-m", "uvicorn", "tests.browser.door_offline_asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off",
                "--no-access-log"]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        wait_for_port(self.port, timeout=60, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # a crash or a cut, not a graceful drain
            self.proc.wait(timeout=10)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections are accepted by the kernel, never answered."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def door_server(transactional_db):
    server = DoorServer().start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


def _answered(page, count: int) -> tuple[str, str]:
    wait_for(
        page,
        lambda b: b.execute_script("return document.body.dataset.answered") == str(count),
        f"no answer {count}",
    )
    result = page.find_element(By.ID, "result")
    return result.get_attribute("data-reason"), result.text


def _scan(page, code: str, count: int) -> tuple[str, str]:
    scanner_type(page, code + Keys.ENTER)
    return _answered(page, count)


def _body(page, name: str) -> str | None:
    return page.execute_script(f"return document.body.dataset.{name}")


def _pair_and_choose(page, server: DoorServer, session) -> None:
    code = device_create(name="Hall A, door 2", session_ids=[session.pk]).code
    page.get(f"{server.url}/health/live")
    page.delete_all_cookies()
    page.get(f"{server.url}/door/pair/")
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "pair-code")
    scanner_type(page, code + Keys.ENTER)
    wait_for(page, lambda b: b.find_elements(By.CSS_SELECTOR, f"button[value='{session.pk}']"))
    page.find_element(By.CSS_SELECTOR, f"button[value='{session.pk}']").click()
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "code")


def _offline_ready(page) -> None:
    """Wait until the door holds its pack and lease and the service worker controls the page."""
    wait_for(page, lambda b: _body(b, "offlineReady") == "1", "no offline pack or lease")
    wait_for(
        page,
        lambda b: b.execute_script("return !!navigator.serviceWorker.controller"),
        "no service worker controls the page",
    )


def _banner(page) -> str:
    return page.find_element(By.ID, "offline-banner").text


@pytest.mark.parametrize("redis_state", ["up", "killed"])
def test_a_door_that_loses_the_server_decides_offline_then_syncs_its_queue(
    browser, door_server, redis_server, redis_state, organiser
):
    hall = session_make(title="Hall A keynote", capacity=20)  # a lease of 2 places (10 %)
    for code, name in [("ADA-0001", "Ada Lovelace"), ("GRACE-0002", "Grace Hopper"),
                       ("ALAN-0003", "Alan Turing"), ("EDS-0004", "Edsger Dijkstra")]:  # fmt: skip
        participant_make(full_name=name, ticket_code=code)
    browser.set_window_size(*PHONE)
    _pair_and_choose(browser, door_server, hall)
    if redis_state == "killed":
        redis_server.kill()

    assert _scan(browser, "ADA-0001", 1)[0] == "checked_in"  # online: the server answers
    _offline_ready(browser)
    assert _body(browser, "placesLeft") == "2"

    door_server.stop()
    session_check_in(
        session_id=hall.pk,
        ticket_code="EDS-0004",
        source=CheckIn.Source.API,
        actor="door-b",
        nonce="door-b-1",
    )  # fmt: skip - another door, online
    _offline(browser)
    door_server.start()
    _synced(browser, door_server, hall, organiser)


def _offline(browser) -> None:
    """Scan with the server stopped: on the lease's places, through a reload, until used up."""
    reason, text = _scan(browser, "GRACE-0002", 2)
    assert reason == "admitted_offline" and "Grace Hopper" in text, text
    wait_for(browser, lambda b: _body(b, "offline") == "offline", "the door did not go offline")
    assert "1 scan queued, 1 place left" in _banner(browser)
    assert _scan(browser, "ADA-0001", 3)[0] == "already_inside_offline"
    assert _scan(browser, "NOPE-0000", 4)[0] == "unknown_offline"
    assert _scan(browser, "EDS-0004", 5)[0] == "admitted_offline"  # the pack is older than door B
    browser.refresh()  # still down: the page comes from the service worker, the queue from IndexedDB
    wait_for(browser, lambda b: "Opened without the network" in b.page_source, "no offline page")
    wait_for(browser, lambda b: _body(b, "queued") == "2", "the queue did not survive a reload")
    reason, text = _scan(browser, "ALAN-0003", 1)
    assert reason == "full_offline" and "offline places are used up" in text.lower(), text
    browser.find_element(By.CSS_SELECTOR, "label.mode-out").click()
    assert _scan(browser, "GRACE-0002", 2)[0] == "checked_out_offline"  # her place comes back
    assert _scan(browser, "ALAN-0003", 3)[0] == "admitted_offline"
    assert "4 scans queued, 0 places left" in _banner(browser)
    screenshot(browser, "door-offline")
    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    alert = wait_for(browser, expected_conditions.alert_is_present(), "sign-out not refused")
    assert "4 offline scans are not synced yet" in alert.text
    alert.accept()
    assert _body(browser, "queued") == "4"


def _synced(browser, door_server, hall, organiser) -> None:
    """The queue synced by itself: the conflict on the door, the scan log, the admin."""
    wait_for(browser, lambda b: _body(b, "queued") == "0", "the queue did not sync")
    wait_for(browser, lambda b: "Conflict: Edsger Dijkstra" in _banner(b), "no conflict shown")
    screenshot(browser, "door-offline-synced")
    assert "admitted elsewhere" in _banner(browser)
    scans = {(s.participant_name, s.direction): s for s in Scan.objects.filter(session=hall)}
    for key in [("Grace Hopper", "in"), ("Alan Turing", "in"), ("Grace Hopper", "out")]:
        assert scans[key].scanned_at is not None and scans[key].scanned_at < scans[key].created_at
    conflicts = Scan.objects.filter(session=hall).exclude(conflict="")
    assert [(s.participant_name, s.conflict) for s in conflicts] == [
        ("Edsger Dijkstra", "admitted_elsewhere")
    ]
    inside = set(
        CheckIn.objects.filter(session=hall, state=CheckIn.State.INSIDE).values_list(
            "participant__full_name", flat=True
        )
    )
    assert inside == {"Ada Lovelace", "Alan Turing", "Edsger Dijkstra"}
    assert_capacity_holds(hall)

    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()  # nothing queued now
    wait_for(browser, lambda b: "/door/login/" in b.current_url, "not signed out")
    stores = browser.execute_script(
        "return indexedDB.databases().then(list => list.map(d => d.name))"
    )
    assert "door-offline" not in stores  # the copy and the lease left with the door team
    hall.refresh_from_db()
    assert hall.leased == 0  # the unused places went back to the session with the sign-out
    _admin_shows(browser, door_server, hall, organiser)


def _admin_shows(browser, door_server, hall, organiser) -> None:
    """The organiser's admin: the offline scans with both times, the conflict on its page."""
    client = Client()
    client.force_login(organiser)
    browser.add_cookie(
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"}
    )
    browser.set_window_size(*DESKTOP)
    browser.get(f"{door_server.url}/admin/sessions_app/scan/?session__id__exact={hall.pk}")
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")]
    offline = [row for row in rows if "Alan Turing" in row or "Grace Hopper" in row]
    assert len(offline) == 3 and all("scanned" in row for row in offline), rows
    assert all("Hall A, door 2 (device)" in row for row in offline), rows
    browser.get(f"{door_server.url}/admin/sessions_app/scanconflict/")
    conflicts = browser.find_element(By.ID, "result_list").text
    assert "Edsger Dijkstra" in conflicts and "another door" in conflicts, conflicts
    screenshot(browser, "door-offline-admin-conflicts")


def test_a_scan_unanswered_for_2_seconds_is_decided_here_and_counted_once(
    browser, door_server, redis_server
):
    """The server frozen, not gone: the scan waits 2 s, is admitted on the lease, and queued with
    the nonce it was posted with. The frozen server may still decide that post when it wakes up
    (its answer lost): the sync then answers it as a repeat. Either way the person counts once."""
    hall = session_make(title="Hall A keynote", capacity=20)
    participant_make(full_name="Ada Lovelace", ticket_code="ADA-0001")
    grace = participant_make(full_name="Grace Hopper", ticket_code="GRACE-0002")
    browser.set_window_size(*PHONE)
    _pair_and_choose(browser, door_server, hall)
    assert _scan(browser, "ADA-0001", 1)[0] == "checked_in"
    _offline_ready(browser)

    door_server.pause()
    try:
        reason, text = _scan(browser, "GRACE-0002", 2)
        assert reason == "admitted_offline" and "Grace Hopper" in text, text
        assert _body(browser, "queued") == "1"
    finally:
        door_server.resume()

    wait_for(browser, lambda b: _body(b, "queued") == "0", "the queue did not sync")
    hall.refresh_from_db()
    assert hall.check_in_count == 2  # Ada and Grace, once
    assert CheckIn.objects.get(session=hall, participant=grace).state == CheckIn.State.INSIDE
    decided_online = Scan.objects.filter(
        session=hall, participant=grace, source=CheckIn.Source.DOOR
    ).exists()
    # Decided by the woken server: the lease kept its places; else the door used one of them.
    wanted = "2" if decided_online else "1"
    wait_for(browser, lambda b: _body(b, "placesLeft") == wanted, f"places left not {wanted}")
    assert_capacity_holds(hall)

    browser.find_element(By.CSS_SELECTOR, "a.change").click()  # the door leaves the session
    wait_for(browser, lambda b: "Choose the session" in b.page_source, "no session picker")
    hall.refresh_from_db()
    assert hall.leased == 0  # its unused places went back at once, not at the lease's expiry


def test_a_door_admits_on_its_held_places_once_the_session_is_full_for_the_others(
    browser, door_server, redis_server
):
    """Online too, the places a door holds are its own: when the session is full for every other
    door (its held places count as taken), the door checks people in on them, then says full."""
    hall = session_make(title="Hall A keynote", capacity=20)  # a lease of 2 places
    for code, name in [("ADA-0001", "Ada Lovelace"), ("GRACE-0002", "Grace Hopper"),
                       ("ALAN-0003", "Alan Turing")]:  # fmt: skip
        participant_make(full_name=name, ticket_code=code)
    browser.set_window_size(*PHONE)
    _pair_and_choose(browser, door_server, hall)
    _offline_ready(browser)
    for index, person in enumerate(participants_make(18)):  # the other doors fill the rest
        session_check_in(session_id=hall.pk, participant_id=person.pk, source=CheckIn.Source.API,
                         actor="door-b", nonce=f"door-b-{index}")  # fmt: skip

    reason, text = _scan(browser, "ADA-0001", 1)
    assert reason == "checked_in_on_lease" and "Ada Lovelace" in text, text
    assert _scan(browser, "GRACE-0002", 2)[0] == "checked_in_on_lease"
    assert _body(browser, "placesLeft") == "0"
    reason, text = _scan(browser, "ALAN-0003", 3)
    assert reason == "session_full", text  # the server's own answer: nothing held any more

    hall.refresh_from_db()
    assert (hall.check_in_count, hall.leased) == (20, 0)
    assert_capacity_holds(hall)
