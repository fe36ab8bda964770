"""A door's plain JSON input is read without DRF's serializer, to exactly what it validates to."""

from unittest import mock

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions_app.api.check_in_serializers import CheckOutInputSerializer, door_input_plain
from tests.factories import participants_make, session_make

IDS = st.one_of(
    st.builds(lambda: str(ObjectId())),
    st.sampled_from(["0" * 24, "F" * 24, "g" * 24, "0" * 23, " " + "a" * 23, "a" * 24 + "\n"]),
)
CODES = st.from_regex(r"[A-Za-z0-9_-]{2,66}", fullmatch=True)
TEXTS = st.text(max_size=70) | st.sampled_from(["", " ", " a ", "a\x00b", "\ud800", "a" * 65])
VALUES = IDS | CODES | TEXTS | st.integers() | st.booleans() | st.none() | st.lists(IDS, max_size=1)
KEYS = st.sampled_from(["participant", "ticket_code", "nonce", "scanned_at", "other"])


def _serializer_says(data):
    serializer = CheckOutInputSerializer(data=data)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=3))
def test_a_plain_reading_is_what_the_serializer_validates_to(data):
    plain = door_input_plain(data)
    if plain is not None:
        assert plain == _serializer_says(data), data


@pytest.mark.parametrize(
    "data",
    [
        {"participant": str(ObjectId())},
        {"participant": str(ObjectId()), "nonce": "8f14e45fceea167a5a36dedd4bea2543"},
        {"ticket_code": "TICKET-0001_a", "nonce": "  form-1a2b  "},
        {"ticket_code": "ABCD"},
    ],
)
def test_the_shapes_a_door_sends_are_plain(data):
    assert door_input_plain(data) == _serializer_says(data)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"participant": str(ObjectId()), "ticket_code": "ABCD"},
        {"participant": str(ObjectId()), "scanned_at": "2026-12-07T10:00:00+00:00"},
        {"participant": "nope"},
        {"ticket_code": "ABCD", "nonce": ""},
        {"ticket_code": "ABCD", "nonce": 5},
        {"ticket_code": "ABCD", "extra": 1},
        ["ABCD"],
    ],
)
def test_anything_else_is_left_to_the_serializer(data):
    assert door_input_plain(data) is None


@pytest.mark.django_db
def test_a_plain_check_in_builds_no_input_serializer_and_a_bad_one_gets_its_field_errors(
    token_client,
):
    client = token_client
    session = session_make(capacity=5)
    (person,) = participants_make(1)
    url = f"/api/sessions/{session.pk}/check-in/"
    with mock.patch(
        "sessions_app.api.views.CheckInInputSerializer", side_effect=AssertionError("built")
    ):
        answer = client.post(url, {"participant": str(person.pk), "nonce": "n1"}, format="json")
    assert answer.status_code == 201, answer.content
    bad = client.post(url, {"participant": str(person.pk), "nonce": ""}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"nonce": ["This field may not be blank."]}
    unknown = client.post(url, {"ticket_code": "ABCD", "colour": "red"}, format="json")
    assert unknown.status_code == 400 and unknown.json() == {"colour": ["Unknown field."]}
