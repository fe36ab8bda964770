"""A session's conflicts page reads only that session's conflicts, however long the scan log.

Seen in the two-node chaos run (seed 61): at the end of the run the organiser's
``GET /api/sessions/{id}/conflicts/`` answered 503 ``busy`` ten times in a row for two sessions,
each holding one conflict. The page's query joined every scan of the whole scan log to its
session (``$lookup`` before ``$match``) and only then kept the session's conflicts: with some
thousands of scans it ran past the request's MongoDB deadline. Sessions without conflicts
answered at once (the paginator counts 0 and reads no page).
"""

import pytest
from django.utils import timezone

from sessions_app.models import Scan
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db

OTHER_SCANS = 300  # the rest of the scan log: the page must not read them


def _scan_commands(bodies: list[dict]) -> list[dict]:
    return [
        body
        for body in bodies
        if body.get("aggregate") == "sessions_app_scan" or body.get("find") == "sessions_app_scan"
    ]


def test_the_conflicts_page_starts_from_the_sessions_conflicts(staff_client, commands):
    hall, other = session_make(title="Hall A keynote"), session_make(title="Hall B")
    ada, bob = participants_make(2)
    now = timezone.now()
    Scan.objects.bulk_create(
        Scan(session=other, participant=bob, participant_name=bob.full_name, direction="in",
             reason="checked_in", nonce=f"n-{i}", source="api", created_at=now)
        for i in range(OTHER_SCANS)
    )  # fmt: skip
    Scan.objects.create(
        session=hall, participant=ada, participant_name=ada.full_name, direction="in",
        reason="already_checked_in", nonce="c-1", source="offline", conflict="admitted_elsewhere",
    )  # fmt: skip
    commands.counting = True
    response = staff_client.get(f"/api/sessions/{hall.pk}/conflicts/")
    commands.counting = False
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["nonce"], r["participant_name"], r["session_title"]) for r in rows] == [
        ("c-1", ada.full_name, "Hall A keynote")
    ]
    scans = _scan_commands(commands.bodies)
    assert scans, commands.names
    for body in scans:  # each read of the scan log filters first (by its index), joins nothing
        pipeline = body.get("pipeline")
        if pipeline is not None:
            first = next(iter(pipeline[0]))
            assert first == "$match", (
                f"the scan log is read from {first}, not the session's conflicts"
            )
            assert not any("$lookup" in stage for stage in pipeline), pipeline
