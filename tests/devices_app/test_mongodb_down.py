"""A paired browser while MongoDB is paused: 503 with its reason (never a 500), then it works."""

import pytest
from django.test import Client

from devices_app.services import device_create

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_a_paired_door_answers_503_while_mongodb_is_paused(own_mongo, settings):
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.5
    settings.MONGODB_FAIL_FAST_SECONDS = 0
    issued = device_create(name="Hall A, door 2")
    tablet = Client(raise_request_exception=False)
    assert tablet.post("/door/pair/", {"code": issued.code}).status_code == 302
    assert tablet.get("/door/").status_code == 200
    own_mongo.pause()
    try:
        response = tablet.get("/door/")
    finally:
        own_mongo.resume()
    assert response.status_code == 503
    assert response.json()["reason"] == "database_unavailable"
    assert tablet.get("/door/").status_code == 200
