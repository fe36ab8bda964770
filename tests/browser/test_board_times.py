"""The live board writes times as staff read them everywhere (core.staff_time), in the browser.

The board renders its rows in JavaScript; the event's time zone and its abbreviation come from
the server, so a screen set to another zone still shows the event's clock.
"""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from core.staff_time import staff_time
from tests.factories import session_make

from .support import sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
EVENT_ZONE = "Pacific/Auckland"  # far from the browser's own zone (UTC here), with an abbreviation


def _starts(page, session) -> str:
    return page.find_element(By.CSS_SELECTOR, f"#s-{session.pk} [data-field='starts']").text


def test_board_shows_start_times_in_the_staff_format_and_the_event_zone(
    page, live_server, settings, asgi_server, django_user_model
):
    settings.LIVE_WEBSOCKET_URL = f"ws://localhost:{asgi_server.port}"
    settings.TIME_ZONE = EVENT_ZONE
    organiser = django_user_model.objects.create_superuser(username="boss", password="boss-1234")
    now = timezone.localtime().replace(second=0, microsecond=0)
    soon = session_make(title="Soon", starts_at=now + dt.timedelta(minutes=1))
    later = session_make(
        title="Later",
        starts_at=now + dt.timedelta(days=2),
        ends_at=now + dt.timedelta(days=2, hours=1),
    )
    sign_in(page, live_server, organiser)
    page.get(f"{live_server.url}/board/")
    wait_for(page, lambda b: _starts(b, later), "the board shows no rows")

    expected_soon = staff_time(soon.starts_at)  # "09:01 NZDT" (today, in the event's zone)
    assert _starts(page, soon) == expected_soon and " " in expected_soon
    assert not expected_soon[0].isalpha()  # no date: it is today
    expected_later = staff_time(later.starts_at)  # "Tue 9 Dec 09:00 NZDT"
    assert _starts(page, later) == expected_later and expected_later[:3].isalpha()
