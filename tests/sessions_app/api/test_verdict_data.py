"""The door's JSON verdict is built without DRF's serializer, and says exactly what it said."""

from unittest import mock

import pytest

from core.api.renderers import ObjectIdJSONRenderer
from sessions_app.api.check_in_serializers import VerdictSerializer, verdict_data
from sessions_app.verdicts import Reason, Verdict
from tests.factories import participants_make, session_make

VERDICTS = [
    Verdict(reason=reason, session="s1", participant="p1", check_in_count=3, capacity=10)
    for reason in Reason
] + [
    Verdict(
        reason=Reason.CHECKED_IN, session="s1", participant="p1", check_in_count=0, capacity=1,
        session_title="Talk", participant_name="Ada Lovelace", inside=True, replayed=True,
    ),
    Verdict(
        reason=Reason.SESSION_FULL, session="s1", participant="", check_in_count=1, capacity=1,
        detail="Own words.", inside=False,
    ),
]  # fmt: skip


@pytest.mark.parametrize("verdict", VERDICTS, ids=lambda v: f"{v.reason}-{v.replayed}")
def test_the_verdicts_data_is_the_serializers_key_for_key_in_its_order(verdict):
    expected = VerdictSerializer(verdict).data
    data = verdict_data(verdict)
    assert list(data.items()) == list(expected.items())
    # The same bytes on the wire (a reason outside the serializer's choices stays its enum there).
    assert ObjectIdJSONRenderer().render(data) == ObjectIdJSONRenderer().render(expected)


@pytest.mark.django_db
def test_a_json_check_in_builds_no_verdict_serializer_and_the_browsable_api_still_does(
    token_client,
):
    client = token_client
    session = session_make(capacity=5)
    first, second = participants_make(2)
    url = f"/api/sessions/{session.pk}/check-in/"
    with mock.patch(
        "sessions_app.api.views.VerdictSerializer", side_effect=AssertionError("built")
    ):
        answer = client.post(url, {"participant": str(first.pk)}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json() == {
        "reason": "checked_in", "detail": "Checked in.", "session": str(session.pk),
        "session_title": session.title, "participant": str(first.pk),
        "participant_name": first.full_name, "check_in_count": 1, "capacity": 5,
        "inside": True, "replayed": False,
    }  # fmt: skip
    with mock.patch(
        "sessions_app.api.views.VerdictSerializer", wraps=VerdictSerializer
    ) as serializer:
        html = client.post(url, {"participant": str(second.pk)}, format="json",
                           HTTP_ACCEPT="text/html")  # fmt: skip
    assert html.status_code == 201
    assert serializer.call_count == 1
