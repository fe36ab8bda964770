"""Leases of places: grant, sync, return, expiry and conflicts, on the real services and servers.

The first proof point of the offline door (issue 26): online doors fill a session while a device
holds a lease and is offline; the device then syncs its admissions and returns the rest — never
more inside than the capacity, counts exact, idempotent on retry.
"""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from participants_app.models import Participant
from sessions_app.models import CheckIn, Lease, Scan
from sessions_app.services import counters_reconcile, session_check_in, session_update
from sessions_app.services.leases import (
    LeaseError,
    OfflineScan,
    lease_sync,
    session_lease_grant,
)
from tests.factories import (
    assert_capacity_holds,
    participants_make,
    session_counter,
    session_inside,
    session_leases,
    session_make,
)

pytestmark = pytest.mark.django_db


def _grant(session, places, actor="door-9"):
    return session_lease_grant(session_id=session.pk, places=places, actor=actor)


def _scan(person, nonce, direction="in", **fields):
    return OfflineScan(
        nonce=nonce, direction=direction, scanned_at=timezone.now(), participant=person.pk,
        **fields,
    )  # fmt: skip


def _sync(answer, scans, give_back=0, sync_id="", actor="door-9"):
    lease = Lease.objects.get(pk=answer.lease.pk)
    return lease_sync(lease=lease, scans=scans, give_back=give_back, sync_id=sync_id, actor=actor)


def _books(session):
    """(counter, records inside, leased) now."""
    return session_counter(session), session_inside(session), session_leases(session)[0]


def _assert_books_hold(session):
    """The stronger, MongoDB-side form: counter + leased <= capacity."""
    assert_capacity_holds(session)
    counter, _inside, leased = _books(session)
    assert counter + leased <= session.capacity, f"{counter} counted + {leased} leased"


# --- grant ----------------------------------------------------------------------------------------


def test_a_grant_is_bounded_by_the_maximum_the_fraction_and_the_free_places(settings):
    settings.LEASE_MAX_PLACES = 5
    big, small = session_make(capacity=100), session_make(capacity=30)
    assert _grant(big, 8).lease.granted == 5  # LEASE_MAX_PLACES
    assert _grant(small, 8).lease.granted == 3  # 10 % of 30
    nearly_full = session_make(capacity=40)
    for person in participants_make(38):
        session_check_in(session_id=nearly_full.pk, participant_id=person.pk)
    assert _grant(nearly_full, 4).lease.granted == 2  # only 2 free
    for session in (big, small, nearly_full):
        _assert_books_hold(session)
    with pytest.raises(LeaseError) as refused:
        _grant(nearly_full, 1, actor="door-10")
    assert (refused.value.status, refused.value.reason) == (409, "no_places_to_lease")
    assert Lease.objects.filter(session=nearly_full, state="settled", granted=0).count() == 1


def test_asking_again_renews_and_tops_up_the_same_lease():
    session = session_make(capacity=50)
    first = _grant(session, 2)
    again = _grant(session, 4)
    assert again.lease.pk == first.lease.pk
    assert (again.lease.granted, again.room) == (4, 4)
    assert again.lease.expires_at >= first.lease.expires_at
    assert session_leases(session) == (4, {str(first.lease.pk): 4})


def test_online_doors_count_leased_places_as_taken():
    session = session_make(capacity=20)
    _grant(session, 2)
    people = participants_make(20)
    reasons = [session_check_in(session_id=session.pk, participant_id=p.pk).reason for p in people]
    assert reasons.count("checked_in") == 18
    assert reasons[18:] == ["session_full", "session_full"]
    _assert_books_hold(session)


# --- the proof point ------------------------------------------------------------------------------


@pytest.mark.parametrize("synced", [0, 3, 5])
def test_online_doors_fill_the_session_while_a_door_is_offline_then_it_syncs_and_returns(
    synced,
):
    """3 online doors race to fill a session of 50 while a door holds 5 places offline."""
    _fill_then_sync(synced)


def test_the_proof_point_holds_with_redis_killed(redis_server):
    """MongoDB alone decides: the same counts, the same answers."""
    redis_server.kill()
    _fill_then_sync(3)


def _fill_then_sync(synced):
    session = session_make(capacity=50)
    answer = _grant(session, 5)
    online, offline = participants_make(60), participants_make(5)
    outcomes, lock = [], threading.Lock()

    def door(people):
        try:
            for person in people:
                reason = session_check_in(session_id=session.pk, participant_id=person.pk).reason
                with lock:
                    outcomes.append(reason)
        finally:
            connections.close_all()

    doors = [threading.Thread(target=door, args=(online[i::3],)) for i in range(3)]
    for thread in doors:
        thread.start()
    for thread in doors:
        thread.join(60)
    assert outcomes.count("checked_in") == 45, outcomes  # the 5 leased places stayed set aside
    assert outcomes.count("session_full") == 15
    _assert_books_hold(session)
    assert _books(session) == (45, 45, 5)

    scans = [_scan(p, f"off-{i}") for i, p in enumerate(offline[:synced])]
    result = _sync(answer, scans, give_back=5 - synced, sync_id="s-1")
    assert [r.reason for r in result.results] == ["checked_in"] * synced
    assert [r.conflict for r in result.results] == [""] * synced
    assert result.returned == 5 - synced
    assert (result.lease.room, result.lease.lease.used) == (0, synced)
    _assert_books_hold(session)
    assert _books(session) == (45 + synced, 45 + synced, 0)

    retried = _sync(answer, scans, give_back=5 - synced, sync_id="s-1")  # the answer was lost
    assert [(r.reason, r.replayed) for r in retried.results] == [("checked_in", True)] * synced
    assert retried.returned == 5 - synced  # the first return, not a second one
    _assert_books_hold(session)
    assert _books(session) == (45 + synced, 45 + synced, 0)

    # The returned places are the online doors' again, and no more.
    late = [session_check_in(session_id=session.pk, participant_id=p.pk).reason
            for p in participants_make(6)]  # fmt: skip
    assert late.count("checked_in") == 5 - synced
    _assert_books_hold(session)
    assert _books(session) == (50, 50, 0)
    offline_records = CheckIn.objects.filter(session=session, source="offline", state="inside")
    assert offline_records.count() == synced


# --- conflicts ------------------------------------------------------------------------------------


def test_conflicts_are_recorded_each_naming_the_person_and_the_session():
    session = session_make(capacity=50, title="Hall C talk")
    answer = _grant(session, 3)
    ada, bob, cy, dee = participants_make(4)
    session_check_in(session_id=session.pk, participant_id=ada.pk)  # online, at another door
    gone = Participant.objects.create(full_name="Gone Person", email="gone@example.com")
    gone_id = gone.pk
    gone.delete()
    scans = [
        _scan(ada, "c-1"),  # admitted offline here, inside already
        OfflineScan(nonce="c-2", direction="in", scanned_at=timezone.now(), ticket_code="ZZZ-404"),
        OfflineScan(nonce="c-3", direction="in", scanned_at=timezone.now(), participant=gone_id),
        _scan(bob, "c-4", "out"),  # checked out offline, never in
        _scan(cy, "c-5"),
        _scan(dee, "c-6"),
        _scan(participants_make(1)[0], "c-7"),
        _scan(participants_make(1)[0], "c-8"),  # the 4th admission of a lease of 3
    ]
    result = _sync(answer, scans)
    got = [(r.reason, r.conflict) for r in result.results]
    assert got == [
        ("already_checked_in", "admitted_elsewhere"),
        ("ticket_not_found", "ticket_not_found"),
        ("participant_not_found", "participant_deleted"),
        ("not_checked_in", "not_checked_in"),
        ("checked_in", ""),
        ("checked_in", ""),
        ("checked_in", ""),
        ("lease_exhausted", "lease_exhausted"),
    ]
    _assert_books_hold(session)
    assert _books(session) == (4, 4, 0)
    logged = Scan.objects.filter(session=session).exclude(conflict="").order_by("created_at")
    assert [s.conflict for s in logged] == [c for _r, c in got if c]
    assert logged[0].participant_name == ada.full_name
    assert all(s.lease_id == answer.lease.pk for s in logged)
    again = _sync(answer, scans)  # retried: the same answers, nothing new
    assert [(r.reason, r.conflict) for r in again.results] == got
    assert all(r.replayed for r in again.results)
    assert (
        Scan.objects.filter(session=session).exclude(conflict="").filter(replayed=False).count()
        == 5
    )


def test_an_offline_check_out_gives_its_place_back_to_the_lease():
    session = session_make(capacity=50)
    answer = _grant(session, 2)
    ada, bob, cy = participants_make(3)
    result = _sync(answer, [_scan(ada, "o-1"), _scan(bob, "o-2"), _scan(ada, "o-3", "out"),
                            _scan(cy, "o-4")])  # fmt: skip
    assert [r.reason for r in result.results] == ["checked_in"] * 2 + ["checked_out", "checked_in"]
    assert result.lease.room == 0
    assert result.lease.lease.granted == 3  # 2 granted + 1 credit
    _assert_books_hold(session)
    assert _books(session) == (2, 2, 0)


# --- expiry ---------------------------------------------------------------------------------------


def _expire(lease_id, settings):
    connection.database[Lease._meta.db_table].update_one(
        {"_id": lease_id},
        {"$set": {"expires_at": timezone.now() - dt.timedelta(seconds=10)}},
    )
    settings.LEASE_SETTLE_GRACE_SECONDS = 0


def test_a_lease_not_renewed_is_settled_by_the_reconcile_and_a_late_sync_still_records(settings):
    session = session_make(capacity=50)
    answer = _grant(session, 4)
    ada, bob = participants_make(2)
    _sync(answer, [_scan(ada, "e-1")])
    _expire(answer.lease.pk, settings)
    summary = counters_reconcile()
    assert summary.leases_settled == 1
    assert Lease.objects.get(pk=answer.lease.pk).state == "settled"
    _assert_books_hold(session)
    assert _books(session) == (1, 1, 0)
    late = _sync(answer, [_scan(bob, "e-2")])
    assert (late.results[0].reason, late.results[0].conflict) == ("checked_in", "lease_expired")
    assert late.lease.lease.state == "settled"
    _assert_books_hold(session)
    assert _books(session) == (2, 2, 0)
    assert counters_reconcile().leases_settled == 0  # once


def test_the_capacity_cannot_go_below_the_people_inside_plus_the_places_leased():
    session = session_make(capacity=50)
    _grant(session, 5)
    for person in participants_make(10):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    with pytest.raises(ValidationError) as refused:
        session_update(session=session, data={"capacity": 14})
    assert "plus the places leased to doors for offline scanning (5)" in str(refused.value)
    assert session_update(session=session, data={"capacity": 15}).capacity == 15
    _assert_books_hold(session.__class__.objects.get(pk=session.pk))
