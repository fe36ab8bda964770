"""Request middleware: liveness touches nothing, a MongoDB outage is a clean 503."""

import pytest
from django.db import connection as conn

from devtools.servers import SecantusServer

pytestmark = pytest.mark.django_db


def test_liveness_touches_nothing(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.slow  # over a second: `make test` runs it
def test_database_outage_is_a_clean_503(client, staff_user, mongo_server):
    """With MongoDB gone, a DB-backed page answers 503 in DRF's shape, not a 500."""

    client.force_login(staff_user)
    dead = SecantusServer().start()
    dead.kill()  # a port where MongoDB was and is no more
    settings_dict = conn.settings_dict
    original_host, original_options = settings_dict["HOST"], dict(settings_dict["OPTIONS"])
    conn.close_pool()
    try:
        settings_dict["HOST"] = dead.uri
        settings_dict["OPTIONS"].update(serverSelectionTimeoutMS=200, connectTimeoutMS=200)
        response = client.get("/admin/")
        assert response.status_code == 503
        assert response.json()["reason"] == "database_unavailable"
        assert response["Retry-After"]
    finally:
        conn.close_pool()
        settings_dict["HOST"] = original_host
        settings_dict["OPTIONS"].clear()
        settings_dict["OPTIONS"].update(original_options)
        dead.stop()
