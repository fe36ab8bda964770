"""The shape of each MongoDB command of a door check-in: what the stand-in charges for (not timed).

On the stand-in (docs/mongodb-stand-in.md, "What a command costs"): a write rewrites the entries
of every index of its collection, so an index that another index's leading fields cover only
costs; a read by ``_id`` through ``find`` is its cheapest form (the ORM's ``filter(pk=).first()``
is an aggregate). A check-in with a nonce, Redis up, its participant read by this process for the
first time: the participant (by ``_id``, a copy kept for the process), the nonce claim, the record's
claim, the participant's re-read (the fence against a delete), the increment (a ``findAndModify`` by
``_id`` that returns the count for the answer), the admission, the claim's verdict.
"""

import uuid

import pytest
from django.db import connection

from sessions_app.models import CheckIn, Scan
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db

ADMISSION = [
    "find participants_app_participant",
    "insert sessions_app_scan",
    "insert sessions_app_checkin",
    "find participants_app_participant",
    "findAndModify sessions_app_session",
    "update sessions_app_checkin",
    "update sessions_app_scan",
]


def test_a_check_in_reads_and_writes_by_id(token_client, commands):
    client = token_client
    session = session_make(capacity=5)
    first, second = participants_make(2)
    url = f"/api/sessions/{session.pk}/check-in/"
    assert client.post(url, {"participant": str(first.pk)}, format="json").status_code == 201

    commands.names.clear()
    commands.counting = True
    try:
        response = client.post(
            url, {"participant": str(second.pk), "nonce": uuid.uuid4().hex}, format="json"
        )
    finally:
        commands.counting = False
    assert response.status_code == 201, response.content
    assert list(commands.names) == ADMISSION
    for body in commands.bodies:
        if "updates" in body:
            (update,) = body["updates"]
            assert next(iter(update["q"])) == "_id", update["q"]
        if "findAndModify" in body:
            assert next(iter(body["query"])) == "_id", body["query"]
        assert "$expr" not in repr(body), body
    first_read, reread = commands.bodies[0], commands.bodies[3]
    assert first_read["filter"] == {"_id": second.pk}, first_read
    assert reread["filter"] == {"_id": second.pk}, reread


@pytest.mark.parametrize("model", [Scan, CheckIn], ids=["scan log", "check-in records"])
def test_no_index_of_the_hot_collections_is_covered_by_another(model):
    """Each write of an entry pays for every index: none may be another's leading fields.

    A partial index is left out as the cover: the stand-in does not use it for a lookup.
    """
    indexes = connection.get_collection(model._meta.db_table).index_information()
    keys = {
        name: [field for field, _ in spec["key"]]
        for name, spec in indexes.items()
        if name != "_id_"
    }
    covering = {
        name: fields
        for name, fields in keys.items()
        if "partialFilterExpression" not in indexes[name]
    }
    covered = [
        f"{name} {fields} by {other} {cover}"
        for name, fields in keys.items()
        if not indexes[name].get("unique")
        for other, cover in covering.items()
        if other != name and cover[: len(fields)] == fields
    ]
    assert covered == []
