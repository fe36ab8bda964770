"""A door's plain JSON input is read without DRF's serializer (nor its parser selection, for
``application/json``), to exactly what they read and validate it to."""

from unittest import mock

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from sessions_app.api.check_in_serializers import (
    CheckOutInputSerializer,
    door_input_json,
    door_input_plain,
)
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


BODIES = [
    b'{"participant": "6b169136344675a14477ef1c", "nonce": "n-1"}',
    b'{"ticket_code": "ABCD"}',
    b'{"ticket_code": "ABCD", "ticket_code": "EFGH"}',  # the last one, as json.loads
    b'{"participant": "6b169136344675a14477ef1c", "nonce": NaN}',
    b'{"ticket_code": "ABCD", "nonce": Infinity}',
    b'\xef\xbb\xbf{"ticket_code": "ABCD"}',  # a UTF-8 BOM
    '{"ticket_code": "ABCD"}'.encode("utf-16"),
    b'{"ticket_code": "AB\xff"}',
    b'{"ticket_code": "ABCD"',
    b'["ABCD"]',
    b"",
    b'{"ticket_code": "ABCD", "nonce": "' + b"n" * 5000 + b'"}',
]


def _drf_says(body: bytes, content_type: str):
    """What the view read before: DRF's request.data, then door_input_plain (None: the
    serializer or DRF's parse error answers)."""
    request = Request(APIRequestFactory().post("/", body, content_type=content_type),
                      parsers=[JSONParser(), FormParser(), MultiPartParser()])  # fmt: skip
    try:
        return door_input_plain(request.data)
    except ParseError:
        return None


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_a_json_body_read_directly_is_what_drf_reads(body, content_type):
    django_request = APIRequestFactory().post("/", body, content_type=content_type)
    fast = door_input_json(Request(django_request))
    assert fast is None or fast == _drf_says(body, content_type), body
    if content_type == "application/json" and body in BODIES[:3]:
        assert fast is not None and fast == _drf_says(body, content_type)


@pytest.mark.django_db
def test_a_plain_json_check_in_is_not_parsed_by_drf_and_anything_else_still_is(token_client):
    session = session_make(capacity=5)
    (person,) = participants_make(1)
    url = f"/api/sessions/{session.pk}/check-in/"
    with mock.patch.object(JSONParser, "parse", side_effect=AssertionError("parsed by DRF")):
        answer = token_client.post(url, {"participant": str(person.pk)}, format="json")
    assert answer.status_code == 201, answer.content
    broken = token_client.post(url, b'{"participant": NaN}', content_type="application/json")
    assert broken.status_code == 400 and "detail" in broken.json()
    out = token_client.post(
        f"/api/sessions/{session.pk}/check-out/", {"participant": str(person.pk)}, format="json"
    )
    assert out.status_code == 200 and out.json()["reason"] == "checked_out"
