"""The offline pack (GET /api/sessions/{id}/offline-pack/): what a door decides offline with.

The derivation is checked against an independent implementation of the documented KDF
(docs/door-offline.md: PBKDF2-HMAC-SHA256, then HKDF-SHA256 written out here with hmac), and the
names are opened with AES-GCM as a browser would: nobody is named in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.test import Client
from rest_framework.test import APIClient

from devices_app.services import device_create, device_pair
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(master: bytes, info: str) -> bytes:
    """RFC 5869 with an empty salt and one block (32 bytes), written out."""
    prk = hmac.new(b"\0" * 32, master, hashlib.sha256).digest()
    return hmac.new(prk, info.encode() + b"\x01", hashlib.sha256).digest()


def _derive(pack: dict, code: str) -> tuple[str, bytes]:
    kdf = pack["kdf"]
    master = hashlib.pbkdf2_hmac(
        "sha256", code.strip().upper().encode(), _b64(pack["salt"]), kdf["iterations"], 32
    )
    h = base64.urlsafe_b64encode(_hkdf(master, kdf["hash_info"])).rstrip(b"=").decode()
    return h, _hkdf(master, kdf["key_info"])


def _open(pack: dict, sealed: str, key: bytes) -> str:
    raw = _b64(sealed)
    aad = pack["session"]["id"].encode()
    return AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode()


def _device(*sessions) -> APIClient:
    paired = device_pair(
        code=device_create(name="Hall A, door 2", session_ids=[s.pk for s in sessions]).code
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {paired.token}")
    return client


def _url(session) -> str:
    return f"/api/sessions/{session.pk}/offline-pack/"


@pytest.fixture
def hall_a():
    return session_make(title="Hall A keynote", capacity=50)


@pytest.fixture
def people():
    return [
        participant_make(full_name="Ada Lovelace", ticket_code="ADA-0001"),
        participant_make(full_name="Grace Hopper", ticket_code="GRACE-0002"),
    ]


def test_a_devices_pack_opens_each_name_with_its_ticket_code_only(hall_a, people):
    response = _device(hall_a).get(_url(hall_a))

    assert response.status_code == 200
    pack = response.json()
    assert pack["session"]["title"] == "Hall A keynote" and pack["kdf"]["iterations"] >= 1000
    entries = {entry["h"]: entry["n"] for entry in pack["entries"]}
    assert len(entries) == 2
    for code, name in [("ada-0001 ", "Ada Lovelace"), ("GRACE-0002", "Grace Hopper")]:
        h, key = _derive(pack, code)  # as typed at a door: case and spaces do not matter
        assert _open(pack, entries[h], key) == name
    _ada_h, ada_key = _derive(pack, "ADA-0001")
    grace_h, _grace_key = _derive(pack, "GRACE-0002")
    with pytest.raises(InvalidTag):  # one ticket's key opens no other name
        _open(pack, entries[grace_h], ada_key)
    raw = response.content.decode()
    assert not any(word in raw for word in ("Ada", "Lovelace", "Grace", "ADA-0001", "GRACE"))
    assert "no-store" in response["Cache-Control"]


def test_a_name_sealed_for_one_session_does_not_open_as_anothers(hall_a, people):
    hall_b = session_make(title="Hall B workshop", capacity=50)
    door = _device(hall_a, hall_b)
    pack_a, pack_b = door.get(_url(hall_a)).json(), door.get(_url(hall_b)).json()

    assert pack_a["salt"] != pack_b["salt"]
    h_a, key_a = _derive(pack_a, "ADA-0001")
    h_b, _key_b = _derive(pack_b, "ADA-0001")
    assert h_a != h_b  # the same ticket is not linkable across sessions' packs
    sealed = next(e["n"] for e in pack_a["entries"] if e["h"] == h_a)
    with pytest.raises(InvalidTag):
        _open({**pack_a, "session": pack_b["session"]}, sealed, key_a)


def test_the_pack_lists_who_is_inside_by_hash(hall_a, people, door_client):
    admitted = door_client.post(f"/api/sessions/{hall_a.pk}/check-in/", {"ticket_code": "ADA-0001"})
    assert admitted.status_code == 201, admitted.content

    pack = door_client.get(_url(hall_a)).json()

    assert pack["inside"] == [_derive(pack, "ADA-0001")[0]]
    assert pack["session"]["check_in_count"] == 1


def test_a_device_gets_the_pack_of_its_own_sessions_only(hall_a, people):
    hall_b = session_make(title="Hall B workshop", capacity=50)

    response = _device(hall_a).get(_url(hall_b))

    assert response.status_code == 403
    assert response.json()["reason"] == "device_session_not_allowed"


def test_a_person_needs_the_check_in_permission(hall_a, people, plain_client, door_client):
    refused = plain_client.get(_url(hall_a))

    assert refused.status_code == 403 and "check_in permission" in refused.json()["detail"]
    assert door_client.get(_url(hall_a)).status_code == 200
    assert APIClient().get(_url(hall_a)).status_code == 401


def test_an_unknown_session_is_a_404_with_its_reason(door_client):
    for bad in ("64b000000000000000000000", "not-an-id"):
        response = door_client.get(f"/api/sessions/{bad}/offline-pack/")
        assert response.status_code == 404
        assert response.json()["reason"] == "session_not_found"


def test_a_door_page_paired_with_a_code_reads_its_sessions_pack(hall_a, people):
    issued = device_create(name="Hall A, door 2", session_ids=[hall_a.pk])
    browser = Client()
    assert browser.post("/door/pair/", {"code": issued.code}).status_code == 302

    response = browser.get(_url(hall_a))

    assert response.status_code == 200, response.content
    assert len(json.loads(response.content)["entries"]) == 2
    # Still a device: the rest of the API stays closed to it, reads included.
    assert browser.get("/api/sessions/").status_code == 403
