"""The API root: authentication, the browsable renderer, ObjectIds as strings."""

import pytest
from bson import ObjectId

from config.api_router import router
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


def _router_paths():
    """Every route of the API router, with a made-up id where the route takes one."""
    paths = []
    for url in router.urls:
        route = str(url.pattern).lstrip("^").rstrip("$")
        if "(?P<format>" in route:
            continue
        concrete = route.replace("(?P<pk>[^/]+)", str(ObjectId()))
        if "(?P" not in concrete:
            paths.append("/api/" + concrete)
    return paths


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_route_answers_500_with_a_format_suffix(client, staff_user, method):
    """``/api/sessions/<id>/check-in.json`` answered 500 (the action took no ``format``)."""
    client.force_login(staff_user)
    paths = _router_paths()
    assert any(p.endswith("/check-in/") for p in paths)
    for path in paths:
        twin = path.rstrip("/") + ".json"
        response = getattr(client, method)(twin, content_type="application/json")
        assert response.status_code < 500, (twin, response.status_code)
