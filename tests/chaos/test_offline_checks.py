"""Unit tests of the offline doors' checks on hand-made run data (pure functions, no servers)."""

import asyncio
import json
from collections import Counter
from types import SimpleNamespace

from chaos.checks import check_answered, check_capacity
from chaos.mongo import Sampler, SessionState, Snapshot
from chaos.offline_checks import (
    check_conflicts_reported,
    check_leases_returned,
    check_offline_admissions,
    check_resent_syncs,
)
from chaos.offline_door import BUSY_RETRIES, Decision, SyncCall, conflicts_listed
from tests.chaos.test_checks import _data, _record

INSIDE = {"reason": "checked_in", "inside": True, "replayed": False, "conflict": ""}


def _door(journal=(), syncs=(), *, returned_all=True, queue=()):
    return SimpleNamespace(
        name="offline door 1",
        journal=list(journal),
        syncs=list(syncs),
        queue=list(queue),
        pending={},
        returned_all=returned_all,
        link=SimpleNamespace(cuts=[[1.0, 3.0]]),
    )


def _green(participant="p1", result=INSIDE, nonce="g1"):
    decision = Decision(2.0, "offline door 1", "s1", participant, nonce, "in", "green", "L1")
    decision.result = result
    return decision


def _with(data, *, doors, records=(), leased=0, conflicts=None):
    snap = Snapshot(
        sessions={"s1": SessionState("s1", 2, 1, 1, leased=leased, room=leased)},
        pairs=Counter({("s1", r["participant_id"]): 1 for r in records}),
        records=list(records),
    )
    data.before = data.after = snap
    data.offline_doors = doors
    data.conflicts = conflicts
    return data


def _inside(participant="p1"):
    return {"session_id": "s1", "participant_id": participant, "state": "inside"}


def test_a_green_offline_admission_inside_at_the_end_passes():
    data = _with(_data([]), doors=[_door([_green()])], records=[_inside()])
    assert check_offline_admissions(data).ok


def test_a_green_refused_at_the_sync_is_a_lost_scan():
    refused = {"reason": "session_full", "inside": False, "replayed": True, "conflict": ""}
    data = _with(_data([]), doors=[_door([_green(result=refused)])], records=[])
    result = check_offline_admissions(data)
    assert not result.ok
    assert "answered session_full (a replay of the same nonce's verdict)" in result.detail


def test_a_green_never_synced_or_left_in_the_queue_fails():
    never = _with(_data([]), doors=[_door([_green(result=None)])], records=[_inside()])
    assert "never synced" in check_offline_admissions(never).detail
    queued = _door([_green()], queue=[("decision", {})])
    assert not check_offline_admissions(_with(_data([]), doors=[queued], records=[_inside()])).ok


def test_a_green_of_a_fill_session_not_inside_at_the_end_fails():
    out = {"session_id": "s1", "participant_id": "p1", "state": "out"}
    data = _with(_data([], kind="fill"), doors=[_door([_green()])], records=[out])
    assert "not inside at the end" in check_offline_admissions(data).detail


def _sync(results, *, resend=False, returned=0, answer_returned=0, sync_id="x"):
    return SyncCall(
        1.0, "offline door 1", "L1", "s1", sync_id, [r["nonce"] for r in results], returned,
        status=200, resend=resend, results=results, answer_returned=answer_returned,
    )  # fmt: skip


def test_every_conflict_a_sync_answered_must_be_listed():
    conflict = {**INSIDE, "nonce": "c1", "conflict": "admitted_elsewhere"}
    door = _door(syncs=[_sync([conflict])])
    listed = _with(_data([]), doors=[door], conflicts={"s1": {"c1"}})
    assert check_conflicts_reported(listed).ok
    hidden = _with(_data([]), doors=[door], conflicts={"s1": set()})
    assert not check_conflicts_reported(hidden).ok


def test_a_conflict_in_a_list_never_read_is_unread_not_unlisted():
    # Seed 61: two sessions' lists answered 503 busy to every retry of the reader at the end;
    # their conflicts were counted "not listed", as if the server had not recorded them.
    conflict = {**INSIDE, "nonce": "c1", "conflict": "admitted_elsewhere"}
    door = _door(syncs=[_sync([conflict])])
    unread = check_conflicts_reported(_with(_data([]), doors=[door], conflicts={"s1": None}))
    assert not unread.ok
    assert "0 not listed; 1 in 1 session(s) whose list could not be read" in unread.detail
    # A session without an answered conflict whose list was not read changes nothing.
    other = _with(_data([]), doors=[door], conflicts={"s1": {"c1"}, "s2": None})
    assert check_conflicts_reported(other).ok


def _lost_then_resent(first: dict, again: list[dict], *, again_returned=1):
    """A door whose sync's answer (``first``, kept by its link) was lost, then sent again."""
    original = _sync(first["results"], returned=1)
    original.status, original.lost_on_purpose, original.dropped_key = None, True, 1
    original.results = []  # no answer reached the door
    resend = _sync(again, resend=True, returned=1, answer_returned=again_returned)
    door = _door(syncs=[original, resend])
    raw = json.dumps(first).encode()
    door.link.dropped = {1: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + raw}
    return _with(_data([]), doors=[door])


def test_a_resent_sync_answered_as_its_lost_answer_passes():
    first = {"returned": 1, "results": [{**INSIDE, "nonce": "a"}]}
    data = _lost_then_resent(first, [{**INSIDE, "nonce": "a", "replayed": True}])
    assert check_resent_syncs(data).ok


def test_a_resent_sync_that_decides_a_scan_again_or_returns_more_fails():
    first = {"returned": 1, "results": [{**INSIDE, "nonce": "a"}]}
    anew = _lost_then_resent(first, [{**INSIDE, "nonce": "a"}])
    result = check_resent_syncs(anew)
    assert not result.ok and "1 scans decided twice" in result.detail
    more = [{**INSIDE, "nonce": "a", "replayed": True}]
    assert not check_resent_syncs(_lost_then_resent(first, more, again_returned=2)).ok
    other = [{**INSIDE, "nonce": "a", "replayed": True, "reason": "session_full"}]
    assert not check_resent_syncs(_lost_then_resent(first, other)).ok


def test_places_still_leased_at_the_end_fail():
    assert check_leases_returned(_with(_data([]), doors=[_door()])).ok
    assert not check_leases_returned(_with(_data([]), doors=[_door()], leased=1)).ok
    assert not check_leases_returned(_with(_data([]), doors=[_door(returned_all=False)])).ok


def test_leased_places_count_against_the_capacity_in_the_samples():
    sampler = Sampler(view=SimpleNamespace(snapshot=None), clock=lambda: 1.0)
    full = Snapshot(
        sessions={"s1": SessionState("s1", 2, 1, 1, leased=2, room=2)}, pairs=Counter(), records=[]
    )
    sampler.view.snapshot = lambda: full
    sampler.sample_once()
    assert len(sampler.violations) == 1  # 1 inside + 2 leased > 2
    assert not check_capacity(_data([], sampler=sampler))[0].ok


def test_a_request_an_offline_door_gave_up_on_is_not_an_unanswered_request():
    gave_up = _record(1, t0=1.0, t1=3.0, error="ReadTimeout: timed out")
    gave_up.link = "link:door1"
    result = check_answered(_data([gave_up]))
    assert result.ok and "1 given up by offline doors" in result.detail


class _BusyThenListing:
    """The organiser's conflicts reads: session "busy" answers 503 every time, "s1" lists c1."""

    def __init__(self):
        self.asked = Counter()

    async def conflicts(self, *, session, page):
        self.asked[session] += 1
        if session == "busy":
            return SimpleNamespace(status=503, retry_after=0.001), {"reason": "busy"}
        body = {"results": [{"nonce": "c1"}, {"nonce": "c2:offline"}], "next": None}
        return SimpleNamespace(status=200, retry_after=None), body


def test_the_reader_says_which_lists_it_could_not_read():
    client = _BusyThenListing()
    listed = asyncio.run(conflicts_listed(client, ["s1", "busy"]))
    assert listed == {"s1": {"c1", "c2"}, "busy": None}
    assert client.asked == {"s1": 1, "busy": BUSY_RETRIES}
