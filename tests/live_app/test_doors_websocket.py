"""The doors view's WebSocket (ws/doors/) against a real ASGI server process, real Redis and
MongoDB: a device's scan reaches an open view with Redis up and killed; refusals; and the read
runs once per interval however many screens watch.

Scans go through the door services (``session_check_in`` / ``session_check_out`` with the
device), in this process, as the API does for a paired device's request.
"""

import asyncio
import time

import pytest
from django.utils import timezone
from websockets.sync.client import connect

from core.exceptions import NotFoundError
from devices_app.models import DoorDevice
from devices_app.principal import DevicePrincipal
from devices_app.services import device_create, device_pair
from live_app.doors import doors_viewer_allowed
from live_app.doors_feed import DOORS_REFRESH_SECONDS, DoorsFeed, DoorsSubscriber
from live_app.hub import Hub
from sessions_app.services import session_check_in
from tests.factories import participants_make, session_make
from tests.live_support import LiveView

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

WAIT_SECONDS = 10  # generous, for a loaded 2-core machine (the acceptance: a few seconds)


class DoorsView(LiveView):
    """A client of ws/doors/ that keeps the last doors state it received."""

    @property
    def doors(self) -> dict:
        states = [m for m in self.messages if m["type"] == "doors"]
        return {row["name"]: row for row in states[-1]["doors"]} if states else {}

    def door(self, name) -> dict:
        return self.doors.get(name, {})


def _device(name="Hall A, door 2") -> DoorDevice:
    return DoorDevice.objects.create(name=name, paired_at=timezone.now())


def _scan(session, person, device, *, ticket=None):
    kwargs = {"ticket_code": ticket} if ticket else {"participant_id": str(person.pk)}
    return session_check_in(session_id=str(session.pk), device=device, **kwargs)


def test_a_device_scan_reaches_an_open_doors_view_with_redis_up_then_killed(
    asgi_server, staff_token, redis_server
):
    session = session_make(title="Opening keynote", capacity=10)
    door = _device()
    people = participants_make(3)
    view = DoorsView.open(f"{asgi_server.url}/ws/doors/", token=staff_token)
    try:
        view.wait_for(lambda v: v.mode == "live" and v.door(door.name), timeout=WAIT_SECONDS)
        assert view.door(door.name)["scans_1m"] == 0

        started = time.monotonic()
        assert _scan(session, people[0], door).reason == "checked_in"
        view.wait_for(lambda v: v.door(door.name).get("checked_in_10m") == 1, timeout=WAIT_SECONDS)
        live_lag = time.monotonic() - started
        with pytest.raises(NotFoundError):  # refused, and in the scan log: "ticket_not_found"
            _scan(session, None, door, ticket="NO-SUCH-TICKET")
        view.wait_for(lambda v: v.door(door.name).get("refused_10m") == 1, timeout=WAIT_SECONDS)
        assert view.door(door.name)["refused_by_reason_10m"][0]["label"] == "unknown ticket"

        redis_server.kill()
        view.wait_for(lambda v: v.mode == "polling", timeout=WAIT_SECONDS)
        started = time.monotonic()
        assert _scan(session, people[1], door).reason == "checked_in"
        view.wait_for(lambda v: v.door(door.name).get("checked_in_10m") == 2, timeout=WAIT_SECONDS)
        polling_lag = time.monotonic() - started
        row = view.door(door.name)
        assert (row["scans_1m"], row["online"], row["alert"]) == (3, True, None)
        sessions = [m for m in view.messages if m["type"] == "doors"][-1]["sessions"]
        assert [(s["title"], s["accepted_10m"], s["refused_10m"]) for s in sessions] == [
            ("Opening keynote", 2, 1)
        ]
        assert view.ws.protocol.state.name == "OPEN"  # the outage never disconnected it
        print(f"doors view: a scan showed {live_lag:.2f} s later (Redis up), "
              f"{polling_lag:.2f} s (Redis killed)")  # fmt: skip
    finally:
        view.close()


def test_the_doors_socket_refuses_who_may_not_see_it(asgi_server, django_user_model):
    from rest_framework.authtoken.models import Token  # noqa: PLC0415 - only this test

    assert DoorsView.open(f"{asgi_server.url}/ws/doors/").close_code() == 4401
    nobody = django_user_model.objects.create_user(username="visitor", password="x-pass-123456")
    key = Token.objects.create(user=nobody).key
    assert DoorsView.open(f"{asgi_server.url}/ws/doors/", token=key).close_code() == 4403
    issued = device_pair(code=device_create(name="Hall A, door 2").code)  # a paired device
    device_socket = DoorsView(
        connect(f"{asgi_server.url}/ws/doors/", subprotocols=["checkin", f"device.{issued.token}"],
                open_timeout=10, legacy=True)
    )  # fmt: skip
    assert device_socket.close_code() == 4403
    assert doors_viewer_allowed(DevicePrincipal(issued.device)) is False


def test_one_read_per_interval_however_many_screens_watch(staff_user):
    session = session_make()
    door = _device()
    person = participants_make(1)[0]

    async def watch() -> tuple[DoorsFeed, list[dict]]:
        feed = DoorsFeed(Hub())
        screens = [DoorsSubscriber() for _ in range(20)]
        for screen in screens:
            await feed.attach(screen)
        first = [await screen.next_batch() for screen in screens]
        await asyncio.to_thread(_scan, session, person, door)
        await asyncio.sleep(DOORS_REFRESH_SECONDS * 4)
        later = [await screen.next_batch() for screen in screens]
        for screen in screens:
            feed.hub.detach(screen)
        return feed, [*first, *later]

    feed, batches = asyncio.run(watch())

    reads = feed.reader.stats["reads"]
    assert 2 <= reads <= 6, reads  # about one per second for 4 s, not one per screen
    doors = [m for batch in batches for m in batch if m["type"] == "doors"]
    assert len(doors) == 40  # each screen: the first state, then the one with the scan
    assert {m["doors"][0]["checked_in_10m"] for m in doors[20:]} == {1}
