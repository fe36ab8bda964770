"""drf-spectacular post-processing: answers every operation may give, documented once.

Any API request may be answered 503 before its view runs (core/middleware.py): ``busy`` when
the process's admission control has no free slot in time (MongoDB answers, but not fast enough),
``database_unavailable`` when MongoDB is unreachable. Both carry ``Retry-After``. No view
declares them, so they are added here to every operation of the schema.
"""

from __future__ import annotations

import copy

SERVICE_UNAVAILABLE = "ServiceUnavailable"
# The reason codes core/middleware.py answers with a 503 (a test holds the two together).
UNAVAILABLE_REASONS = ["busy", "database_unavailable"]
_METHODS = ("get", "put", "patch", "post", "delete", "head", "options", "trace")

_SCHEMA = {
    "type": "object",
    "description": "503: DRF's error shape plus the reason code.",
    "properties": {
        "detail": {"type": "string"},
        "reason": {"type": "string", "enum": UNAVAILABLE_REASONS},
    },
    "required": ["detail", "reason"],
}
_RESPONSE = {
    "description": "Unavailable for a moment, whatever the endpoint; retry after `Retry-After` "
    "seconds. `busy`: this process has more requests in hand than MongoDB answers in time "
    "(overload, not an outage). `database_unavailable`: MongoDB cannot be reached.",
    "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{SERVICE_UNAVAILABLE}"}}
    },
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before sending the request again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def postprocess_service_unavailable(result: dict, generator=None, **kwargs) -> dict:
    """Add the 503 ``busy`` / ``database_unavailable`` response to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[SERVICE_UNAVAILABLE] = (
        copy.deepcopy(_SCHEMA)
    )
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _METHODS:
                operation.setdefault("responses", {}).setdefault("503", copy.deepcopy(_RESPONSE))
    return result
