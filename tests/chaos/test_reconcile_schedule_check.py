"""The check "reconcile on schedule after each Celery crash" on hand-made run data (no servers).

Seed 61 (two nodes): after the paused ack at t=311 the only reconcile begun in the window was
killed with its pool child by a later fault (celery_child_kill), and beat could not send the next
one through a Redis failover; beat's first tick after it ran and completed. The check counted
two intervals + 10 s from t=311 only and failed it.
"""

from datetime import datetime

from chaos.fault_checks import fault_checks
from chaos.faults import FaultEvent
from tests.chaos.test_checks import _data

WALL0 = 1_800_000_000.0
NAME = "reconcile on schedule after each Celery crash (within two intervals + 10 s)"


def _run_line(ended: float, duration: float) -> str:
    stamp = datetime.fromtimestamp(WALL0 + ended).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    return (
        f"{stamp} INFO sessions_app.services.reconcile [9557] Reconcile: sessions=3 repaired=0 "
        f"ended_ops=0 reseeded=0 failed=0 redis=ok duration_ms={int(duration * 1000)}\n"
    )


def _check(tmp_path, faults, runs):
    log = tmp_path / "celery-worker.log"
    log.write_text("".join(_run_line(ended, ended - started) for started, ended in runs))
    data = _data([], faults=faults)
    data.wall0, data.worker_log, data.reconcile_interval = WALL0, log, 15
    return next(result for result in fault_checks(data) if result.name == NAME)


AT_ACK = FaultEvent(kind="redis_pause_at_ack", t_start=10.0, t_end=11.0, ok=True, outage=(10, 11))
CHILD_KILL = FaultEvent(
    kind="celery_child_kill", t_start=30.0, t_end=80.0, ok=True,
    notes={"killed_at": WALL0 + 35.0, "task_id": "t1", "child_pid": 1},
)  # fmt: skip
FAILOVER = FaultEvent(kind="redis_failover", t_start=40.0, t_end=60.0, ok=True, outage=(40, 55))


def test_a_reconcile_within_two_intervals_and_10_s_passes(tmp_path):
    assert _check(tmp_path, [AT_ACK], [(20.0, 30.0)]).ok


def test_no_reconcile_in_the_window_and_no_later_fault_fails(tmp_path):
    result = _check(tmp_path, [AT_ACK], [(62.0, 90.0)])  # the window ends at t=51
    assert not result.ok
    assert "1 without a reconcile after: first t=10s redis_pause_at_ack" in result.detail


def test_a_later_fault_that_stopped_reconciles_in_the_window_starts_it_again(tmp_path):
    # The run begun at t=25 was killed at t=35 (no "Reconcile:" line); beat could not send
    # through the failover (t=40-60); the next run began at t=62 and ended at t=90 (< 60 + 40).
    result = _check(tmp_path, [AT_ACK, CHILD_KILL, FAILOVER], [(62.0, 90.0), (95.0, 100.0)])
    assert result.ok, result.detail
    assert "t=10s redis_pause_at_ack by t=100s (t=40s redis_failover)" in result.detail


def test_a_reconcile_late_even_after_the_later_fault_fails(tmp_path):
    result = _check(tmp_path, [AT_ACK, FAILOVER], [(62.0, 105.0)])  # after t=60 + 40
    assert not result.ok


def test_a_later_fault_that_does_not_stop_reconciles_moves_nothing(tmp_path):
    # A web worker's SIGTERM, or one node cut off Redis (the other node's worker runs them).
    term = FaultEvent(kind="worker_term", t_start=20.0, t_end=45.0, ok=True, worker_pid=7)
    cut = FaultEvent(kind="node_partition_redis", t_start=21.0, t_end=50.0, ok=True,
                     partition=(22.0, 50.0), node="b")  # fmt: skip
    assert not _check(tmp_path, [AT_ACK, term, cut], [(62.0, 90.0)]).ok
