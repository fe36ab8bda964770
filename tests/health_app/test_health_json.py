"""application/health+json (IETF draft-inadvisable-health-check) validates against the draft's shape."""

import jsonschema
import pytest

HEALTH_JSON = "application/health+json"
STATUS = {"enum": ["pass", "warn", "fail"]}
ISO_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
}

# The draft's response object: "status" is required; the other members are optional, typed as
# the draft defines them. "checks" maps "component:measurement" to arrays of observations.
CHECK_ITEM = {
    "type": "object",
    "properties": {
        "componentId": {"type": "string"},
        "componentType": {"type": "string"},
        "observedValue": {},
        "observedUnit": {"type": "string"},
        "status": STATUS,
        "affectedEndpoints": {"type": "array", "items": {"type": "string"}},
        "time": ISO_TIME,
        "output": {"type": "string"},
        "links": {"type": "object"},
    },
    "required": ["componentType", "observedValue", "observedUnit", "status", "time"],
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "status": STATUS,
        "version": {"type": "string"},
        "releaseId": {"type": "string"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "output": {"type": "string"},
        "serviceId": {"type": "string"},
        "description": {"type": "string"},
        "links": {"type": "object"},
        "checks": {
            "type": "object",
            "propertyNames": {"pattern": r"^[^:]+(:[^:]+)?$"},
            "additionalProperties": {"type": "array", "items": CHECK_ITEM, "minItems": 1},
        },
    },
    "required": ["status"],
}
LATENCY_CHECKS = ["mongodb:responseTime", "redis:responseTime", "celery-broker:responseTime"]


def get_health_json(client, path):
    response = client.get(path, headers={"accept": f"{HEALTH_JSON}, application/json;q=0.5"})
    assert response["Content-Type"] == HEALTH_JSON
    body = response.json()
    jsonschema.validate(body, SCHEMA)
    return response.status_code, body


def test_all_up_is_pass(client, settings):
    status, body = get_health_json(client, "/health")
    assert (status, body["status"]) == (200, "pass")
    assert "output" not in body
    assert body["releaseId"] == settings.APP_VERSION
    for name in LATENCY_CHECKS:
        (item,) = body["checks"][name]
        assert item["status"] == "pass"
        assert item["observedUnit"] == "ms"
        assert isinstance(item["observedValue"], int | float)
    assert body["checks"]["mongodb:responseTime"][0]["componentType"] == "datastore"
    assert get_health_json(client, "/health/ready")[0] == 200
    assert get_health_json(client, "/health/live") == (200, {"status": "pass"})


def test_redis_killed_is_warn(client, redis_server):
    redis_server.kill()
    status, body = get_health_json(client, "/health")
    assert (status, body["status"]) == (200, "warn")
    (redis,) = body["checks"]["redis:responseTime"]
    assert redis["status"] == "fail"
    assert redis["observedValue"] is None
    assert "127.0.0.1" not in redis["output"]
    assert body["checks"]["mongodb:responseTime"][0]["status"] == "pass"
    assert "redis:responseTime" in body["output"]


def test_mongodb_down_is_fail_with_503(client, mongo_down):
    status, body = get_health_json(client, "/health")
    assert (status, body["status"]) == (503, "fail")
    assert body["checks"]["mongodb:responseTime"][0]["status"] == "fail"
    assert get_health_json(client, "/health/ready")[0] == 503


@pytest.mark.parametrize(
    ("accept", "health_json"),
    [
        (HEALTH_JSON, True),
        ("application/json, application/health+json;q=0.9", False),
        ("application/json;q=0.5, application/health+json", True),
        ("application/health+json;q=0, */*", False),
        ("*/*", False),
        ("not a media type", False),
    ],
)
def test_content_negotiation(client, accept, health_json):
    response = client.get("/health/live", headers={"accept": accept})
    assert (response["Content-Type"] == HEALTH_JSON) is health_json
    assert "Accept" in response["Vary"]
