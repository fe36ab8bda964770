"""A property-based run over the OpenAPI schema (schemathesis): as staff, with real sessions and
participants so that check-in and check-out are reached; no server error and no response that
the schema does not describe (status code, content type, headers, body).

Every path parameter that names an id (``id``, ``session_id``) gets, in some cases, a real id of
the path's kind: a run that only ever sends random ids sees nothing but 404 (the attendance
exports, whose parameter is ``session_id``, were never reached past their 404). Reads are also
run with negative query parameters (``?format=AAA``, ``?page=x``): bad input must be a
documented 4xx too.
"""

from __future__ import annotations

import functools
import time

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sessions_app.services import session_check_in
from tests.factories import participant_make, session_make

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]  # `make check` leaves it out

EXAMPLES_PER_OPERATION = 12  # about 250 requests: well under the 60 s budget
BUDGET_SECONDS = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _real_ids(path: str, data: dict) -> list[str]:
    """Return the real ids a path's id parameter may take: its kind's, when the path says it."""
    if path.startswith("/api/sessions/"):
        return data["sessions"]
    if path.startswith("/api/participants/") and not path.startswith("/api/participants/import/"):
        return data["participants"]
    return data["ids"]


def _explore(operation, *, data: dict, headers: dict, calls: dict, failures: list, mode):
    """Return a Hypothesis test of one operation: generated cases, some with real ids."""
    label = f"{operation.method.upper()} {operation.path}"
    is_door = operation.path.endswith(("/check-in/", "/check-out/"))
    id_names = [
        p.name for p in operation.path_parameters if p.name == "id" or p.name.endswith("_id")
    ]

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        real_id=st.sampled_from([None, *_real_ids(operation.path, data)]),
        door=st.sampled_from([None, *data["door"]]),
    )
    def run(case, real_id, door):
        for name in id_names if real_id else ():
            case.path_parameters[name] = real_id
        if is_door and door:
            field = "participant" if door in data["participants"] else "ticket_code"
            case.body = {field: door}
        calls[label] = calls.get(label, 0) + 1  # type: ignore[operator]
        try:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            calls.setdefault(f"{label} statuses", set()).add(response.status_code)
        except (Exception, BaseExceptionGroup) as error:  # collect all failures, report them all
            if not any(failure.startswith(f"{label}:") for failure in failures):
                failures.append(f"{label}: {type(error).__name__}: {str(error)[:600]}")

    return run


def _door_examples(operations, session, people, headers) -> None:
    """Admit and let out real participants, by id and by ticket code: the answers as documented."""
    by_path = {op.path: op for op in operations if op.method.upper() == "POST"}
    check_in = by_path["/api/sessions/{id}/check-in/"]
    check_out = by_path["/api/sessions/{id}/check-out/"]
    steps = [
        (check_in, {"participant": str(people[1].pk)}, 201),
        (check_in, {"ticket_code": people[2].ticket_code}, 201),
        (check_in, {"participant": str(people[1].pk)}, 200),  # already inside
        (check_out, {"ticket_code": people[1].ticket_code}, 200),
        (check_out, {"participant": str(people[1].pk)}, 200),  # not inside any more
    ]
    for operation, body, expected in steps:
        case = operation.Case(
            path_parameters={"id": str(session.pk)}, body=body, media_type="application/json"
        )
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == expected, (body, response.text)


def test_schema_and_api_agree(django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="x", email="")
    headers = {"Authorization": f"Token {Token.objects.create(user=admin).key}"}
    sessions = [session_make(capacity=2), session_make(capacity=50), session_make(status="draft")]
    people = [participant_make() for _ in range(4)]
    session_check_in(session_id=sessions[1].pk, participant_id=people[0].pk)
    session_ids = [str(s.pk) for s in sessions]
    participant_ids = [str(p.pk) for p in people]
    ticket_codes = [p.ticket_code for p in people]

    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Writes last (deletes at the very end): they may close or remove the sessions the other
    # operations use (the answers stay valid, but the door would see fewer admissions).
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}
    operations.sort(key=lambda op: (order.get(op.method.upper(), 1), op.path, op.method))
    _door_examples(operations, sessions[1], people, headers)
    assert len(operations) >= 15, [f"{op.method} {op.path}" for op in operations]
    failures: list[str] = []
    calls: dict = {}  # per operation: the number of calls, and (" statuses") the codes seen
    started = time.monotonic()
    data = {"ids": session_ids + participant_ids, "participants": participant_ids}
    data.update(sessions=session_ids, door=participant_ids + ticket_codes)
    for operation in operations:
        explore = functools.partial(
            _explore, operation, data=data, headers=headers, calls=calls, failures=failures
        )
        explore(mode=GenerationMode.POSITIVE)()
        if operation.method.upper() == "GET" and operation.query:
            explore(mode=GenerationMode.NEGATIVE)()
    elapsed = time.monotonic() - started
    counts = {label: n for label, n in calls.items() if isinstance(n, int)}
    print(f"schema run: {sum(counts.values())} calls, {len(counts)} operations, {elapsed:.1f} s")
    assert not failures, "\n\n".join(failures)
    assert elapsed < BUDGET_SECONDS
    # The generated door cases reached the door too (verdicts, not only 400 for their bodies).
    assert calls["POST /api/sessions/{id}/check-in/ statuses"] & {200, 201, 409}, calls
    assert calls["POST /api/sessions/{id}/check-out/ statuses"] & {200, 409}, calls
    # The exports were reached with real sessions (200) and with a format they do not offer (400).
    for export in (
        "/api/sessions/{session_id}/attendance/",
        "/api/sessions/{session_id}/attendance/history/",
        "/api/participants/export/",
    ):
        assert {200, 400} <= calls[f"GET {export} statuses"], (export, calls)
