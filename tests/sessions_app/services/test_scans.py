"""The scan log: every attempt recorded (also refused, unknown, with Redis down), the nonce store,
read-only in the admin and the API."""

import datetime as dt

import pytest
from django.utils import timezone

from core.exceptions import NotFoundError
from sessions_app.api.verdict_status import verdict_http_status
from sessions_app.models import Scan
from sessions_app.services import session_check_in, session_check_out
from tests.factories import participant_make, participants_make, session_make

pytestmark = pytest.mark.django_db


def _log(session) -> list[tuple]:
    return [
        (s.direction, s.reason, s.participant_name or s.ticket_code, s.replayed)
        for s in Scan.objects.filter(session=session).order_by("created_at")
    ]


def test_every_attempt_is_logged_accepted_or_refused_in_and_out():
    session = session_make(capacity=1)
    uma, leo = participant_make(full_name="Uma Ortiz"), participant_make(full_name="Leo Park")
    session_check_in(session_id=session.pk, participant_id=uma.pk, actor="door-1")
    session_check_in(session_id=session.pk, participant_id=leo.pk, actor="door-1")
    session_check_in(session_id=session.pk, participant_id=uma.pk, actor="door-2")
    with pytest.raises(NotFoundError):
        session_check_in(session_id=session.pk, ticket_code="NO-SUCH-TICKET", actor="door-1")
    session_check_out(session_id=session.pk, participant_id=uma.pk, actor="door-2")
    session_check_out(session_id=session.pk, participant_id=uma.pk, actor="door-2")
    session_check_in(session_id=session.pk, participant_id=uma.pk, actor="door-1")

    assert _log(session) == [
        ("in", "checked_in", "Uma Ortiz", False),
        ("in", "session_full", "Leo Park", False),
        ("in", "already_checked_in", "Uma Ortiz", False),
        ("in", "ticket_not_found", "NO-SUCH-TICKET", False),
        ("out", "checked_out", "Uma Ortiz", False),
        ("out", "not_checked_in", "Uma Ortiz", False),
        ("in", "checked_in", "Uma Ortiz", False),  # entries and exits of one person: all there
    ]
    first = Scan.objects.filter(session=session).order_by("created_at").first()
    assert (first.actor, first.source, first.check_in_count) == ("door-1", "api", 1)
    unknown = Scan.objects.get(session=session, reason="ticket_not_found")
    assert unknown.participant_id is None


def test_logged_while_redis_is_down(redis_server):
    redis_server.kill()
    session, person = session_make(), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk)
    session_check_out(session_id=session.pk, participant_id=person.pk)
    assert [row[:2] for row in _log(session)] == [("in", "checked_in"), ("out", "checked_out")]


def test_a_replay_is_logged_as_a_replay_and_the_nonce_stays_unique():
    session, person = session_make(), participant_make()
    session_check_in(session_id=session.pk, participant_id=person.pk, nonce="scan-1")
    session_check_in(session_id=session.pk, participant_id=person.pk, nonce="scan-1")
    assert [(r[1], r[3]) for r in _log(session)] == [("checked_in", False), ("checked_in", True)]
    assert Scan.objects.filter(session=session, nonce="scan-1").count() == 1


def test_a_refusal_is_replayed_as_it_was_even_when_there_is_room_now():
    session = session_make(capacity=1)
    first, second = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=first.pk)
    refused = session_check_in(session_id=session.pk, participant_id=second.pk, nonce="r-1")
    assert refused.reason == "session_full"
    session_check_out(session_id=session.pk, participant_id=first.pk)
    replay = session_check_in(session_id=session.pk, participant_id=second.pk, nonce="r-1")
    assert (replay.reason, replay.replayed, replay.check_in_count) == ("session_full", True, 0)
    assert session_check_in(session_id=session.pk, participant_id=second.pk).reason == (
        "checked_in"
    )


def test_a_nonce_of_another_participant_is_refused():
    session = session_make()
    first, second = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=first.pk, nonce="shared")
    verdict = session_check_in(session_id=session.pk, participant_id=second.pk, nonce="shared")
    assert (verdict.reason, verdict_http_status(verdict), verdict.inside) == (
        "nonce_reused",
        409,
        False,
    )


def test_the_same_nonce_at_another_session_is_another_request():
    one, two = session_make(), session_make()
    person = participant_make()
    assert (
        session_check_in(session_id=one.pk, participant_id=person.pk, nonce="n").replayed is False
    )
    assert session_check_in(session_id=two.pk, participant_id=person.pk, nonce="n").reason == (
        "checked_in"
    )


def test_an_abandoned_undecided_nonce_is_taken_over_after_the_stale_age(settings):
    """The original died after claiming its nonce: a replay decides instead of waiting forever."""
    session, person = session_make(), participant_make()
    Scan.objects.create(
        session=session, participant=person, direction="in", source="api", nonce="dead-1",
        reason="", owner_op="f" * 24, created_at=timezone.now() - dt.timedelta(minutes=5),
    )  # fmt: skip
    verdict = session_check_in(session_id=session.pk, participant_id=person.pk, nonce="dead-1")
    assert (verdict.reason, verdict.replayed) == ("checked_in", False)
    entry = Scan.objects.get(session=session, nonce="dead-1")
    assert (entry.reason, entry.owner_op) == ("checked_in", "")


def test_a_young_undecided_nonce_is_answered_in_progress(settings):
    settings.CHECKIN_IN_FLIGHT_WAIT_SECONDS = 0.1
    session, person = session_make(), participant_make()
    Scan.objects.create(
        session=session, participant=person, direction="in", source="api", nonce="busy-1",
        reason="", owner_op="e" * 24,
    )  # fmt: skip
    verdict = session_check_in(session_id=session.pk, participant_id=person.pk, nonce="busy-1")
    assert verdict.reason == "check_in_in_progress"


def test_scans_api_lists_filters_and_paginates(staff_client):
    session = session_make(capacity=1)
    people = participants_make(3)
    for person in people:
        session_check_in(session_id=session.pk, participant_id=person.pk)
    url = f"/api/sessions/{session.pk}/scans/"
    body = staff_client.get(url).json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert newest["reason"] == "session_full"
    assert newest["participant_name"] == people[2].full_name
    assert {"direction", "nonce", "source", "actor", "created_at", "replayed"} <= set(newest)
    full = staff_client.get(url, {"reason": "session_full"}).json()
    assert full["count"] == 2
    assert staff_client.get(url, {"participant": str(people[0].pk)}).json()["count"] == 1
    assert staff_client.get(url, {"direction": "out"}).json()["count"] == 0
    assert staff_client.get(url, {"reason": "nonsense"}).status_code == 400
    assert staff_client.get(url, {"after": "not-a-date"}).status_code == 400
    later = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    assert staff_client.get(url, {"after": later}).json()["count"] == 0
    assert staff_client.get("/api/sessions/000000000000000000000000/scans/").status_code == 404
    assert staff_client.post(url, {}, format="json").status_code == 405


def test_scan_log_admin_is_read_only_with_filters_and_search(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="boss", password="boss-pass-1")
    client.force_login(admin)
    session = session_make(title="Opening keynote")
    person = participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    session_check_in(session_id=session.pk, ticket_code="UMA-0001")
    page = client.get("/admin/sessions_app/scan/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Uma Ortiz" in html and "Opening keynote" in html and "checked_in" in html
    assert "Add scan" not in html
    assert "Uma Ortiz" in client.get("/admin/sessions_app/scan/?q=UMA-0001").content.decode()
    filtered = client.get(f"/admin/sessions_app/scan/?session__id__exact={session.pk}")
    assert filtered.status_code == 200
    assert client.get("/admin/sessions_app/scan/?reason=session_full").status_code == 200
    entry = Scan.objects.get(participant=person)
    assert client.post(f"/admin/sessions_app/scan/{entry.pk}/delete/").status_code == 403
