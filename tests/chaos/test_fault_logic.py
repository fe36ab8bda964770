"""The fault logic of chaos/celery_faults.py, chaos/stalls.py, chaos/worker_log.py and
chaos/netcut.py that decides where a fault lands: pure functions, and the relay over real TCP."""

import asyncio
import contextlib
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from chaos.api import Record
from chaos.celery_faults import _next_reconcile_received, _task_received_by, holder_pid
from chaos.fault_checks import _celery_checks, held_by_a_stall
from chaos.faults import FaultEvent
from chaos.netcut import CuttableLink
from chaos.stalls import ASK_AGAIN, reconcile_due
from chaos.worker_log import (
    RECONCILE_TASK,
    LogTail,
    broker_lost_since,
    running_task,
    succeeded_since,
    task_events,
)

# Two nodes' workers in one log (devtools.stack): main processes 100 (node a) and 200 (node b),
# pool children 101 and 201.
LOG = f"""\
2026-12-07 04:22:27,867 INFO celery.worker.strategy [200] Task {RECONCILE_TASK}[bbbb-1] received
2026-12-07 04:22:35,664 INFO celery.worker.strategy [100] Task {RECONCILE_TASK}[aaaa-1] received
2026-12-07 04:22:35,871 INFO celery.app.trace [101] Task {RECONCILE_TASK}[aaaa-1] succeeded in 0.2s: {{}}
2026-12-07 04:22:36,953 INFO celery.worker.strategy [100] Task jobs_app.outbox_flush[aaaa-2] received
"""


def test_the_log_tells_which_worker_received_a_task_and_what_each_runs(tmp_path: Path):
    log = tmp_path / "celery-worker.log"
    log.write_text(LOG)
    events = task_events(log)
    assert [(e.id, e.event, e.pid) for e in events] == [
        ("bbbb-1", "received", 200),
        ("aaaa-1", "received", 100),
        ("aaaa-1", "succeeded", 101),
        ("aaaa-2", "received", 100),
    ]
    # Node b's worker is in the middle of its reconcile; node a's last reconcile was skipped and
    # it now runs an outbox flush.
    assert running_task(events, 200).id == "bbbb-1"
    assert running_task(events, 100).task == "jobs_app.outbox_flush"
    assert running_task(events[:3], 100) is None  # finished, nothing taken since
    assert running_task(events, 300) is None


def test_a_worker_that_lost_its_broker_after_receiving_a_task_is_told(tmp_path: Path):
    """kombu restores a worker's unacknowledged tasks when its connection drops: a task received
    before that is not the worker's to reject any more (seed 61: killed then, never redelivered
    within 45 s)."""
    log = tmp_path / "celery-worker.log"
    log.write_text(
        LOG + "2026-12-07 04:22:40,037 WARNING celery.worker.consumer.consumer [200] consumer: "
        "Connection to broker lost. Trying to re-establish the connection...\n"
    )
    received = next(e for e in task_events(log) if e.id == "bbbb-1")
    assert broker_lost_since(log, 200, received.at)
    assert not broker_lost_since(log, 100, received.at)  # the other worker
    assert not broker_lost_since(log, 200, received.at + 60)  # before: not this task's


def test_the_lease_holder_pid_is_read_for_this_host_only():
    assert holder_pid("vm:5917:140638828321664", "vm") == 5917
    assert holder_pid("other:5917:1", "vm") is None
    assert holder_pid("", "vm") is None
    assert holder_pid("vm:x:1", "vm") is None


def test_a_stall_asks_for_a_reconcile_once_stale_then_every_few_seconds():
    assert not reconcile_due(3.9, 4.0, [])
    assert reconcile_due(4.1, 4.0, [])
    assert not reconcile_due(4.1 + ASK_AGAIN - 0.1, 4.0, [4.1])
    assert reconcile_due(4.1 + ASK_AGAIN, 4.0, [4.1])


@contextlib.asynccontextmanager
async def _pinged_through_a_link(serve):
    """A server answering with ``serve``, a CuttableLink to it, and a client that has sent PING
    through the link: yields (link, the client's reader)."""
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    link = await CuttableLink("link:t", server.sockets[0].getsockname()[:2]).start()
    port = int(link.url.rsplit(":", 1)[1])
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"*1\r\n$4\r\nPING\r\n")
            await writer.drain()
            yield link, reader
        finally:
            writer.close()
    finally:
        link.restore()
        await link.close()
        server.close()


def test_a_server_closing_its_connection_closes_the_relayed_one():
    """A Redis killed behind a node's relay: the node's client must see the connection end (it
    saw silence instead, and its broker consumer hung ~19 s after each Redis kill of seed 52)."""

    async def scenario() -> bytes | str:
        async def serve(reader, writer):
            await reader.read(100)
            writer.close()  # the server goes away without answering

        async with _pinged_through_a_link(serve) as (_link, reader):
            try:
                return await asyncio.wait_for(reader.read(100), timeout=3)
            except TimeoutError:
                return "no end seen"

    assert asyncio.run(scenario()) == b""


def test_a_cut_link_still_hides_the_server_closing():
    async def scenario() -> bytes | str:
        closed = asyncio.Event()

        async def serve(reader, writer):
            await reader.read(100)
            await closed.wait()
            writer.close()

        async with _pinged_through_a_link(serve) as (link, reader):
            await asyncio.sleep(0.2)
            link.cut()
            closed.set()
            try:
                return await asyncio.wait_for(reader.read(100), timeout=1)
            except TimeoutError:
                return "silence"

    assert asyncio.run(scenario()) == "silence"


def test_a_stopped_worker_excuses_a_503_for_each_of_its_threads_not_more(monkeypatch):
    """Threaded workers (config/gunicorn.py): a stall may hold one request per thread."""
    monkeypatch.setenv("WEB_THREADS", "2")
    data = SimpleNamespace(faults=[SimpleNamespace(stall=(10.0, 30.0))])
    held = [
        Record(seq=n, op="check_in", method="POST", path="/x/", t_start=9.8, t_end=30.5,
               status=503, reason="busy")
        for n in range(3)
    ]  # fmt: skip
    later = Record(seq=9, op="check_in", method="POST", path="/x/", t_start=12.0, t_end=30.4,
                   status=503, reason="busy")  # fmt: skip
    assert held_by_a_stall(data, [*held, later]) == held[:2]


CHILD_KILLED_THEN_OVERTAKEN = """\
2026-12-07 06:35:32,710 INFO celery.worker.strategy [453] Task sessions_app.reconcile_counters[50b2f1f6-742d-44e3-a8d0-79f8a6d8f118] received
[2026-12-07 06:35:32,882: ERROR/MainProcess] Process 'ForkPoolWorker-1' pid:636 exited with 'signal 9 (SIGKILL)'
2026-12-07 06:35:33,167 INFO celery.worker.strategy [1021] Task sessions_app.reconcile_counters[3c0f657a-bfd8-4f7f-9a5a-cb6e44834f41] received
2026-12-07 06:35:33,200 WARNING jobs_app.services [1207] Lease reconcile_counters taken over from vm:636:1, which no longer runs
2026-12-07 06:35:33,549 INFO celery.worker.strategy [453] Task sessions_app.reconcile_counters[50b2f1f6-742d-44e3-a8d0-79f8a6d8f118] received
2026-12-07 06:35:33,588 INFO sessions_app.services.reconcile [2114] Reconcile skipped: another run holds the lease
2026-12-07 06:35:33,589 INFO celery.app.trace [2114] Task sessions_app.reconcile_counters[50b2f1f6-742d-44e3-a8d0-79f8a6d8f118] succeeded in 0.037s: {'lease_busy': True}
2026-12-07 06:35:36,059 INFO sessions_app.services.reconcile [1207] Reconcile: sessions=117 repaired=0 ended_ops=0 reseeded=0 failed=0 redis=skipped duration_ms=2880
2026-12-07 06:35:36,070 INFO celery.app.trace [1207] Task sessions_app.reconcile_counters[3c0f657a-bfd8-4f7f-9a5a-cb6e44834f41] succeeded in 2.9s: {'sessions': 117}
"""


def _child_kill_check(tmp_path: Path, log: str):
    path = tmp_path / "celery-worker.log"
    path.write_text(log)
    killed_at = datetime(2026, 12, 7, 6, 35, 32, 882000).timestamp()
    fault = FaultEvent(kind="celery_child_kill", t_start=10.0, t_end=11.0, ok=True)
    fault.notes.update(killed_at=killed_at, task_id="50b2f1f6-742d-44e3-a8d0-79f8a6d8f118")
    data = SimpleNamespace(faults=[fault], worker_log=path, restarts=[], wall0=killed_at - 10.0,
                           reconcile_interval=30.0)  # fmt: skip
    (result,) = [r for r in _celery_checks(data) if "pool child was killed" in r.name]
    return result


def test_a_killed_reconcile_whose_lease_another_run_took_over_and_completed_is_complete(tmp_path):
    """Seed 62: the redelivered task skipped (the lease was held) by the run that completed it."""
    assert _child_kill_check(tmp_path, CHILD_KILLED_THEN_OVERTAKEN).ok


# Seed 93 (times as logged): the run that took the lease over began waiting for it 42 ms before
# the kill (its start, its end less its duration_ms, is before the kill), took it over 217 ms
# after and completed; the redelivered task skipped.
CHILD_KILLED_WHILE_ANOTHER_RUN_WAITED = """\
2026-12-07 21:47:35,813 INFO celery.worker.strategy [13419] Task sessions_app.reconcile_counters[b43b85bc-35ea-47e0-aa5f-062104bbeb3a] received
2026-12-07 21:47:40,663 INFO celery.worker.strategy [12189] Task sessions_app.reconcile_counters[d0aa77e0-fb9b-40b0-9683-a97005fcedce] received
[2026-12-07 21:47:40,864: ERROR/MainProcess] Process 'ForkPoolWorker-1' pid:13649 exited with 'signal 9 (SIGKILL)'
2026-12-07 21:47:41,081 WARNING jobs_app.services [12524] Lease reconcile_counters taken over from vm:13649:139703879814016, which no longer runs
2026-12-07 21:47:41,081 INFO celery.worker.strategy [13419] Task sessions_app.reconcile_counters[b43b85bc-35ea-47e0-aa5f-062104bbeb3a] received
2026-12-07 21:47:41,241 INFO sessions_app.services.reconcile [13964] Reconcile skipped: another run holds the lease
2026-12-07 21:47:41,242 INFO celery.app.trace [13964] Task sessions_app.reconcile_counters[b43b85bc-35ea-47e0-aa5f-062104bbeb3a] succeeded in 0.14s: {'lease_busy': True}
2026-12-07 21:47:55,080 INFO sessions_app.services.reconcile [12524] Reconcile: sessions=117 repaired=0 ended_ops=1 reseeded=0 failed=0 redis=skipped duration_ms=14258
2026-12-07 21:47:55,088 INFO celery.app.trace [12524] Task sessions_app.reconcile_counters[d0aa77e0-fb9b-40b0-9683-a97005fcedce] succeeded in 14.4s: {'sessions': 117}
"""


def test_a_killed_reconcile_whose_lease_a_waiting_run_took_over_is_complete(tmp_path):
    path = tmp_path / "celery-worker.log"
    path.write_text(CHILD_KILLED_WHILE_ANOTHER_RUN_WAITED)
    killed_at = datetime(2026, 12, 7, 21, 47, 40, 864000).timestamp()
    fault = FaultEvent(kind="celery_child_kill", t_start=196.0, t_end=197.0, ok=True)
    fault.notes.update(
        killed_at=killed_at, task_id="b43b85bc-35ea-47e0-aa5f-062104bbeb3a", child_pid=13649
    )
    data = SimpleNamespace(faults=[fault], worker_log=path, restarts=[], wall0=killed_at - 196.0,
                           reconcile_interval=30.0)  # fmt: skip
    (result,) = [r for r in _celery_checks(data) if "pool child was killed" in r.name]
    assert result.ok, result.detail
    fault.notes["child_pid"] = 4242  # the lease taken over from another process: not this kill's
    (result,) = [r for r in _celery_checks(data) if "pool child was killed" in r.name]
    assert not result.ok and "NOT a complete reconcile" in result.detail


def test_a_killed_reconcile_that_nobody_completed_is_not(tmp_path):
    never_completed = "\n".join(
        line for line in CHILD_KILLED_THEN_OVERTAKEN.splitlines() if "duration_ms" not in line
    )
    result = _child_kill_check(tmp_path, never_completed + "\n")
    assert not result.ok and "NOT a complete reconcile" in result.detail


def test_the_events_after_the_reconcile_received_stay_to_be_read(tmp_path):
    """Seed 63: "received" and "succeeded" came in one read; the "succeeded" was dropped."""
    log = tmp_path / "celery-worker.log"
    log.write_text("")
    tail = LogTail(log)
    log.write_text(
        "2026-12-07 06:45:54,854 INFO celery.worker.strategy [12050] Task "
        "sessions_app.reconcile_counters[8e928e74-e049-44a2-a5ae-80f532d8b63a] received\n"
        "2026-12-07 06:45:54,863 INFO celery.app.trace [12261] Task "
        "sessions_app.reconcile_counters[8e928e74-e049-44a2-a5ae-80f532d8b63a] succeeded in 0.0077s\n"
    )
    found = _next_reconcile_received(tail, time.monotonic() + 1)
    assert (found.id, found.pid) == ("8e928e74-e049-44a2-a5ae-80f532d8b63a", 12050)
    assert [(e.id, e.event) for e in tail.new_task_events()] == [(found.id, "succeeded")]
    assert tail.new_task_events() == []


# Seed 66 (celery-worker.log, pids as there): reconcile 09664ffb ran and succeeded twice before;
# its acknowledgement met a restarted Redis, so the message was restored and delivered a third
# time at 07:28:22,986; its pool child was running that delivery when the fault killed it.
REDELIVERED = """\
2026-12-07 07:27:37,295 INFO celery.worker.strategy [27065] Task sessions_app.reconcile_counters[09664ffb-d977-4d0b-9c73-60a0b7f3da99] received
2026-12-07 07:27:37,546 INFO celery.app.trace [27257] Task sessions_app.reconcile_counters[09664ffb-d977-4d0b-9c73-60a0b7f3da99] succeeded in 0.2s: {}
2026-12-07 07:28:22,986 INFO celery.worker.strategy [27065] Task sessions_app.reconcile_counters[09664ffb-d977-4d0b-9c73-60a0b7f3da99] received
"""


def test_an_earlier_delivery_of_the_same_task_is_not_this_ones_outcome(tmp_path: Path):
    """Seeds 65 and 66: the fault read the first delivery's "succeeded" as the running one's
    and gave up with "each of 3 reconciles finished before the kill"."""
    log = tmp_path / "celery-worker.log"
    log.write_text(REDELIVERED)
    events = task_events(log)
    running = running_task(events, 27065)
    assert running is not None and running.at == events[-1].at  # the third delivery runs
    assert succeeded_since(events, running.id, running.at) == []
    assert len(succeeded_since(events, running.id, events[0].at)) == 1


def test_a_killed_reconcile_delivered_before_counts_only_what_ran_after_the_kill(tmp_path):
    """The same task id succeeded once before this delivery: the check counts after the kill."""
    earlier = (
        "2026-12-07 06:34:02,100 INFO celery.worker.strategy [453] Task sessions_app."
        "reconcile_counters[50b2f1f6-742d-44e3-a8d0-79f8a6d8f118] received\n"
        "2026-12-07 06:34:02,300 INFO celery.app.trace [636] Task sessions_app."
        "reconcile_counters[50b2f1f6-742d-44e3-a8d0-79f8a6d8f118] succeeded in 0.2s: {}\n"
    )
    result = _child_kill_check(tmp_path, earlier + CHILD_KILLED_THEN_OVERTAKEN)
    assert result.ok, result.detail
    assert "succeeded 1 time(s) after the kill" in result.detail


# Seed 67: the child killed at 08:03:54,081 mid-run; its task requeued on the master the
# Sentinels lost 6 s later (redis_failover); never delivered again; beat's next reconcile ran.
KILLED_THEN_MASTER_LOST = """\
2026-12-07 08:03:44,074 INFO celery.worker.strategy [12159] Task sessions_app.reconcile_counters[ac6626ad-c4a4-436f-9f39-24d0e4eceff4] received
[2026-12-07 08:03:54,081: ERROR/MainProcess] Process 'ForkPoolWorker-1' pid:12406 exited with 'signal 9 (SIGKILL)'
2026-12-07 08:04:18,618 INFO celery.worker.strategy [8069] Task sessions_app.reconcile_counters[5db97e63-a833-4292-92bc-135346917270] received
2026-12-07 08:04:18,729 WARNING jobs_app.services [8270] Lease reconcile_counters taken over from vm:12406:1, which no longer runs
2026-12-07 08:04:29,342 INFO sessions_app.services.reconcile [8270] Reconcile: sessions=117 repaired=0 ended_ops=0 reseeded=0 failed=0 redis=skipped duration_ms=10632
2026-12-07 08:04:29,365 INFO celery.app.trace [8270] Task sessions_app.reconcile_counters[5db97e63-a833-4292-92bc-135346917270] succeeded in 10.7s: {}
"""


def _lost_task_check(tmp_path: Path, log: str, *others: FaultEvent):
    path = tmp_path / "celery-worker.log"
    path.write_text(log)
    killed_at = datetime(2026, 12, 7, 8, 3, 54, 81000).timestamp()
    fault = FaultEvent(kind="celery_child_kill", t_start=190.0, t_end=241.0, ok=True)
    fault.notes.update(killed_at=killed_at, task_id="ac6626ad-c4a4-436f-9f39-24d0e4eceff4")
    data = SimpleNamespace(faults=[fault, *others], worker_log=path, restarts=[],
                           wall0=killed_at - 196.0, reconcile_interval=30.0)  # fmt: skip
    (result,) = [r for r in _celery_checks(data) if "pool child was killed" in r.name]
    return result


def test_a_requeued_reconcile_lost_with_the_master_is_covered_by_the_next_complete_run(tmp_path):
    failover = FaultEvent(kind="redis_failover", t_start=202.0, t_end=228.0, ok=True)
    result = _lost_task_check(tmp_path, KILLED_THEN_MASTER_LOST, failover)
    assert result.ok, result.detail
    assert (
        "lost with Redis's data (redis_failover at t=202s, 6.0 s after the kill)" in result.detail
    )
    assert "a complete reconcile began 24.6 s after the kill" in result.detail


def test_a_killed_reconcile_never_run_again_without_redis_losing_data_fails(tmp_path):
    pause = FaultEvent(kind="redis_pause", t_start=202.0, t_end=206.0, ok=True)
    result = _lost_task_check(tmp_path, KILLED_THEN_MASTER_LOST, pause)
    assert not result.ok and "succeeded 0 time(s) after the kill" in result.detail


def test_a_lost_reconcile_with_no_complete_run_after_the_kill_fails(tmp_path):
    failover = FaultEvent(kind="redis_failover", t_start=202.0, t_end=228.0, ok=True)
    no_run = "\n".join(x for x in KILLED_THEN_MASTER_LOST.splitlines() if "duration_ms" not in x)
    result = _lost_task_check(tmp_path, no_run + "\n", failover)
    assert not result.ok and "NO complete reconcile after the kill" in result.detail


def test_only_the_acknowledging_workers_own_receipt_counts(tmp_path):
    """Seed 69: the probe taken by the other node's worker (30568) said nothing of the worker
    whose ack had failed (32216), which took no task for 17 s."""
    log = tmp_path / "celery-worker.log"
    log.write_text("")
    tail = LogTail(log)
    log.write_text(
        "2026-12-07 08:19:53,038 INFO celery.worker.strategy [30568] Task "
        "sessions_app.reconcile_counters[56ddb217-2aa8-4273-abd7-6c66b7e67f5a] received\n"
    )
    assert not _task_received_by(tail, 32216, time.monotonic() + 0.3)
    with log.open("a") as f:
        f.write(
            "2026-12-07 08:20:01,835 INFO celery.worker.strategy [32216] Task "
            "sessions_app.reconcile_counters[6439f1ad-4e25-4c89-891f-ea59847f5631] received\n"
        )
    assert _task_received_by(tail, 32216, time.monotonic() + 0.3)
