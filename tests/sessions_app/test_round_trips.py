"""MongoDB commands per door request, pinned: they cannot grow without this test saying so.

Counted with a pymongo CommandListener on the app's own connection, one request at a time through
DRF's test client with a real API token, Redis up and the session's admission set seeded. What
each command is for (README, "The door's hot path"):

- check-in 201: claim the record, re-read the participant (the fence against a delete), increment
  the counter (a findAndModify that also returns the count for the answer), admit the record,
  write the scan log; plus the participant's first read in this process (their first scan here);
- already inside: the record (Redis's "member" is confirmed), the scan log;
- full: the session's current count (Redis's "full" is confirmed), the scan log; plus the
  participant's first read;
- check-out: the record, leave, decrement (returning the count for the answer), finish, the scan
  log;
- session detail: nothing once cached (the token and its user are this process's copy).
"""

import pytest
from django.utils import timezone
from redis.connection import AbstractConnection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db


def _count(commands, request):
    commands.names.clear()
    commands.counting = True
    try:
        response = request()
    finally:
        commands.counting = False
    return response, list(commands.names)


def test_commands_per_door_request(staff_user, commands):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    session = session_make(capacity=2)
    first, second, third = participants_make(3)
    url = f"/api/sessions/{session.pk}/"

    def check_in(person):
        return lambda: client.post(
            f"{url}check-in/", {"participant": str(person.pk)}, format="json"
        )

    assert client.post(f"{url}check-in/", {"participant": str(first.pk)}).status_code == 201
    # (the first check-in seeded Redis's admission set; the token is this process's copy now)

    response, admitted = _count(commands, check_in(second))
    assert response.status_code == 201
    assert len(admitted) == 6, admitted

    response, again = _count(commands, check_in(second))
    assert (response.status_code, response.json()["reason"]) == (200, "already_checked_in")
    assert len(again) == 2, again

    response, full = _count(commands, check_in(third))
    assert (response.status_code, response.json()["reason"]) == (409, "session_full")
    assert len(full) == 3, full

    client.get(url)
    response, detail = _count(commands, lambda: client.get(url))
    assert response.status_code == 200
    assert detail == []

    response, out = _count(
        commands,
        lambda: client.post(f"{url}check-out/", {"participant": str(second.pk)}, format="json"),
    )
    assert (response.status_code, response.json()["reason"]) == (200, "checked_out")
    assert len(out) == 5, out


def test_commands_of_a_lease_grant_and_of_one_synced_scan(staff_user, commands):
    """A grant: the holder's lease (none), insert the lease, the session's admission fields, the
    conditional update, the lease active (the session is this process's copy). One synced admission (13): the lease, its
    renewal, the participant's first read, the nonce claim, the record's claim, the participant's
    re-read, the transfer, the admit, the op's mark dropped, the count for the answer, the
    claim's verdict; then the lease's counts and its room for the answer."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    session = session_make(capacity=50)
    first, second = participants_make(2)
    url = f"/api/sessions/{session.pk}/"
    assert client.post(f"{url}check-in/", {"participant": str(first.pk)}).status_code == 201

    response, grant = _count(
        commands, lambda: client.post(f"{url}leases/", {"places": 3}, format="json")
    )
    assert response.status_code == 201
    assert len(grant) == 5, grant

    lease = response.json()["lease"]
    scan = {"participant": str(second.pk), "nonce": "rt-1", "direction": "in",
            "scanned_at": timezone.now().isoformat()}  # fmt: skip
    response, synced = _count(
        commands,
        lambda: client.post(f"/api/leases/{lease}/sync/", {"scans": [scan]}, format="json"),
    )
    assert response.status_code == 200, response.content
    assert len(synced) == 13, synced


def test_redis_round_trips_of_a_check_in(token_client, redis_server, monkeypatch):
    """A 201 with the session's admission set seeded: the reservation (one script call), then
    the cache invalidation and the live notification together (one pipeline). Counted as redis-py
    writes to a socket (a pipeline is one); the invalidation's effect: tests/sessions_app/
    test_caching.py, the notification's: tests/sessions_app/services/test_live_versions.py."""
    client = token_client
    session = session_make(capacity=5)
    first, second = participants_make(2)
    url = f"/api/sessions/{session.pk}/check-in/"
    assert client.post(url, {"participant": str(first.pk)}, format="json").status_code == 201
    sent: list[bytes] = []
    real = AbstractConnection.send_packed_command

    def counting(self, command, *args, **kwargs):
        sent.append(command if isinstance(command, bytes) else b"".join(command))
        return real(self, command, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    response = client.post(url, {"participant": str(second.pk)}, format="json")
    assert response.status_code == 201
    assert len(sent) == 2, sent
    assert b"EVALSHA" in sent[0] and b"DEL" in sent[1] and b"PUBLISH" in sent[1]
