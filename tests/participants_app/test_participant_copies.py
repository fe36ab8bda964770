"""The participant copies a process keeps for its doors: kept as objects, each caller its own."""

import pytest

from core import process_cache
from participants_app.models import Participant
from participants_app.selectors import participant_get_for_admission
from tests.factories import participant_make

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("by", ["id", "ticket"])
def test_the_copy_is_kept_unpickled_and_every_caller_gets_its_own(settings, by):
    settings.DOOR_READ_CACHE_SECONDS = 60
    person = participant_make(full_name="Uma Ortiz", ticket_code="UMA-0002")
    Participant.objects.filter(pk=person.pk).update(organization="Acme")  # no signal: kept
    kwargs = {"participant_id": person.pk} if by == "id" else {"ticket_code": "uma-0002"}
    first = participant_get_for_admission(**kwargs)
    key = f"participant:{person.pk}" if by == "id" else "participant:ticket:UMA-0002"

    first.full_name = "Changed"
    first._state.fields_cache["x"] = 1
    kept = process_cache._shared[key][1]  # the object itself, not a pickle, untouched by a caller
    assert isinstance(kept, Participant) and kept is not first and kept.full_name == "Uma Ortiz"
    second = participant_get_for_admission(**kwargs)
    assert second is not first and second.pk == person.pk
    assert (second.full_name, second.organization) == ("Uma Ortiz", "Acme")
    assert second._state.fields_cache is not first._state.fields_cache
    assert "x" not in second._state.fields_cache
    assert second._state.adding is False and second._state.db == "default"
