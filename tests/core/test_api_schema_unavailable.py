"""The OpenAPI schema documents the 503 that any endpoint may answer (core/middleware.py)."""

import json

import pytest

from core.middleware import busy_response, database_unavailable_response

pytestmark = pytest.mark.django_db

METHODS = ("get", "put", "patch", "post", "delete", "head", "options", "trace")


def test_every_operation_documents_503_busy_and_database_unavailable_with_retry_after(
    staff_client,
):
    schema = staff_client.get("/api/schema/?format=json").json()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) > 20  # the whole API, not an empty schema
    for path, method, operation in operations:
        response = operation["responses"].get("503")
        assert response is not None, (method, path)
        body = response["content"]["application/json"]["schema"]
        if "$ref" in body:
            body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        assert body["required"] == ["detail", "reason"], (method, path)
        assert body["properties"]["reason"]["enum"] == ["busy", "database_unavailable"]
        header = response["headers"]["Retry-After"]
        assert header["required"] is True and header["schema"]["type"] == "integer"


def test_the_documented_reasons_are_what_the_middleware_answers(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()
    documented = schema["components"]["schemas"]["ServiceUnavailable"]
    for response in (busy_response(), database_unavailable_response()):
        assert response.status_code == 503
        assert json.loads(response.content)["reason"] in documented["properties"]["reason"]["enum"]
        assert int(response["Retry-After"]) > 0


def test_check_in_and_check_out_document_retry_after_on_409(staff_client):
    schema = staff_client.get("/api/schema/?format=json").json()
    for path in ("/api/sessions/{id}/check-in/", "/api/sessions/{id}/check-out/"):
        headers = schema["paths"][path]["post"]["responses"]["409"]["headers"]
        assert headers["Retry-After"]["schema"]["type"] == "integer", path
