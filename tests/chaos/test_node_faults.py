"""The two-node form's fault bookkeeping (chaos/nodes.py, chaos/checks.py, chaos/live_watch.py) on
hand-made run data: pure functions, no servers."""

import threading

import pytest

from chaos import nodes
from chaos.balancer import Backend, Balancer
from chaos.checks import attribute_lost, check_answered
from chaos.fault_base import Fault, FaultEvent
from chaos.faults import KINDS, REDIS_WIDE_KINDS, FaultContext, FaultInjector
from chaos.live_watch import LiveWatcher, check_live_view
from chaos.nodes import NODE_KINDS, node_checks, node_down_windows, partition_evidence
from chaos.profiles import chaos_form
from tests.chaos.test_checks import RESET, _data, _record

NODE_KILL = FaultEvent(kind="node_kill", t_start=10.0, t_end=20.0, ok=True, node_down=(10.0, 16.0))


def test_the_full_form_schedules_every_node_fault_only_with_two_nodes():
    _, two = chaos_form("full", two_nodes=True)
    _, one = chaos_form("full", two_nodes=False)
    _, short = chaos_form("short")
    assert {f.kind for f in two} >= set(NODE_KINDS)
    assert not {f.kind for f in one + short} & set(NODE_KINDS)
    assert set(NODE_KINDS) <= set(KINDS)


def test_node_faults_are_refused_without_a_second_node():
    ctx = FaultContext(
        stack=None, web=None, clock=lambda: 0.0, stale_op_seconds=4, reconcile_interval=10
    )
    with pytest.raises(ValueError, match="two-node form"):
        FaultInjector(ctx, [Fault(1, "node_kill", down=5)])


def test_a_node_kill_excuses_one_lost_request_per_thread_of_each_worker_of_the_node(monkeypatch):
    monkeypatch.setenv("WEB_THREADS", "1")
    first = _record(1, t0=9.9, t1=10.02, error=RESET, nonce="a")
    second = _record(2, t0=9.95, t1=10.03, error=RESET, nonce="b")
    third = _record(3, t0=9.97, t1=10.04, error=RESET, nonce="c")
    retries = [
        _record(10 + i, t0=10.5, t1=10.6, status=201, reason="checked_in", nonce=n, attempt=2)
        for i, n in enumerate("abc")
    ]
    data = _data([first, second, third, *retries], faults=[NODE_KILL])  # workers=(2, 2)
    attributed, unexplained = attribute_lost(data)
    assert attributed == [first, second]
    assert unexplained == [third]
    assert not check_answered(data).ok
    data = _data([first, second, *retries], faults=[NODE_KILL])
    assert check_answered(data).ok


def test_node_down_windows_close_an_open_kill_at_the_end():
    still_down = FaultEvent(kind="node_kill", t_start=30.0, node_down=(30.0, 0.0))
    other = FaultEvent(kind="redis_failover", t_start=5.0, outage=(5.0, 9.0))
    assert node_down_windows([NODE_KILL, still_down, other], end=50.0) == [
        (10.0, 16.0),
        (30.0, 50.0),
    ]


def test_partition_evidence_needs_one_reading_with_a_on_redis_and_b_not():
    assert partition_evidence(
        [(1.0, 200, 200, "connected", "connected"), (1.5, 200, 200, "connected", "disconnected")]
    )
    assert partition_evidence([(1.0, 200, 200, "connected", "degraded")])
    assert not partition_evidence([(1.0, 200, 200, "disconnected", "disconnected")])
    assert not partition_evidence([(1.0, 200, None, "connected", "")])  # b did not answer


def _partition(seen: bool) -> FaultEvent:
    return FaultEvent(
        kind="node_partition_redis",
        t_start=1.0,
        ok=True,
        partition=(1.0, 9.0),
        notes={"one_in_fallback_one_not": seen},
    )


def test_node_checks_fail_a_partition_not_seen_at_once_and_a_kill_not_taken_out():
    kill = FaultEvent(
        kind="node_kill", t_start=10.0, ok=True, node_down=(10.0, 16.0), notes={"taken_out": 11.0}
    )
    answered = _record(1, t0=12.0, t1=12.1, status=201, reason="checked_in")
    good = node_checks(_data([answered], faults=[_partition(True), kill]))
    assert [r.ok for r in good] == [True, True]
    not_out = FaultEvent(kind="node_kill", t_start=10.0, ok=True, node_down=(10.0, 16.0))
    bad = node_checks(_data([answered], faults=[_partition(False), not_out]))
    assert [r.ok for r in bad] == [False, False]
    assert node_checks(_data([answered])) == []  # the single-node form: no such checks


def _cut_during_a_failover(kept: str) -> FaultEvent:
    cut = _partition(False)
    cut.notes["readings"] = [(t, 200, 200, kept, "disconnected") for t in (2.0, 2.5, 3.0)]
    return cut


def test_a_cut_that_landed_in_a_redis_outage_for_both_nodes_is_not_testable_not_failed():
    failover = FaultEvent(kind="redis_failover", t_start=0.5, ok=True, outage=(0.5, 6.0))
    (excused,) = node_checks(
        _data([], faults=[_partition(True), _cut_during_a_failover("disconnected"), failover])
    )
    assert excused.ok
    assert "not testable" in excused.detail and "redis_failover at 0 s" in excused.detail
    # The kept node on Redis at some reading: the cut itself failed to show; no excuse.
    (failed,) = node_checks(
        _data([], faults=[_partition(True), _cut_during_a_failover("connected"), failover])
    )
    assert not failed.ok
    # No Redis fault meanwhile: no excuse either; and a run whose only cut is excused shows nothing.
    (alone,) = node_checks(
        _data([], faults=[_partition(True), _cut_during_a_failover("disconnected")])
    )
    assert not alone.ok
    (only,) = node_checks(_data([], faults=[_cut_during_a_failover("disconnected"), failover]))
    assert not only.ok


def test_a_cut_begun_before_redis_was_back_on_both_nodes_is_not_testable_not_failed():
    late = _cut_during_a_failover("disconnected")
    late.notes.update(calm=False, calm_after=20.2)
    (excused,) = node_checks(_data([], faults=[_partition(True), late]))
    assert excused.ok and "Redis not back on both nodes after 20.2 s" in excused.detail
    late.notes["calm"] = True  # both were on Redis when it began: the cut alone must show
    (failed,) = node_checks(_data([], faults=[_partition(True), late]))
    assert not failed.ok


def _watcher(connects: int, arrival: float) -> LiveWatcher:
    watcher = LiveWatcher("ws://x", "t", "mongodb://x", "db", clock=lambda: 0.0)
    watcher.connects = connects
    watcher.first_seen = {("s1", 2): 11.0}
    watcher.arrivals = {"s1": [(2, arrival)]}
    watcher.final_mismatch = {}
    return watcher


def test_node_b_live_view_may_reconnect_once_per_kill_and_its_downtime_is_not_lag():
    data = _data([], faults=[NODE_KILL])
    data.live = _watcher(1, 11.1)
    data.live_b = _watcher(2, 16.4)  # seen while node b was down, arrived 0.4 s after its return
    node_a, node_b = check_live_view(data)
    assert node_a.ok and node_b.ok
    assert "reconnects only after its node's 1 kills" in node_b.name
    data.live_b = _watcher(3, 16.4)  # one reconnect more than the kills explain
    assert not check_live_view(data)[1].ok
    data.live_b = _watcher(2, 19.0)  # 3 s after the node was back: late
    assert not check_live_view(data)[1].ok


def test_balancer_out_windows_from_its_changes():
    balancer = Balancer([Backend("node-a", 1), Backend("node-b", 2)], fall=1, rise=1)
    balancer.clock = iter([3.0, 9.0]).__next__
    balancer.record(balancer.backends[1], passed=False)
    balancer.record(balancer.backends[1], passed=True)
    assert balancer.out_windows(end=20.0) == {"node-a": [], "node-b": [(3.0, 9.0)]}


def test_the_seed_draws_the_node_each_node_fault_hits_each_node_at_least_once():
    seen = set()
    for seed in range(40):
        _, schedule = chaos_form("full", two_nodes=True, seed=seed)
        for kind in ("node_kill", "node_partition_redis"):
            nodes = [f.node for f in sorted(schedule, key=lambda f: f.at) if f.kind == kind]
            assert len(nodes) == 3
            assert set(nodes) == {"a", "b"}, (seed, kind, nodes)
            seen.add((kind, tuple(nodes)))
        again = chaos_form("full", two_nodes=True, seed=seed)[1]
        assert [f.node for f in again] == [f.node for f in schedule]  # the seed decides
    assert len(seen) > 4  # and different seeds differently


def test_node_down_windows_and_the_live_views_are_per_node():
    kill_a = FaultEvent(
        kind="node_kill", t_start=30.0, t_end=40.0, ok=True, node_down=(30.0, 36.0), node="a"
    )
    assert node_down_windows([NODE_KILL, kill_a], end=50.0, node="b") == [(10.0, 16.0)]
    assert node_down_windows([NODE_KILL, kill_a], end=50.0, node="a") == [(30.0, 36.0)]
    data = _data([], faults=[NODE_KILL, kill_a])
    data.live = _watcher(2, 11.1)  # node a's view: reconnected once, after node a's kill
    data.live_b = _watcher(2, 16.4)
    node_a, node_b = check_live_view(data)
    assert node_a.ok and node_b.ok
    assert "on node a" in node_a.name and "its node's 1 kills" in node_a.name
    data.live = _watcher(1, 11.1)  # never reconnected although its node was killed
    assert not check_live_view(data)[0].ok


def test_web_worker_faults_hit_node_b_while_node_a_is_killed():
    class _Node:
        def __init__(self, web):
            self.web, self.killed = web, False

    a, b = _Node("web"), _Node("web-b")
    ctx = FaultContext(
        stack=None,
        web="web",
        clock=lambda: 0.0,
        stale_op_seconds=4,
        reconcile_interval=10,
        nodes={"a": a, "b": b},
    )
    assert ctx.serving_web() == "web"
    a.killed = True
    assert ctx.serving_web() == "web-b"
    b.killed, a.killed = True, False
    assert ctx.serving_web() == "web"


def test_the_end_waits_for_a_version_whose_count_the_view_already_has():
    """Seed 68: the last sample saw a new version with the same count; the comparison ended at
    once (counts equal), the listener stopped, and that version's lag was infinite."""
    watcher = LiveWatcher("ws://x", "t", "mongodb://x", "db", clock=lambda: 0.0)
    watcher.view = {"s1": (4, 7), "s2": (9, 3)}
    watcher.mongo_counts = {"s1": (5, 7), "s2": (9, 3)}
    assert watcher._mismatch() == {}  # the counts agree...
    assert watcher._behind() == ["s1"]  # ...but s1's version 5 has not reached the client
    watcher._apply({"id": "s1", "version": 5, "check_in_count": 7}, 1.0)
    assert watcher._behind() == []


def test_a_fault_that_takes_redis_from_both_nodes_waits_for_a_cut_to_end():
    """Seed 71: the schedule's Redis restart landed 0.3 s into a node's cut (its calm wait ran
    7.8 s), so every reading saw both nodes off Redis and the cut proved nothing."""
    assert set(REDIS_WIDE_KINDS) >= {"redis_kill", "redis_pause", "redis_restart"}
    assert nodes.wait_for_no_cut(timeout=1.0) == 0.0  # no cut: at once
    nodes._NO_CUT.clear()  # a cut in progress, restored 0.4 s later
    threading.Timer(0.4, nodes._NO_CUT.set).start()
    assert 0.3 <= nodes.wait_for_no_cut(timeout=5.0) < 3.0
    nodes._NO_CUT.clear()  # a cut that never ends: the wait is bounded
    try:
        assert nodes.wait_for_no_cut(timeout=0.2) < 1.0
    finally:
        nodes._NO_CUT.set()
