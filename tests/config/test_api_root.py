"""The API root: authentication, the browsable renderer, ObjectIds as strings."""

import pytest
from bson import ObjectId

from core.api.renderers import ObjectIdJSONRenderer

pytestmark = pytest.mark.django_db


def test_api_root_requires_authentication(api_client):
    assert api_client.get("/api/").status_code == 401


def test_api_root_is_browsable(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/api/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Api Root" in response.content


def test_object_ids_render_as_strings():

    oid = ObjectId()
    assert ObjectIdJSONRenderer().render({"id": oid}) == f'{{"id":"{oid}"}}'.encode()
