"""Filter values are data, not regular expressions (found by the schema run: ``?x`` was a 500)."""

import pytest

from tests.factories import participant_make

pytestmark = pytest.mark.django_db


def test_organization_and_email_filters_are_case_insensitive_equality(staff_client):
    acme = participant_make(organization="Acme", email="ada@example.com")
    participant_make(organization="Abme")

    def ids(query):
        response = staff_client.get(f"/api/participants/?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("organization=ACME") == [str(acme.pk)]
    assert ids("organization=A.me") == []
    assert ids("organization=%3Fx") == []
    assert ids("organization=(") == []
    assert ids("email=ADA@example.com") == [str(acme.pk)]
    assert ids("email=*") == []
