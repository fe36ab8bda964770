"""Attendance and participant exports: streamed CSV, checked row by row; who may download."""

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from core.staff_time import file_stamp
from devices_app.models import DoorDevice
from participants_app.imports.files import sheet_read
from sessions_app.models import Scan
from sessions_app.services import session_check_in, session_check_out, session_scan_undo
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[list[str]]:
    assert response.streaming  # a StreamingHttpResponse over an iterator, not a built body
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def door_history(settings):
    """Uma comes, leaves and comes back; Vic is inside; an unknown ticket is refused."""
    settings.TIME_ZONE = "Europe/Berlin"
    session = session_make(title="Keynote", capacity=5)
    uma = participant_make(full_name="Uma Ortiz", email="uma@example.com", ticket_code="UMA-0001")
    vic = participant_make(
        full_name="=Vic Park", email="vic@example.com", organization="Acme", ticket_code="VIC-0001"
    )
    session_check_in(session_id=session.pk, participant_id=uma.pk, actor="alice")
    session_check_out(session_id=session.pk, ticket_code="uma-0001", source="door", actor="bob")
    session_check_in(session_id=session.pk, participant_id=vic.pk, source="admin", actor="alice")
    session_check_in(session_id=session.pk, participant_id=uma.pk, actor="alice")
    with pytest.raises(Exception, match="ticket"):
        session_check_in(session_id=session.pk, ticket_code="NOPE-0000", actor="bob")
    return session


def test_history_has_one_row_per_scan_in_the_event_time_zone(staff_client, door_history):
    response = staff_client.get(f"/api/sessions/{door_history.pk}/attendance/history/?format=csv")
    assert response.status_code == 200
    header, *rows = rows_of(response)
    assert header[:5] == ["Time", "Session", "Direction", "Verdict", "Result"]
    scans = list(Scan.objects.filter(session_id=door_history.pk).order_by("created_at"))
    assert len(rows) == len(scans) == 5
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    for row, scan in zip(rows, scans, strict=True):
        local = scan.created_at.astimezone(berlin).isoformat(timespec="seconds")
        assert row[0] == local and row[0][-6:] in ("+01:00", "+02:00")
    assert [r[2:5] for r in rows] == [
        ["in", "checked_in", "checked in"],
        ["out", "checked_out", "checked out"],
        ["in", "checked_in", "checked in"],
        ["in", "checked_in", "checked in"],
        ["in", "ticket_not_found", "unknown ticket"],
    ]
    assert [r[5:10] for r in rows] == [
        ["Uma Ortiz", "uma@example.com", "", "api", "alice"],
        ["Uma Ortiz", "uma@example.com", "uma-0001", "door", "bob"],  # as scanned
        ["'=Vic Park", "vic@example.com", "", "admin", "alice"],  # a formula, defused
        ["Uma Ortiz", "uma@example.com", "", "api", "alice"],
        ["", "", "NOPE-0000", "api", "bob"],
    ]
    assert [r[12] for r in rows] == ["1", "0", "1", "2", ""]  # after Device and Replayed


def test_inside_now_lists_who_is_inside(staff_client, door_history):
    response = staff_client.get(f"/api/sessions/{door_history.pk}/attendance/?format=csv")
    header, *rows = rows_of(response)
    assert header == [
        "Session",
        "Full name",
        "E-mail",
        "Organization",
        "Ticket code",
        "Inside since",
        "Source",
    ]
    assert [r[:5] + r[6:] for r in rows] == [
        ["Keynote", "'=Vic Park", "vic@example.com", "Acme", "VIC-0001", "admin"],
        ["Keynote", "Uma Ortiz", "uma@example.com", "", "UMA-0001", "api"],
    ]


def test_participants_export_reads_back_as_an_import(staff_client):
    participant_make(full_name="Zoë Ångström", email="zoe@example.com", ticket_code="ZOE-0001")
    participant_make(
        full_name="Al", email="al@example.com", organization="X", ticket_code="AL-0001"
    )
    response = staff_client.get("/api/participants/export/?format=csv")
    header, *rows = rows_of(response)
    assert header == ["Full name", "E-mail", "Organization", "Ticket code", "Created"]
    assert [r[:4] for r in rows] == [
        ["Al", "al@example.com", "X", "AL-0001"],
        ["Zoë Ångström", "zoe@example.com", "", "ZOE-0001"],
    ]
    content = b"".join(staff_client.get("/api/participants/export/").streaming_content)
    sheet = sheet_read(content=content, name="participants.csv")
    assert sheet.rows[1][1]["full_name"] == "Zoë Ångström"


def test_door_staff_and_plain_users_cannot_export(door_client, plain_client, staff_client):
    session = session_make()
    urls = [
        f"/api/sessions/{session.pk}/attendance/?format=csv",
        f"/api/sessions/{session.pk}/attendance/history/?format=csv",
        "/api/participants/export/?format=csv",
    ]
    for client in (door_client, plain_client):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 403, url
            assert response["Content-Type"] == "application/json"
            assert "detail" in response.json()
    missing = staff_client.get("/api/sessions/nope/attendance/?format=csv")
    assert missing.status_code == 404
    assert missing.json()["reason"] == "session_not_found"


def test_an_unknown_format_is_a_400_on_format_in_drfs_shape(staff_client):
    session = session_make()
    for url in (
        f"/api/sessions/{session.pk}/attendance/?format=AAA",
        f"/api/sessions/{session.pk}/attendance/history/?format=xml",
        "/api/participants/export/?format=AAA",
        "/api/sessions/?format=AAA",
    ):
        response = staff_client.get(url)
        assert response.status_code == 400, (url, response.content[:200])
        assert response["Content-Type"] == "application/json"
        assert list(response.json()) == ["format"], url
        assert "csv" in response.json()["format"][0] or "json" in response.json()["format"][0]


def _filename(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="'), disposition
    return disposition.split('filename="', 1)[1].rstrip('"')


def _stamps_around(request):
    """Return the file stamps of the minutes before and after ``request()``, and its answer."""
    before = file_stamp(timezone.now())
    response = request()
    return {before, file_stamp(timezone.now())}, response


def test_a_session_file_is_named_by_its_title_and_start_in_the_event_time_zone(
    staff_client, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    starts = dt.datetime(2026, 12, 6, 20, 30, tzinfo=dt.UTC)  # 21:30 in Berlin
    session = session_make(title="Opening keynote", starts_at=starts, ends_at=starts)
    inside = staff_client.get(f"/api/sessions/{session.pk}/attendance/?format=csv")
    history = staff_client.get(f"/api/sessions/{session.pk}/attendance/history/")
    assert _filename(inside) == "opening-keynote-inside-2026-12-06-2130.csv"
    assert _filename(history) == "opening-keynote-history-2026-12-06-2130.csv"
    nameless = session_make(title="!!!", starts_at=starts, ends_at=starts)
    response = staff_client.get(f"/api/sessions/{nameless.pk}/attendance/")
    assert _filename(response) == "session-inside-2026-12-06-2130.csv"


def test_the_participants_file_is_named_by_the_export_time(staff_client):
    stamps, response = _stamps_around(lambda: staff_client.get("/api/participants/export/"))
    assert _filename(response) in {f"participants-{stamp}.csv" for stamp in stamps}


def test_admin_exports_are_named_by_session_or_by_export_time(client, staff_user, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    client.force_login(staff_user)
    starts = dt.datetime(2026, 12, 6, 20, 30, tzinfo=dt.UTC)
    keynote = session_make(title="Opening keynote", starts_at=starts, ends_at=starts)
    lab = session_make(title="Lab")
    person = participant_make()

    def action(url, name, ids):
        return lambda: client.post(url, {"action": name, ACTION_CHECKBOX_NAME: ids})

    sessions = "/admin/sessions_app/session/"
    one = action(sessions, "export_inside_action", [keynote.pk])()
    assert _filename(one) == "opening-keynote-inside-2026-12-06-2130.csv"
    one = action(sessions, "export_history_action", [keynote.pk])()
    assert _filename(one) == "opening-keynote-history-2026-12-06-2130.csv"
    for name, kind in (("export_inside_action", "inside"), ("export_history_action", "history")):
        stamps, both = _stamps_around(action(sessions, name, [keynote.pk, lab.pk]))
        assert _filename(both) in {f"sessions-{kind}-{stamp}.csv" for stamp in stamps}
    people = "/admin/participants_app/participant/"
    stamps, response = _stamps_around(action(people, "export_participants_action", [person.pk]))
    assert _filename(response) in {f"participants-{stamp}.csv" for stamp in stamps}


def _export_urls(session) -> list[str]:
    return [
        f"/api/sessions/{session.pk}/attendance/?format=csv",
        f"/api/sessions/{session.pk}/attendance/history/?format=csv",
        "/api/participants/export/?format=csv",
    ]


def test_anonymous_export_is_a_401_in_drfs_shape(api_client):
    for url in _export_urls(session_make()):
        response = api_client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"] == "application/json"
        assert response["WWW-Authenticate"] == "Token"
        assert "detail" in response.json()


@pytest.mark.parametrize(
    "granted",
    [
        ("view_checkin", "view_scan"),  # no participant data: no attendance file
        ("view_checkin", "view_participant"),
        ("view_scan", "view_participant"),
    ],
)
def test_attendance_needs_all_three_view_permissions(django_user_model, granted):
    user = django_user_model.objects.create_user(username="part", password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=granted))
    client = APIClient()
    client.force_authenticate(django_user_model.objects.get(pk=user.pk))
    session_url, history_url, participants_url = _export_urls(session_make())
    for url in (session_url, history_url):
        response = client.get(url)
        assert response.status_code == 403, (url, granted)
        assert "detail" in response.json()
    expected = 200 if "view_participant" in granted else 403
    assert client.get(participants_url).status_code == expected


def test_history_shows_the_devices_own_time_the_device_and_the_undone_scan(staff_client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    session = session_make(title="Keynote", capacity=5)
    uma = participant_make(full_name="Uma Ortiz")
    door = DoorDevice.objects.create(name="Hall A, door 2")
    scanned = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    session_check_in(
        session_id=session.pk, participant_id=uma.pk, nonce="n-1", device=door, scanned_at=scanned
    )
    session_scan_undo(session_id=session.pk, nonce="n-1", actor=door.name, device=door)

    response = staff_client.get(f"/api/sessions/{session.pk}/attendance/history/?format=csv")

    header, scan, undo = rows_of(response)
    assert header[-3:] == ["Scanned at (device)", "Scan id", "Undoes scan id"]
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert scan[-3] == scanned.astimezone(berlin).isoformat()
    assert scan[0] != scan[-3]  # the server's time beside the device's
    assert scan[header.index("Device")] == "Hall A, door 2"
    assert (undo[3], undo[-3], undo[-1]) == ("annulled", "", scan[-2])
