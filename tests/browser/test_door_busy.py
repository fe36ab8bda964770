"""The door page under overload: a scan answered 503 "busy" says so, in a real browser."""

import threading

import httpx
import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from core.failpoints import armed
from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure
from tests.factories import participant_make, session_make

from .support import sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def door_staff(django_user_model):
    door_staff_group_ensure()
    user = django_user_model.objects.create_user(username="door", password="door-pass-123")
    user.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    return user


def test_a_scan_refused_by_admission_control_says_busy(page, live_server, door_staff, settings):
    session = session_make(title="Busy hall", capacity=10)
    holder = participant_make(full_name="Hal Holder")
    participant_make(full_name="Ida Waiting", ticket_code="IDA-0001")
    sign_in(page, live_server, door_staff)  # before the only slot is taken: a sign-in is a write
    page.get(f"{live_server.url}/door/")
    page.find_element(By.CSS_SELECTOR, f"button[value='{session.pk}']").click()
    wait_for(page, lambda b: b.switch_to.active_element.get_attribute("id") == "code")
    # The page's own start-up requests (its lease and offline pack, docs/door-offline.md) done:
    # the one slot below is for the held check-in.
    wait_for(page, lambda b: b.execute_script("return document.body.dataset.offlineReady") == "1")

    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_ADMISSION_WAIT_SECONDS = 0.05
    entered, release = threading.Event(), threading.Event()

    def hold_the_first(name):
        if not entered.is_set():
            entered.set()
            release.wait(30)

    token = Token.objects.create(user=door_staff).key
    with armed("check_in.after_claim", hold_the_first):
        held = threading.Thread(
            target=httpx.post,
            args=(f"{live_server.url}/api/sessions/{session.pk}/check-in/",),
            kwargs={
                "json": {"participant": str(holder.pk)},
                "headers": {"Authorization": f"Token {token}"},
                "timeout": 60,
            },
        )
        held.start()
        try:
            assert entered.wait(30), "the holding check-in never reached its failpoint"
            page.switch_to.active_element.send_keys("IDA-0001", Keys.ENTER)
            wait_for(
                page,
                lambda b: (
                    "Busy: IDA-0001 was not answered"
                    in (b.find_elements(By.ID, "offline") or [None])[0].text
                    if b.find_elements(By.ID, "offline")
                    else False
                ),
                "the door page did not say busy",
            )
        finally:
            release.set()
            held.join(60)
