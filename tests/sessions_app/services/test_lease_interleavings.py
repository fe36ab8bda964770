"""Leases interleaved with everything else, step by step on the real code path.

A request is paused at a failpoint between two of its writes — a grant between its read and its
write (``lease.grant_after_read``), a synced admission after its claim (``lease.after_claim``),
after its transfer (``lease.after_transfer``), after its admit (``lease.after_admit``), a synced
check-out before and after its credit (``check_out.after_record``, ``check_out.after_decrement``),
the reconcile's settle between its read and its write (``lease.settle_after_read``) — while a
retry, the reconcile, an online door or a grant runs; then it goes on. At every step:
people inside + places leased <= capacity, ``leased`` == the sum of the leases' rooms, and the
counts are exact at the end. Each runs with Redis up and with Redis killed.

Each scenario is a function of its own, so the same steps can be run against a naive variant of
the protocol (docs/door-protocol.md lists which, and how each fails).
"""

import datetime as dt

import pymongo
import pytest
from django.db import connection
from django.utils import timezone

from core.failpoints import armed
from sessions_app.models import Lease
from sessions_app.services import counters_reconcile, session_check_in, session_check_out
from sessions_app.services.leases import LeaseError, OfflineScan, lease_sync, session_lease_grant
from tests.factories import (
    assert_capacity_holds,
    nonce_age,
    participants_make,
    session_counter,
    session_inside,
    session_leases,
    session_make,
)
from tests.interleaving import deadline_runs_out, gate_at, started

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["redis up", "redis killed"])
def _redis(request, redis_server):
    """Every scenario twice: with Redis in front, and with MongoDB alone deciding."""
    if request.param == "redis killed":
        redis_server.kill()


ADMISSION_PAUSES = ["lease.after_claim", "lease.after_transfer", "lease.after_admit"]


def _grant(session, places, actor="door-9"):
    return session_lease_grant(session_id=session.pk, places=places, actor=actor)


def _sync(lease_pk, *scans, give_back=0, sync_id=""):
    def call():
        lease = Lease.objects.get(pk=lease_pk)
        return lease_sync(
            lease=lease, scans=list(scans), give_back=give_back, sync_id=sync_id, actor="door-9"
        )

    return call


def _scan(person, nonce, direction="in"):
    return OfflineScan(
        nonce=nonce, direction=direction, scanned_at=timezone.now(), participant=person.pk
    )


def _books(session):
    """(counter, records inside, leased) now."""
    return session_counter(session), session_inside(session), session_leases(session)[0]


def _online(session, person):
    return session_check_in(session_id=session.pk, participant_id=person.pk).reason


# --- a retried sync racing its original -----------------------------------------------------------


def scenario_retry_while_the_original_waits(pause):
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    (ada,) = participants_make(1)
    scan = _scan(ada, "r-1")
    with gate_at(pause, "S1") as gate:
        original = started("S1", _sync(lease, scan))
        gate.wait_for("S1")
        assert_capacity_holds(session)
        retry = _sync(lease, scan)()  # the door's retry after a lost answer
        assert retry.results[0].reason == "check_in_in_progress"
        assert_capacity_holds(session)
    assert original.outcome().results[0].reason == "checked_in"
    again = _sync(lease, scan)()
    assert (again.results[0].reason, again.results[0].replayed) == ("checked_in", True)
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 2)


@pytest.mark.parametrize("pause", ADMISSION_PAUSES)
def test_a_retried_sync_while_its_original_decides_answers_in_progress_then_the_verdict(pause):
    scenario_retry_while_the_original_waits(pause)


def scenario_retry_takes_over_a_gone_original(pause):
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    (ada,) = participants_make(1)
    scan = _scan(ada, "r-2")
    with gate_at(pause, "S1") as gate:
        original = started("S1", _sync(lease, scan))
        gate.wait_for("S1")
        nonce_age(session, "r-2")  # the original looks gone: its retry takes it over
        retry = _sync(lease, scan)()
        assert retry.results[0].reason == "checked_in"
        assert_capacity_holds(session)
        assert _books(session) == (1, 1, 2)
    assert original.outcome().results[0].reason == "checked_in"  # it woke up: moved once
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 2)


@pytest.mark.parametrize("pause", ADMISSION_PAUSES)
def test_a_retry_that_takes_over_a_gone_original_moves_the_place_once(pause):
    scenario_retry_takes_over_a_gone_original(pause)


# --- a sync racing the reconcile settling an expiring lease ---------------------------------------


def _expire(lease_pk, settings):
    connection.database[Lease._meta.db_table].update_one(
        {"_id": lease_pk}, {"$set": {"expires_at": timezone.now() - dt.timedelta(seconds=10)}}
    )
    settings.LEASE_SETTLE_GRACE_SECONDS = 0


def scenario_settle_while_the_sync_waits_after_its_claim(settings):
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    (ada,) = participants_make(1)
    with gate_at("lease.after_claim", "S1") as gate:
        sync = started("S1", _sync(lease, _scan(ada, "x-1")))
        gate.wait_for("S1")
        _expire(lease, settings)
        assert counters_reconcile().leases_settled == 1
        assert_capacity_holds(session)
        assert _books(session) == (0, 0, 0)
    verdict = sync.outcome().results[0]
    assert (verdict.reason, verdict.conflict) == ("checked_in", "lease_expired")
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 0)


def test_a_lease_settled_while_a_sync_waits_after_its_claim_counts_the_admission_late(settings):
    scenario_settle_while_the_sync_waits_after_its_claim(settings)


def scenario_sync_while_the_settle_waits(settings):
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    ada, bob = participants_make(2)
    _expire(lease, settings)
    with gate_at("lease.settle_after_read", "R") as gate:
        reconcile = started("R", counters_reconcile)
        gate.wait_for("R")  # it read a room of 3
        synced = _sync(lease, _scan(ada, "y-1"), _scan(bob, "y-2"))().results
        assert [v.reason for v in synced] == ["checked_in", "checked_in"]
        assert_capacity_holds(session)
    assert reconcile.outcome().leases_settled == 1
    assert_capacity_holds(session)
    assert _books(session) == (2, 2, 0)
    assert session_leases(session) == (0, {})


def test_a_sync_while_the_settle_waits_between_its_read_and_write_is_settled_exactly(settings):
    scenario_sync_while_the_settle_waits(settings)


# --- an online door racing a grant and a transfer -------------------------------------------------


def scenario_grant_while_online_doors_fill():
    session = session_make(capacity=20)
    people = participants_make(20)
    for person in people[:18]:
        _online(session, person)
    with gate_at("lease.grant_after_read", "G") as gate:
        grant = started("G", lambda: _grant(session, 2))
        gate.wait_for("G")  # it read 2 free places
        assert [_online(session, p) for p in people[18:]] == ["checked_in", "checked_in"]
        assert_capacity_holds(session)
    with pytest.raises(LeaseError) as refused:
        grant.outcome()
    assert refused.value.reason == "no_places_to_lease"
    assert_capacity_holds(session)
    assert _books(session) == (20, 20, 0)


def test_online_doors_taking_the_last_places_while_a_grant_waits_leave_it_nothing():
    scenario_grant_while_online_doors_fill()


def scenario_online_door_while_a_grant_takes_the_last_places():
    session = session_make(capacity=20)
    people = participants_make(19)
    for person in people[:18]:
        _online(session, person)
    with gate_at("check_in.after_claim", "D") as gate:
        door = started("D", lambda: _online(session, people[18]))
        gate.wait_for("D")  # it read the session with 2 free places
        assert _grant(session, 2).lease.granted == 2
        assert_capacity_holds(session)
    assert door.outcome() == "session_full"
    assert_capacity_holds(session)
    assert _books(session) == (18, 18, 2)


def test_an_online_door_waiting_while_a_grant_takes_the_last_places_answers_full():
    scenario_online_door_while_a_grant_takes_the_last_places()


def scenario_online_door_while_a_transfer():
    session = session_make(capacity=20)
    people = participants_make(19)
    lease = _grant(session, 2).lease.pk
    for person in people[:17]:
        _online(session, person)  # 17 inside + 2 leased: one place free
    with gate_at("check_in.after_claim", "D") as gate:
        door = started("D", lambda: _online(session, people[17]))
        gate.wait_for("D")
        synced = _sync(lease, _scan(people[18], "t-1"))().results[0]
        assert synced.reason == "checked_in"
        assert_capacity_holds(session)
    assert door.outcome() == "checked_in"  # the free place was the door's: a transfer took none
    assert_capacity_holds(session)
    assert _books(session) == (19, 19, 1)
    assert _online(session, participants_make(1)[0]) == "session_full"


def test_an_online_door_waiting_while_a_transfer_lands_still_gets_the_free_place():
    scenario_online_door_while_a_transfer()


# --- a stale lease operation completed by the reconcile while its owner wakes up -------------------


def scenario_reconcile_completes_a_stale_admission(pause):
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    (ada,) = participants_make(1)
    with gate_at(pause, "S1") as gate:
        sync = started("S1", _sync(lease, _scan(ada, "s-1")))
        gate.wait_for("S1")
        summary = counters_reconcile(stale_seconds=0)  # presumes the sync dead
        assert summary.ended_ops == 1
        assert_capacity_holds(session)
        assert _books(session) == (1, 1, 2)  # completed toward holding more: inside
    assert sync.outcome().results[0].reason == "checked_in"  # the owner: its admission stands
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 2)
    assert session_leases(session)[1] == {str(lease): 2}


@pytest.mark.parametrize("pause", ["lease.after_claim", "lease.after_transfer"])
def test_a_stale_offline_admission_completed_by_the_reconcile_stands_when_its_owner_wakes(pause):
    scenario_reconcile_completes_a_stale_admission(pause)


# --- a check-out credit racing a repair -----------------------------------------------------------


def scenario_reconcile_fences_a_stale_check_out_before_its_credit():
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    ada, bob = participants_make(2)
    _sync(lease, _scan(ada, "c-1"), _scan(bob, "c-2"))()
    out = _scan(ada, "c-3", "out")
    with gate_at("check_out.after_record", "S1") as gate:
        sync = started("S1", _sync(lease, out))
        gate.wait_for("S1")  # ada leaving, the credit not made
        assert counters_reconcile(stale_seconds=0).ended_ops == 1  # back inside: holding more
        assert_capacity_holds(session)
        assert _books(session) == (2, 2, 1)
    assert sync.outcome().results[0].reason == "check_in_in_progress"  # freed nothing
    assert_capacity_holds(session)
    assert _books(session) == (2, 2, 1)
    assert _sync(lease, out)().results[0].reason == "checked_out"  # the door's next sync
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 2)


def test_a_stale_offline_check_out_fenced_by_the_reconcile_frees_its_place_once():
    scenario_reconcile_fences_a_stale_check_out_before_its_credit()


def scenario_reconcile_finishes_a_stale_check_out_after_its_credit():
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    ada, bob = participants_make(2)
    _sync(lease, _scan(ada, "d-1"), _scan(bob, "d-2"))()
    with gate_at("check_out.after_decrement", "S1") as gate:
        sync = started("S1", _sync(lease, _scan(ada, "d-3", "out")))
        gate.wait_for("S1")  # the credit landed; the record still leaving
        assert counters_reconcile(stale_seconds=0).ended_ops == 1
        assert_capacity_holds(session)
        assert _books(session) == (1, 1, 2)
    assert sync.outcome().results[0].reason == "checked_out"
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 2)


def test_a_stale_offline_check_out_whose_credit_landed_is_finished_once():
    scenario_reconcile_finishes_a_stale_check_out_after_its_credit()


def scenario_retry_takes_over_a_gone_offline_check_out(pause):
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    ada, bob = participants_make(2)
    _sync(lease, _scan(ada, "g-1"), _scan(bob, "g-2"))()
    out = _scan(ada, "g-3", "out")
    with gate_at(pause, "S1") as gate:
        original = started("S1", _sync(lease, out))
        gate.wait_for("S1")
        nonce_age(session, "g-3")
        assert _sync(lease, out)().results[0].reason == "checked_out"
        assert_capacity_holds(session)
        assert _books(session) == (1, 1, 2)
    original.outcome()
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 2)  # the place went back to the lease once


@pytest.mark.parametrize("pause", ["check_out.after_record", "check_out.after_decrement"])
def test_a_retry_that_takes_over_a_gone_offline_check_out_frees_the_place_once(pause):
    scenario_retry_takes_over_a_gone_offline_check_out(pause)


def scenario_credit_then_transfer_between_the_repairs_reads():
    """The counter goes 2 -> 1 -> 2 while the reconcile reads: the same value, other people.

    The reconcile reads the counter (2: Ada and Bob); Ada's offline check-out is credited before
    it reads the records (Bob: truth 1); Cy's offline admission is transferred before it writes.
    A repair conditional on the counter's value alone would write 1 with Bob and Cy inside.
    """
    session = session_make(capacity=50)
    lease = _grant(session, 3).lease.pk
    ada, bob, cy = participants_make(3)
    _sync(lease, _scan(ada, "h-1"), _scan(bob, "h-2"))()
    with (
        gate_at("reconcile.after_session_read", "R") as read_session,
        gate_at("reconcile.after_observe", "R") as read_records,
    ):
        reconcile = started("R", counters_reconcile)
        read_session.wait_for("R")
        assert _sync(lease, _scan(ada, "h-3", "out"))().results[0].reason == "checked_out"
        read_session.open()
        read_records.wait_for("R")
        assert _sync(lease, _scan(cy, "h-4"))().results[0].reason == "checked_in"
        assert_capacity_holds(session)
    summary = reconcile.outcome()
    assert_capacity_holds(session)
    assert summary.repaired == 0
    assert _books(session) == (2, 2, 1)


def test_a_credit_and_a_transfer_between_the_repairs_reads_cannot_fool_it():
    scenario_credit_then_transfer_between_the_repairs_reads()


# --- an offline scan whose online attempt (same nonce) was refused, admitted or is in flight -------
#
# The door sent the check-in online with nonce N, gave up after 2 s and admitted the person
# itself on a leased place, queued with the same N (so an online admission it never heard of is
# not counted twice). The sync must record the person the door let in.


def _door_online(session, person, nonce):
    def call():
        return session_check_in(session_id=session.pk, participant_id=person.pk, nonce=nonce)

    return call


def _fill_online(session, people):
    assert [_online(session, p) for p in people] == ["checked_in"] * len(people)


def scenario_online_refused_then_synced():
    session = session_make(capacity=10)
    lease = _grant(session, 1).lease.pk
    ada, *others = participants_make(10)
    with gate_at("check_in.after_claim", "D") as gate:
        online = started("D", _door_online(session, ada, "n-1"))
        gate.wait_for("D")  # the door gives up waiting and admits Ada on its leased place
        _fill_online(session, others)  # 9 inside + 1 leased: full
    assert online.outcome().reason == "session_full"  # the answer nobody heard
    assert_capacity_holds(session)
    synced = _sync(lease, _scan(ada, "n-1"))().results[0]
    assert (synced.reason, synced.replayed, synced.inside) == ("checked_in", False, True)
    assert_capacity_holds(session)
    assert _books(session) == (10, 10, 0)
    assert session_leases(session)[1] == {str(lease): 0}
    again = _sync(lease, _scan(ada, "n-1"))().results[0]  # a retried sync changes nothing
    assert (again.reason, again.replayed) == ("checked_in", True)
    assert_capacity_holds(session)
    assert _books(session) == (10, 10, 0)


def test_an_offline_admission_whose_online_attempt_was_refused_full_is_admitted_by_the_lease():
    scenario_online_refused_then_synced()


def scenario_online_admitted_then_synced(online_reason):
    session = session_make(capacity=10)
    lease = _grant(session, 1).lease.pk
    (ada,) = participants_make(1)
    if online_reason == "already_checked_in":
        _online(session, ada)  # another door let her in first
    assert _door_online(session, ada, "m-1")().reason == online_reason
    synced = _sync(lease, _scan(ada, "m-1"))().results[0]
    assert (synced.reason, synced.replayed, synced.inside) == (online_reason, True, True)
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 1)  # no leased place used: she is inside on an online one
    assert Lease.objects.get(pk=lease).used == 0


@pytest.mark.parametrize("online_reason", ["checked_in", "already_checked_in"])
def test_an_offline_admission_whose_online_attempt_got_the_person_in_uses_no_place(online_reason):
    scenario_online_admitted_then_synced(online_reason)


def scenario_sync_while_the_online_attempt_decides():
    session = session_make(capacity=10)
    lease = _grant(session, 1).lease.pk
    ada, *others = participants_make(10)
    with gate_at("check_in.after_claim", "D") as gate:
        online = started("D", _door_online(session, ada, "p-1"))
        gate.wait_for("D")
        early = _sync(lease, _scan(ada, "p-1"))().results[0]
        assert early.reason == "check_in_in_progress"  # not a verdict: the door sends it again
        assert_capacity_holds(session)
        assert _books(session) == (0, 0, 1)
        _fill_online(session, others)
    assert online.outcome().reason == "session_full"
    synced = _sync(lease, _scan(ada, "p-1"))().results[0]
    assert (synced.reason, synced.replayed) == ("checked_in", False)
    assert_capacity_holds(session)
    assert _books(session) == (10, 10, 0)


def test_an_offline_admission_synced_while_its_online_attempt_decides_is_admitted_after_it():
    scenario_sync_while_the_online_attempt_decides()


def scenario_sync_takes_over_a_stalled_online_attempt(pause):
    session = session_make(capacity=10)
    lease = _grant(session, 1).lease.pk
    ada, *others = participants_make(10)
    with gate_at(pause, "D") as gate:
        online = started("D", _door_online(session, ada, "q-1"))
        gate.wait_for("D")
        nonce_age(session, "q-1")  # the online request looks gone: the sync takes its nonce over
        synced = _sync(lease, _scan(ada, "q-1"))().results[0]
        assert (synced.reason, synced.inside) == ("checked_in", True)
        assert_capacity_holds(session)
        inside_on_lease = _books(session) == (1, 1, 0)
        assert inside_on_lease or _books(session) == (1, 1, 1)  # its place, or the online one
        _fill_online(session, others if inside_on_lease else others[:8])
        assert _online(session, participants_make(1)[0]) == "session_full"
    assert online.outcome().reason != "checked_in" or not inside_on_lease  # fenced: no 2nd place
    assert_capacity_holds(session)
    books = _books(session)
    assert books == ((10, 10, 0) if inside_on_lease else (9, 9, 1))
    again = _sync(lease, _scan(ada, "q-1"))().results[0]
    assert (again.reason, again.replayed) == ("checked_in", True)
    assert _books(session) == books


@pytest.mark.parametrize("pause", ["check_in.after_claim", "check_in.after_increment"])
def test_a_sync_that_takes_over_a_stalled_online_attempt_admits_once(pause):
    scenario_sync_takes_over_a_stalled_online_attempt(pause)


def scenario_online_check_out_refused_then_synced():
    """The door's online check-out of Ada reached the server before its sync of her offline
    admission (``not_checked_in``); the door, hearing nothing, let her out itself (same nonce)."""
    session = session_make(capacity=10)
    lease = _grant(session, 1).lease.pk
    (ada,) = participants_make(1)
    out = session_check_out(session_id=session.pk, participant_id=ada.pk, nonce="o-2")
    assert out.reason == "not_checked_in"
    synced = _sync(lease, _scan(ada, "o-1"), _scan(ada, "o-2", "out"))().results
    assert [(v.reason, v.replayed) for v in synced] == [
        ("checked_in", False),
        ("checked_out", False),
    ]
    assert_capacity_holds(session)
    assert _books(session) == (0, 0, 1)  # her place went back to the door that reused it
    again = _sync(lease, _scan(ada, "o-1"), _scan(ada, "o-2", "out"))().results
    assert [(v.reason, v.replayed) for v in again] == [("checked_in", True), ("checked_out", True)]
    assert _books(session) == (0, 0, 1)


def test_an_offline_check_out_whose_online_attempt_found_nobody_inside_is_decided_afresh():
    scenario_online_check_out_refused_then_synced()


# --- an original whose work landed but whose verdict was never recorded ---------------------------
#
# Chaos seed 83: a sync's request deadline ran out right after it had admitted Bea on the lease's
# last place, and dropping her scan's undecided entry failed too (MongoDB was slow). Another door
# checked her out; the door's resend took the entry over and, finding her out, admitted her afresh
# from a lease with no room left: ``lease_exhausted`` for a green the door had shown. A retry that
# takes over its original answers the original's verdict if the original's work landed, even when
# the record has moved on since (a check-out, another visit).


def _failing_call(*numbers):
    """An action that fails its calls numbered ``numbers`` (from 1) as a deadline would."""
    calls = [0]

    def action(name):
        calls[0] += 1
        if calls[0] in numbers:
            deadline_runs_out(name)

    return action


def _resend(lease, scans, *nonces):
    """The door's resend, once the nonces' dead owners look gone."""
    session = Lease.objects.get(pk=lease).session
    for nonce in nonces:
        nonce_age(session, nonce)
    return _sync(lease, *scans)().results


def scenario_resend_after_an_admission_landed_and_the_person_left():
    session = session_make(capacity=20)
    lease = _grant(session, 2).lease.pk
    ada, bea = participants_make(2)
    scans = [_scan(ada, "s-1"), _scan(bea, "s-2"), _scan(bea, "s-3", "out")]
    # The deadline runs out after Bea's admission (the 2nd); dropping her entry fails too.
    with (
        armed("lease.after_admit", _failing_call(2)),
        armed("scans.release", deadline_runs_out),
        pytest.raises(pymongo.errors.NetworkTimeout),
    ):
        _sync(lease, *scans)()
    assert _books(session) == (2, 2, 0)  # both admitted, on the lease's two places
    other_door = session_check_out(session_id=session.pk, participant_id=bea.pk)
    assert other_door.reason == "checked_out"

    results = _resend(lease, scans, "s-2")

    assert [(v.reason, v.inside) for v in results] == [
        ("checked_in", True),  # Ada: replayed
        ("checked_in", False),  # Bea: her green stands (she has left since)
        ("not_checked_in", False),  # Bea's offline check-out: the other door let her out first
    ]
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 0)


def test_a_resent_sync_whose_admission_landed_answers_checked_in_though_the_person_left_since():
    scenario_resend_after_an_admission_landed_and_the_person_left()


def scenario_resend_chain_after_an_admission_landed():
    """The same, and the first resend dies too after answering, its verdict not recorded: the
    second resend takes over from the first, which did nothing, and must still find the admission
    the first request made."""
    session = session_make(capacity=10)
    lease = _grant(session, 1).lease.pk
    (bea,) = participants_make(1)
    scans = [_scan(bea, "c-1")]
    with (
        armed("lease.after_admit", deadline_runs_out),
        armed("scans.release", deadline_runs_out),
        pytest.raises(pymongo.errors.NetworkTimeout),
    ):
        _sync(lease, *scans)()
    session_check_out(session_id=session.pk, participant_id=bea.pk)
    with armed("scans.finish", deadline_runs_out):  # the verdict is answered, never recorded
        first = _resend(lease, scans, "c-1")
    second = _resend(lease, scans, "c-1")

    assert [(v.reason, v.inside) for v in first + second] == [
        ("checked_in", False), ("checked_in", False),
    ]  # fmt: skip
    assert_capacity_holds(session)
    assert _books(session) == (0, 0, 0)


def test_a_second_resend_finds_the_admission_its_first_owner_made():
    scenario_resend_chain_after_an_admission_landed()


def scenario_resend_after_a_check_out_landed_and_the_person_came_back():
    """An offline check-out landed (the place went back to the lease) but its verdict was never
    recorded and the answer was lost; Ada came back in through another door. The resend must not
    check her out again: she is inside, and the lease would hold her place twice."""
    session = session_make(capacity=20)
    lease = _grant(session, 2).lease.pk
    (ada,) = participants_make(1)
    _sync(lease, _scan(ada, "k-1"))()
    with armed("scans.finish", deadline_runs_out):
        _sync(lease, _scan(ada, "k-2", "out"))()  # checked out; the door hears nothing
    assert _online(session, ada) == "checked_in"  # back in, through an online door

    (resent,) = _resend(lease, [_scan(ada, "k-2", "out")], "k-2")

    assert (resent.reason, resent.inside) == ("checked_out", True)
    assert_capacity_holds(session)
    assert _books(session) == (1, 1, 2)


def test_a_resent_offline_check_out_that_landed_does_not_check_out_the_next_visit():
    scenario_resend_after_a_check_out_landed_and_the_person_came_back()
