"""Demo data for `make run` (a bootstrap step)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from participants_app.models import Participant
from participants_app.services import participant_create

from ..models import CheckIn, Session
from .check_in import session_check_in
from .sessions import session_create

_PEOPLE = [
    ("Ada Lovelace", "Analytical Engines Ltd"),
    ("Grace Hopper", "US Navy"),
    ("Alan Turing", "Bletchley Park"),
    ("Katherine Johnson", "NASA"),
    ("Edsger Dijkstra", "TU Eindhoven"),
    ("Barbara Liskov", "MIT"),
    ("Donald Knuth", "Stanford"),
    ("Margaret Hamilton", "MIT Instrumentation Lab"),
    ("Tim Berners-Lee", "CERN"),
    ("Radia Perlman", "DEC"),
    ("Linus Torvalds", "University of Helsinki"),
    ("Frances Allen", "IBM"),
]


def session_create_demo_data() -> str:
    """Create a few sessions, participants and check-ins, only if there are no sessions yet.

    Check-ins go through the check-in service, so the counters and Redis are right from the start.
    The name ends in ``demo_data`` so that ``bootstrap --no-demo`` skips this step.
    """
    if Session.objects.exists():
        return "Demo data: sessions exist, nothing created."
    # The keynote and the workshop admit now (their admission windows are open); the panel later.
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    keynote = session_create(
        title="Opening keynote",
        description="Welcome and the year ahead.",
        location="Main hall",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        capacity=8,
        status=Session.Status.OPEN,
    )
    workshop = session_create(
        title="Hands-on: MongoDB schema design",
        location="Room 2",
        starts_at=start + dt.timedelta(minutes=30),  # at most 30 minutes from now: doors open
        ends_at=start + dt.timedelta(hours=3),
        capacity=3,
        status=Session.Status.OPEN,
    )
    session_create(
        title="Closing panel",
        location="Main hall",
        starts_at=start + dt.timedelta(hours=6),
        ends_at=start + dt.timedelta(hours=7),
        capacity=50,
    )
    people = []
    for name, organization in _PEOPLE:
        email = name.lower().replace(" ", ".").replace("-", "") + "@example.com"
        existing = Participant.objects.filter(email=email).first()
        people.append(
            existing or participant_create(full_name=name, email=email, organization=organization)
        )
    for person in people[:5]:
        session_check_in(
            session_id=keynote.pk, participant_id=person.pk, source=CheckIn.Source.ADMIN
        )
    for person in people[5:8]:  # fills the workshop
        session_check_in(
            session_id=workshop.pk, participant_id=person.pk, source=CheckIn.Source.ADMIN
        )
    return (
        f"Demo data: 3 sessions, {len(people)} participants, 8 check-ins "
        f"(try a ticket code such as {people[8].ticket_code!r} at the workshop: it is full)."
    )
