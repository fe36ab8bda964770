"""Who reaches the doors view (/board/doors/): the board's rule, and never a door device."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.utils import timezone

from devices_app.models import DoorDevice
from devices_app.principal import DevicePrincipal
from live_app.views import doors
from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure

pytestmark = pytest.mark.django_db


def test_doors_view_for_staff_and_door_staff_only(django_user_model, staff_user):
    assert Client().get("/board/doors/").url.startswith("/door/login/?next=/board/doors/")

    visitor = django_user_model.objects.create_user(username="visitor", password="v-pass-12345")
    client = Client()
    client.force_login(visitor)
    refused = client.get("/board/doors/")
    assert refused.status_code == 403
    assert b"Not allowed on the doors view" in refused.content

    door_staff_group_ensure()
    door = django_user_model.objects.create_user(username="door", password="d-pass-12345")
    door.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    client.force_login(door)
    page = client.get("/board/doors/")
    assert page.status_code == 200
    assert b'data-ws="ws://testserver/ws/doors/"' in page.content

    client.force_login(staff_user)
    assert client.get("/board/doors/").status_code == 200
    assert client.post("/board/doors/").status_code == 405


def test_a_door_device_never_sees_the_doors_view():
    device = DoorDevice.objects.create(name="Hall A, door 2", paired_at=timezone.now())
    request = RequestFactory().get("/board/doors/")
    request.user = DevicePrincipal(device)  # what a paired device's request carries

    answer = doors(request)

    assert answer.status_code == 403
    assert b"This is the door device <strong>Hall A, door 2</strong>" in answer.content
