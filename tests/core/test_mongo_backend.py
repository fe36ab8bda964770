"""The database backend's joins (``core.mongo_backend``): select_related and values across a
relation give the related rows, on the stand-in as on MongoDB."""

import pytest
from django.contrib.auth.models import Permission

from core.mongo_backend.compiler import dotted_joined_fields
from sessions_app.models import CheckIn
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def test_select_related_with_related_ordering_gives_every_permission_its_content_type():
    # Permission's default ordering is by content_type__app_label: the query that made the
    # admin's user and group pages answer 500.
    permissions = list(Permission.objects.select_related("content_type"))

    assert permissions
    missing = [p.codename for p in permissions if p._state.fields_cache.get("content_type") is None]
    assert missing == []
    assert all(p.content_type.pk == p.content_type_id for p in permissions)


def test_select_related_ordered_by_a_related_field_keeps_the_related_rows():
    session = session_make(title="Keynote")
    participant = participant_make(full_name="Uma Ortiz")
    CheckIn.objects.create(session=session, participant=participant)

    records = list(
        CheckIn.objects.select_related("session", "participant").order_by("participant__full_name")
    )

    assert [(r.session.title, r.participant.full_name) for r in records] == [
        ("Keynote", "Uma Ortiz")
    ]


def test_values_across_a_relation_give_the_related_value():
    session = session_make(title="Keynote")
    CheckIn.objects.create(session=session, participant=participant_make())

    assert list(CheckIn.objects.values_list("session__title", flat=True)) == ["Keynote"]
    assert list(CheckIn.objects.values("session__title", "state")) == [
        {"session__title": "Keynote", "state": "out"}
    ]


def test_only_a_joined_alias_nested_document_is_spelled_dotted():
    fields = {"name": 1, "T2": {"title": 1, "_id": 1}, "n": {"$add": ["$a", 1]}}

    assert dotted_joined_fields(fields, joined_aliases={"T2"}) == {
        "name": 1,
        "T2.title": 1,
        "T2._id": 1,
        "n": {"$add": ["$a", 1]},
    }
