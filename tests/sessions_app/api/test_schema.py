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


def test_the_undo_endpoint_scanned_at_and_the_latency_header_are_documented(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()
    undo = schema["paths"]["/api/sessions/{id}/undo/"]["post"]
    assert set(undo["responses"]) >= {"200", "400", "403", "404", "409"}
    for reason in (
        "annulled",
        "undo_superseded",
        "undo_window_passed",
        "undo_not_yours",
        "undo_nothing_to_undo",
        "undo_check_out_refused",
        "scan_not_found",
    ):
        assert reason in undo["description"], reason
    for path in ("check-in", "check-out", "undo"):
        operation = schema["paths"][f"/api/sessions/{{id}}/{path}/"]["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "X-Door-Latency-Ms" in headers, path
    components = schema["components"]["schemas"]
    assert "scanned_at" in components["CheckInInput"]["properties"]
    assert {"scanned_at", "annuls", "device_name"} <= set(components["Scan"]["properties"])


def test_swagger_ui_and_schema_are_served(staff_client):
    assert staff_client.get("/api/schema/").status_code == 200
    assert staff_client.get("/api/docs/").status_code == 200


def _operation(schema: dict, path: str) -> dict:
    return schema["paths"][path]["get"]


def test_exports_document_their_path_parameter_and_every_error_as_json(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()
    for path in (
        "/api/sessions/{session_id}/attendance/",
        "/api/sessions/{session_id}/attendance/history/",
        "/api/participants/export/",
    ):
        operation = _operation(schema, path)
        in_path = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert in_path == ({"session_id"} if "{session_id}" in path else set()), path
        responses = operation["responses"]
        assert "400" in responses, path  # ?format=AAA
        for status, response in responses.items():
            expected = {"text/csv"} if status == "200" else {"application/json"}
            assert set(response["content"]) == expected, (path, status)
        if "{session_id}" in path:
            not_found = responses["404"]["content"]["application/json"]["schema"]["$ref"]
            assert not_found.endswith("/NotFoundReason"), not_found
