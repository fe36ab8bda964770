"""Every list endpoint pages the same way, and its filters combine (all must match).

A page is ``?page=N`` (from 1) or ``?page=last``; a page that is not a whole number from 1 is a
400 field error on ``page`` in DRF's shape; a page past the end is an empty 200 whose ``previous``
is the last page (core/api/pagination.py).
"""

import datetime as dt

import pytest
from django.utils import timezone

from core.api.pagination import INVALID_PAGE, PageNumberPagination
from sessions_app.services import session_check_in, session_check_out
from tests.factories import participant_make, participants_make, session_make

pytestmark = pytest.mark.django_db

PAGE_SIZE = 2  # five rows make three pages


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", PAGE_SIZE)


@pytest.fixture
def five_rows_each():
    """Five sessions, participants, check-in records and scans (one session holds them all)."""
    session = session_make(title="Hall", capacity=10)
    for _ in range(4):
        session_make()
    for person in participants_make(5):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    return session


def _list_urls(session):
    return [
        "/api/sessions/",
        "/api/participants/",
        f"/api/sessions/{session.pk}/check-ins/",
        f"/api/sessions/{session.pk}/scans/",
    ]


def test_every_list_pages_to_last_and_back(staff_client, small_pages, five_rows_each):
    for url in _list_urls(five_rows_each):
        first = staff_client.get(url).json()
        assert (first["count"], len(first["results"]), first["previous"]) == (5, 2, None), url
        assert "page=2" in first["next"], url
        last = staff_client.get(url, {"page": "last"}).json()
        assert (len(last["results"]), last["next"]) == (1, None), url
        assert "page=2" in last["previous"], url
        seen = first["results"] + staff_client.get(url, {"page": 2}).json()["results"]
        seen += last["results"]
        assert len({row["id"] for row in seen}) == 5, url  # each row on exactly one page


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", "%00"])
def test_a_bad_page_is_a_400_field_error_on_every_list(staff_client, five_rows_each, page):
    for url in _list_urls(five_rows_each):
        response = staff_client.get(url, {"page": page})
        assert response.status_code == 400, (url, response.content)
        assert response.json() == {"page": [INVALID_PAGE]}, url


def test_a_page_past_the_end_is_empty_and_points_back_to_the_last(
    staff_client, small_pages, five_rows_each
):
    for url in _list_urls(five_rows_each):
        response = staff_client.get(url, {"page": 9})
        assert response.status_code == 200, url
        body = response.json()
        assert (body["count"], body["results"], body["next"]) == (5, [], None), url
        assert "page=3" in body["previous"], url


def test_session_filters_combine_status_dates_and_search(staff_client):
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    for title, status, days, location in [
        ("Early open", "open", 0, "Aula"),
        ("Late open", "open", 3, "Aula"),
        ("Late draft", "draft", 3, "Aula"),
        ("Late open elsewhere", "open", 3, "Hall B"),
    ]:
        at = start + dt.timedelta(days=days)
        session_make(
            title=title, status=status, location=location, starts_at=at,
            ends_at=at + dt.timedelta(hours=1),
        )  # fmt: skip
    after = (start + dt.timedelta(days=1)).isoformat()
    response = staff_client.get(
        "/api/sessions/", {"status": "open", "starts_after": after, "search": "aula"}
    )
    assert [row["title"] for row in response.json()["results"]] == ["Late open"]
    before = staff_client.get("/api/sessions/", {"status": "draft", "starts_before": after})
    assert before.json()["count"] == 0


def test_participant_search_combines_with_the_filters(staff_client):
    participant_make(full_name="Ada Lovelace", organization="Acme", email="ada@acme.example")
    participant_make(full_name="Ada Byron", organization="Other", email="byron@other.example")
    participant_make(full_name="Grace Hopper", organization="Acme", email="grace@acme.example")

    def names(**query):
        response = staff_client.get("/api/participants/", query)
        assert response.status_code == 200, response.content
        return sorted(row["full_name"] for row in response.json()["results"])

    assert names(search="ada", organization="ACME") == ["Ada Lovelace"]
    assert names(search="ada", email=" Byron@Other.example ") == ["Ada Byron"]
    assert names(organization="acme", email="ada@other.example") == []


def test_check_in_records_filter_by_inside_and_source(staff_client):
    session = session_make(capacity=5)
    door, admin, left = participants_make(3)
    session_check_in(session_id=session.pk, participant_id=door.pk, source="door")
    session_check_in(session_id=session.pk, participant_id=admin.pk, source="admin")
    session_check_in(session_id=session.pk, participant_id=left.pk, source="door")
    session_check_out(session_id=session.pk, participant_id=left.pk, source="door")
    url = f"/api/sessions/{session.pk}/check-ins/"

    def who(**query):
        response = staff_client.get(url, query)
        assert response.status_code == 200, response.content
        return sorted(row["participant"] for row in response.json()["results"])

    assert who(inside="true", source="door") == [str(door.pk)]
    assert who(inside="false") == [str(left.pk)]
    assert who(source="admin") == [str(admin.pk)]
    assert staff_client.get(url, {"source": "phone"}).status_code == 400
    maybe = staff_client.get(url, {"inside": "maybe"})
    assert maybe.status_code == 400, maybe.content  # was every row, unfiltered
    assert "inside" in maybe.json()


def test_scans_filter_by_reason_direction_ticket_and_time_together(staff_client):
    session = session_make(capacity=1)
    first, second = participants_make(2)
    session_check_in(session_id=session.pk, participant_id=first.pk)
    session_check_in(session_id=session.pk, participant_id=second.pk)  # session_full
    session_check_out(session_id=session.pk, ticket_code=first.ticket_code)
    url = f"/api/sessions/{session.pk}/scans/"

    def reasons(**query):
        response = staff_client.get(url, query)
        assert response.status_code == 200, response.content
        return [row["reason"] for row in response.json()["results"]]

    assert reasons(direction="in", reason="session_full") == ["session_full"]
    assert reasons(direction="out", reason="session_full") == []
    assert reasons(ticket_code=first.ticket_code, direction="out") == ["checked_out"]
    soon = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    assert len(reasons(before=soon, direction="in")) == 2
    assert reasons(after=soon, direction="in") == []
