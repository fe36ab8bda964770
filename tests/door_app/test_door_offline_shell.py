"""The door page as an installable app: its service worker, its manifest, the page copy it keeps.

The copy the service worker keeps (``/door/?offline=1``) has no name on it: a lost device's
cache shows nobody. The browser walk is tests/browser/test_door_offline.py.
"""

import json
import re

import pytest
from django.test import Client

from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def door(door_staff_user):
    client = Client()
    client.force_login(door_staff_user)
    return client


def test_the_service_worker_is_served_for_the_door_scope_to_anyone(client):
    response = client.get("/door/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/door/"
    assert response["Cache-Control"] == "no-cache"
    source = response.content.decode()
    assets = json.loads(re.search(r"var ASSETS = (\[.*?\]);", source).group(1))
    assert "/static/door/offline.js" in assets and "/door/manifest.webmanifest" in assets
    assert 'var SHELL = "/door/?offline=1";' in source
    assert "{{" not in source and "{%" not in source


def test_the_manifest_installs_the_door_page_at_door(client):
    response = client.get("/door/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/door/" and manifest["scope"] == "/door/"
    assert manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_the_kept_copy_of_the_page_names_nobody(door):
    session = session_make(title="Opening keynote", capacity=10)
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    door.post("/door/session/", {"session": str(session.pk)})
    door.post("/door/scan/", {"code": "UMA-0001", "mode": "in"})

    page = door.get("/door/")
    shell = door.get("/door/?offline=1")

    assert page["X-Door-Offline"] == "page" and "Uma Ortiz" in page.content.decode()
    assert shell["X-Door-Offline"] == "shell"
    text = shell.content.decode()
    assert "Uma Ortiz" not in text and "UMA-0001" not in text
    assert "Opened without the network" in text and 'id="scan-form"' in text
    assert f'data-session="{session.pk}"' in text and 'data-api="/api/"' in text
    assert "no-store" in shell["Cache-Control"]


def test_the_picker_is_never_kept_as_the_page(door):
    session_make(title="Opening keynote", capacity=10)

    response = door.get("/door/?offline=1")

    assert "X-Door-Offline" not in response  # no session chosen: the picker, not a scan page
