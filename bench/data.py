"""The benchmark's own data builders (the tools never import the test suite).

Imported only after ``django.setup()``: it imports the models.
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from participants_app.models import Participant
from sessions_app.models import Session

_seq = itertools.count(1)


def bench_session(**fields) -> Session:
    """Create an open session admitting now (started 10 minutes ago, ends in 110), unless
    ``fields`` say otherwise."""
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    values = {
        "title": f"Bench session {next(_seq)}",
        "starts_at": start,
        "ends_at": start + dt.timedelta(hours=2),
        "capacity": 10,
        "status": Session.Status.OPEN,
    }
    values.update(fields)
    return Session.objects.create(**values)


def bench_participants(count: int) -> list[Participant]:
    """Create ``count`` participants in one insert."""
    start = next(_seq) * 1000
    return Participant.objects.bulk_create(
        Participant(full_name=f"Person {start + i}", email=f"bench{start + i}@example.com")
        for i in range(count)
    )
