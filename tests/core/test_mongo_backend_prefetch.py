"""``prefetch_related`` of a foreign key reads the related rows by an indexed ``_id`` ``$in``.

Django 5.2 filters them with a one-column ``TupleIn``, which django-mongodb-backend wrote as
``{"$expr": {"$in": ["$_id", [...]]}}``: no index answers an ``$in`` inside ``$expr``, so a
page's prefetch read the whole related collection (core/mongo_backend/lookups.py).
"""

import pytest
from bson import ObjectId
from django.db.models import prefetch_related_objects

from sessions_app.models import Scan
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db


def _scan(session, participant, nonce):
    return Scan.objects.create(
        session=session, participant=participant, direction="in", source="api", nonce=nonce
    )


def test_a_prefetch_reads_the_related_rows_by_an_id_in(commands):
    hall = session_make(title="Hall A")
    ada, bob, _carl = participants_make(3)
    missing = ObjectId()  # a scan naming a participant no longer there: None, as before
    _scan(hall, ada, "n-1"), _scan(hall, bob, "n-2"), _scan(hall, bob, "n-3")
    Scan.objects.create(session=hall, participant_id=missing, direction="in", source="api")
    _scan(hall, None, "n-4")
    scans = list(Scan.objects.order_by("nonce"))

    commands.counting = True
    prefetch_related_objects(scans, "participant", "session")
    commands.counting = False

    reads = {body["aggregate"]: body["pipeline"] for body in commands.bodies}
    assert len(commands.bodies) == 2, commands.names
    first = reads["participants_app_participant"][0]
    assert list(first) == ["$match"] and list(first["$match"]) == ["_id"], first
    assert set(first["$match"]["_id"]["$in"]) == {ada.pk, bob.pk, missing}
    assert reads["sessions_app_session"][0] == {"$match": {"_id": {"$in": [hall.pk]}}}
    assert [s.participant.full_name if s.participant else None for s in scans] == [
        None, ada.full_name, bob.full_name, bob.full_name, None,
    ]  # fmt: skip
    assert {s.session.title for s in scans} == {"Hall A"}
