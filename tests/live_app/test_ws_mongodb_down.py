"""A live view opened while MongoDB does not answer is closed with 1013 (try again later), so a
board can tell "come back later" from "not allowed" (4403) or "no such session" (4404).

The ASGI server runs against a MongoDB of the test's own (``own_mongo``), paused after the user
signed in once: the sign-in then comes from the server's copy of the token, and the first thing
that needs MongoDB is the snapshot (live_app/consumers.py, ``CLOSE_TRY_AGAIN``).
"""

import pytest
from rest_framework.authtoken.models import Token

from live_app.consumers import CLOSE_TRY_AGAIN
from tests.live_support import AsgiServer, LiveView

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _snapshot_received(view: LiveView) -> bool:
    return any(message["type"] == "snapshot" for message in view.messages)


def test_a_view_opened_while_mongodb_is_paused_is_closed_1013(own_mongo, django_user_model):
    staff = django_user_model.objects.create_user(username="s", password="x", is_staff=True)
    token = Token.objects.create(user=staff).key
    server = AsgiServer(
        MONGODB_URI=own_mongo.uri,
        MONGODB_TIMEOUT_MS="1500",
        MONGODB_SOCKET_TIMEOUT_MS="1500",
        API_TOKEN_CACHE_SECONDS="600",  # the sign-in below stays valid in the server's copy
    ).start()
    try:
        url = f"{server.url}/ws/occupancy/"
        signed_in = LiveView.open(url, token=token)
        signed_in.wait_for(_snapshot_received, timeout=30)
        signed_in.close()

        own_mongo.pause()
        refused = LiveView.open(url, token=token)
        assert refused.close_code(timeout=30) == CLOSE_TRY_AGAIN
        assert not _snapshot_received(refused)

        own_mongo.resume()
        again = LiveView.open(url, token=token)
        again.wait_for(_snapshot_received, timeout=30)  # and "later" works
        again.close()
    finally:
        own_mongo.resume()
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]
