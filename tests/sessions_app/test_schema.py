"""The OpenAPI schema and the Swagger UI that serves it."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_openapi_schema_validates_and_documents_every_verdict(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for reason in (
        "checked_in",
        "already_checked_in",
        "session_full",
        "session_not_open",
        "checked_out",
        "not_checked_in",
        "session_not_found",
        "participant_not_found",
        "ticket_not_found",
    ):
        assert reason in text
    assert "/api/sessions/{id}/check-in/" in text and "/api/sessions/stats/" in text


def test_swagger_ui_and_schema_are_served(staff_client):
    assert staff_client.get("/api/schema/").status_code == 200
    assert staff_client.get("/api/docs/").status_code == 200
