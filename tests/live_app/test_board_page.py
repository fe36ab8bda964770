"""Who reaches the live board, and the admin's link to it (the board itself: tests/browser)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure

pytestmark = pytest.mark.django_db


def test_board_for_staff_and_door_staff_only(django_user_model, staff_user):
    assert Client().get("/board/").url.startswith("/door/login/?next=/board/")

    visitor = django_user_model.objects.create_user(username="visitor", password="v-pass-12345")
    client = Client()
    client.force_login(visitor)
    assert client.get("/board/").status_code == 403

    door_staff_group_ensure()
    door = django_user_model.objects.create_user(username="door", password="d-pass-12345")
    door.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    client.force_login(door)
    page = client.get("/board/")
    assert page.status_code == 200
    assert b'data-ws="ws://testserver/ws/occupancy/"' in page.content  # this host by default

    client.force_login(staff_user)
    admin_index = client.get("/admin/").content
    assert b'id="board-link" href="/board/"' in admin_index
    assert b'id="doors-link" href="/board/doors/"' in admin_index
    assert b'href="/board/doors/"' in client.get("/board/").content  # the board leads to the doors
