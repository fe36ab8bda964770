"""The invariants, checked against MongoDB and the record of every request.

Each check returns a CheckResult with the numbers behind it. Strict on purpose: the only requests
allowed to end without an answer are those in flight on a gunicorn worker at the moment it was
SIGKILLed (at most one per kill, since a sync worker serves one request at a time), and each of
those must have been answered when the door retried it with the same nonce.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from chaos.api import Record
from chaos.device_checks import check_device_scans
from chaos.fault_checks import MONGO_GRACE, fault_checks, held_by_a_stall
from chaos.live_watch import check_live_view
from chaos.mongo import HOLDING_STATES, record_inside
from chaos.nodes import node_checks
from chaos.offline_checks import offline_checks
from chaos.offline_door import SCAN_WAIT, SYNC_WAIT
from chaos.run_data import CheckResult, RunData, traffic, web_threads

__all__ = ["CheckResult", "RunData", "run_checks"]

# What a correct server may answer, per operation: (status, reason) pairs; reason None = any.
EXPECTED = {
    # 200 checked_in: the replay of a request (same nonce) that was admitted; 409
    # check_in_in_progress: the original of a retry (or a request for the same participant) is
    # still deciding.
    "check_in": {
        (201, "checked_in"),
        (200, "checked_in"),
        (200, "already_checked_in"),
        (409, "session_full"),
        (409, "check_in_in_progress"),
    },
    "check_out": {(200, "checked_out"), (200, "not_checked_in"), (409, "check_in_in_progress")},
    "session_detail": {(200, None)},
    "stats": {(200, None)},
    "health": {(200, None)},  # 503 only while MongoDB is unreachable (judged with the 5xx)
    # The offline doors' leases (chaos/offline_door.py): a grant may find no place to lease; a
    # renewal may find its lease settled; a sync answers each scan in its body.
    "lease": {(201, None), (409, "no_places_to_lease")},
    "lease_renew": {(200, None), (409, "lease_settled")},
    "lease_sync": {(200, None)},
    "conflicts": {(200, None)},
}
# An error the client sees when the worker serving it dies mid-request.
LOST_ON_KILL = ("RemoteProtocolError", "ReadError")
KILL_WINDOW = 3.0  # seconds after the SIGKILL in which such an error is attributed to it


def attribute_lost(data: RunData) -> tuple[list[Record], list[Record]]:
    """Split unanswered requests into (lost on a SIGKILLed worker or node, or dropped by a stalled
    worker when resumed; unexplained).

    An offline door's requests (through its cuttable link) are left out: without an answer, the
    door decides the scan itself, and chaos/offline_checks.py judges what came of it.
    """
    # A worker kill loses at most the requests its worker served: one per thread (gthread,
    # WEB_THREADS; config/gunicorn.py: worker_connections = threads, keepalive 0); a node kill
    # (the two-node form's node_kill) at most that per gunicorn worker of the node. (Seed 61's
    # smoke run: a check-in and a /health in flight on one SIGKILLed worker.)
    # A stalled worker may drop, when resumed, a connection it had accepted before the stop and
    # not yet read: gthread closes a connection that waited for its request data longer than its
    # timeout, and the clock ran on while it was stopped (seed 61's smoke run: a check-in started
    # 0.1 s before a 9.2 s stall, closed unanswered 0.09 s after the resume).
    # Each: (when the connection ended, the latest start of a request it took, at most how many).
    threads = web_threads()
    losses = [
        (f.t_start, f.t_start + 0.2, threads)
        for f in data.faults
        if f.kind == "worker_kill" and f.worker_pid
    ]
    losses += [
        (f.node_down[0], f.node_down[0] + 0.2, threads * data.workers[1])
        for f in data.faults
        if f.kind == "node_kill" and f.node_down
    ]
    losses += [(f.stall[1], f.stall[0] + 0.2, threads) for f in data.faults if f.stall]
    unanswered = sorted(
        (r for r in traffic(data) if not r.answered and not r.link), key=lambda r: r.t_end
    )
    attributed: list[Record] = []
    used: Counter = Counter()
    for record in unanswered:
        kind = (record.error or "").split(":", 1)[0]
        for loss, (ended, started_by, most) in enumerate(losses):
            in_flight = record.t_start <= started_by and ended - 0.05 <= record.t_end
            if (
                used[loss] < most
                and kind in LOST_ON_KILL
                and in_flight
                and record.t_end <= ended + KILL_WINDOW
            ):
                used[loss] += 1
                attributed.append(record)
                break
    unexplained = [r for r in unanswered if r not in attributed]
    return attributed, unexplained


def _merge(spans: list[tuple[float, float]]) -> list[list[float]]:
    merged: list[list[float]] = []
    for start, end in sorted(spans):  # one person counts once, even if spans overlap
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _peak(events: list[tuple[float, int]]) -> tuple[int, float]:
    inside = peak = 0
    when = 0.0
    for t, delta in sorted(events, key=lambda e: (e[0], e[1])):  # leave before enter at a tie
        inside += delta
        if inside > peak:
            peak, when = inside, t
    return peak, when


def _offline_check_outs(data: RunData) -> dict[tuple, list[tuple[float, float]]]:
    """Return, per (session, participant), each offline door's check-out: when it may have been
    sent, and by when it was surely done.

    An offline door's check-out (queued, synced later) is a check-out sent too: it may have been
    decided by its online attempt, begun up to the door's wait before the door decided it here.
    It is done once a sync carrying it was answered (a sync call lasts at most SYNC_WAIT).
    """
    offline_outs: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for door in data.offline_doors or []:
        synced: dict[str, float] = {}
        for call in door.syncs:
            if call.status == 200:
                for nonce in call.nonces:
                    synced[nonce] = min(synced.get(nonce, float("inf")), call.t + SYNC_WAIT)
        for decision in door.journal:
            if decision.direction == "out":
                key = (decision.session, decision.participant)
                done_by = synced.get(decision.nonce, float("inf"))
                offline_outs[key].append((decision.t - SCAN_WAIT, done_by))
    return offline_outs


def door_occupancy(data: RunData) -> dict[str, tuple[int, float]]:
    """Return, per session, the most participants the doors' own answers prove inside at once.

    A 201 proves the participant inside from its answer on, until a check-out for the pair that
    may have been processed after the admission (any check-out that had not been answered before
    the check-in was sent) is sent. That is a lower bound of the real occupancy, so a peak above
    capacity is a proven overbooking, however short, and whatever the sampler saw.
    """
    by_pair: dict[tuple, list[Record]] = defaultdict(list)
    for r in traffic(data):
        if r.op in ("check_in", "check_out") and r.session:
            by_pair[(r.session, r.participant)].append(r)
    offline_outs = _offline_check_outs(data)
    events: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for (session, participant), records in by_pair.items():
        outs = [r for r in records if r.op == "check_out"]
        spans = []
        for r in records:
            if r.op != "check_in" or r.status != 201:
                continue
            later = [o.t_start for o in outs if not (o.answered and o.t_end < r.t_start)]
            later += [
                sent
                for sent, done_by in offline_outs.get((session, participant), [])
                if done_by >= r.t_start
            ]
            # A check-out still in flight when the check-in was sent may come after it: no proof.
            end = min(later, default=float("inf"))
            if end > r.t_end:
                spans.append((r.t_end, end))
        for start, end in _merge(spans):
            events[session] += [(start, 1), (end, -1)]
    return {session: _peak(evs) for session, evs in events.items()}


def check_capacity(data: RunData) -> list[CheckResult]:
    sampler = data.sampler
    worst = [v for v in sampler.violations][:3]
    sampled = CheckResult(
        "no session over capacity while running, leased places counted (MongoDB samples)",
        sampler.samples > 0 and not sampler.violations,
        f"{sampler.samples} snapshots x {len(data.plans)} sessions; {len(sampler.violations)} over capacity"
        + (f": {worst}" if worst else "")
        + (f"; {len(sampler.errors)} sampling errors" if sampler.errors else ""),
    )
    verdicts = [r for r in traffic(data) if r.count is not None and r.capacity is not None]
    over = [r for r in verdicts if r.count > r.capacity]
    in_verdicts = CheckResult(
        "no session over capacity in any verdict",
        not over,
        f"{len(verdicts)} answers carried count/capacity; {len(over)} over"
        + (f": first seq {over[0].seq} {over[0].count}/{over[0].capacity}" if over else ""),
    )
    capacity = {p.id: p.capacity for p in data.plans}
    peaks = door_occupancy(data)
    door_over = {s: peak for s, peak in peaks.items() if peak[0] > capacity.get(s, 0)}
    first = min(door_over.items(), key=lambda kv: kv[1][1]) if door_over else None
    by_doors = CheckResult(
        "no session over capacity as the doors saw it (201 answered, no check-out sent yet)",
        bool(peaks) and not door_over,
        f"{len(peaks)} sessions admitted someone; {len(door_over)} over capacity"
        + (
            f": first {first[0]} {first[1][0]}/{capacity[first[0]]} at t={first[1][1]:.1f}s"
            if first
            else ""
        ),
    )
    end_over = [
        s
        for snap in (data.before, data.after)
        for s in snap.sessions.values()
        if s.taken > s.capacity or s.inside + s.leased > s.capacity
    ]
    at_end = CheckResult(
        "no session over capacity at the end",
        not end_over,
        f"{len(data.after.sessions)} sessions; {len(end_over)} over"
        + (f": {end_over[:3]}" if end_over else ""),
    )
    return [sampled, by_doors, in_verdicts, at_end]


def check_counter_not_below(data: RunData) -> CheckResult:
    """No counter below its records, at any sample or at the end (before the final reconcile)."""
    sampler = data.sampler
    at_end = [s for s in data.before.sessions.values() if s.counter < s.inside]
    first = sampler.below[0] if sampler.below else None
    return CheckResult(
        "no session's counter ever below its records (MongoDB samples)",
        sampler.samples > 0 and not sampler.below and not at_end,
        f"{sampler.samples} snapshots; {len(sampler.below)} samples with a counter below its "
        f"records in {len({v.session for v in sampler.below})} session(s); {len(at_end)} at the end"
        + (
            f"; first t={first.t:.1f}s session {first.session}: counter {first.counter}, "
            f"{first.inside} inside, capacity {first.capacity}"
            if first
            else ""
        ),
    )


def check_acknowledged(data: RunData) -> CheckResult:
    """Every 2xx check-in has its record; in fill sessions (no check-outs) it is still inside."""
    kinds = {p.id: p.kind for p in data.plans}
    inside = {
        (str(r["session_id"]), str(r["participant_id"]))
        for r in data.after.records
        if record_inside(r)
    }
    acked = [r for r in traffic(data) if r.op == "check_in" and r.status in (200, 201)]
    pairs = {(r.session, r.participant) for r in acked}
    missing = sorted(p for p in pairs if p not in data.after.pairs)
    not_inside = sorted(p for p in pairs if kinds.get(p[0]) == "fill" and p not in inside)
    return CheckResult(
        "every 2xx check-in has its CheckIn record",
        bool(acked) and not missing and not not_inside,
        f"{len(acked)} acknowledged check-ins, {len(pairs)} pairs; {len(missing)} without record; "
        f"{len(not_inside)} fill-session pairs not inside"
        + (f"; e.g. {(missing or not_inside)[0]}" if missing or not_inside else ""),
    )


def check_counted_once(data: RunData) -> CheckResult:
    kinds = {p.id: p.kind for p in data.plans}
    capacity = {p.id: p.capacity for p in data.plans}
    dup_records = {pair: n for pair, n in data.after.pairs.items() if n > 1}
    # One admission per nonce: a replay of a request may repeat its original 201 verdict.
    admitted_nonces: dict[tuple, set] = defaultdict(set)
    checked_out: Counter = Counter()
    lost_checkouts: Counter = Counter()
    for r in traffic(data):
        pair = (r.session, r.participant)
        if r.op == "check_in" and r.status == 201:
            admitted_nonces[pair].add(r.nonce)
        elif r.op == "check_out" and r.reason == "checked_out":
            checked_out[pair] += 1
        elif r.op == "check_out" and (not r.answered or r.status >= 500):
            # No verdict: it may have taken effect (e.g. its first write landed before a stall
            # or an outage made it answer 503).
            lost_checkouts[pair] += 1
    # An offline door's check-out (synced later, or decided by its online attempt) is one too
    # (seed 69: a pair admitted, checked out by an offline door's sync, admitted again).
    for pair, outs in _offline_check_outs(data).items():
        lost_checkouts[pair] += len(outs)
    admitted = Counter({pair: len(nonces) for pair, nonces in admitted_nonces.items()})
    fill_twice = [p for p, n in admitted.items() if kinds.get(p[0]) == "fill" and n > 1]
    churn_twice = [
        p
        for p, n in admitted.items()
        if kinds.get(p[0]) == "churn" and n > checked_out[p] + lost_checkouts[p] + 1
    ]
    per_session: dict[str, int] = defaultdict(int)
    for (session, _), n in admitted.items():
        if kinds.get(session) == "fill" and n:
            per_session[session] += 1
    fill_over = [s for s, n in per_session.items() if n > capacity[s]]
    ok = not (dup_records or fill_twice or churn_twice or fill_over)
    return CheckResult(
        "nobody counted twice",
        ok,
        f"{len(data.after.pairs)} CheckIn pairs, {len(dup_records)} with >1 record; "
        f"{sum(admitted.values())} admissions (201, one per nonce): {len(fill_twice)} fill pairs admitted twice, "
        f"{len(churn_twice)} churn pairs admitted more than check-outs+1, "
        f"{len(fill_over)} fill sessions with more distinct 201s than capacity",
    )


def check_counters(data: RunData) -> CheckResult:
    drift_before = [s for s in data.before.sessions.values() if s.counter != s.inside]
    drift_after = [s for s in data.after.sessions.values() if s.counter != s.inside]
    return CheckResult(
        f"counters equal records ({data.reconciled})",
        not drift_after,
        f"{len(data.after.sessions)} sessions; before reconcile {len(drift_before)} differ, "
        f"after {len(drift_after)} differ"
        + (
            f"; e.g. {drift_after[0].id}: counter {drift_after[0].counter} records {drift_after[0].inside}"
            if drift_after
            else ""
        ),
    )


def check_redis_sets(data: RunData) -> CheckResult:
    """Redis's admission sets (where seeded) hold exactly the participants inside per MongoDB."""
    name = "Redis admission sets equal records" + (
        " (after reconcile)" if data.reconcile_ran else " (no reconcile yet: reported only)"
    )
    if data.redis_sets is None:
        return CheckResult(name, False if data.reconcile_ran else None, "Redis did not answer")
    inside: dict[str, set[str]] = defaultdict(set)
    for r in data.after.records:
        if r.get("state") in HOLDING_STATES:
            inside[str(r["session_id"])].add(str(r["participant_id"]))
    differ = {
        sid: (len(members), len(inside[sid]))
        for sid, members in data.redis_sets.items()
        if sid in data.after.sessions and members != inside[sid]
    }
    unseeded = len(data.after.sessions) - len(set(data.redis_sets) & set(data.after.sessions))
    ok = not differ if data.reconcile_ran else None
    example = next(iter(differ.items()), None)
    return CheckResult(
        name,
        ok,
        f"{len(data.redis_sets)} seeded sets, {unseeded} sessions unseeded (MongoDB decides); "
        f"{len(differ)} differ from the records"
        + (
            f"; e.g. {example[0]}: Redis {example[1][0]} vs MongoDB {example[1][1]}"
            if example
            else ""
        ),
    )


def check_no_5xx(data: RunData) -> CheckResult:
    down = data.mongo_windows(grace=MONGO_GRACE)
    fives = [r for r in traffic(data) if r.status is not None and r.status >= 500]
    held = held_by_a_stall(data, fives)
    # In flight at any moment of a faulted window (a request sent just before a pause waits too).
    counted = [
        r
        for r in fives
        if not any(r.t_start <= b and r.t_end >= a for a, b in down) and r not in held
    ]
    # 503 busy is the honest answer under overload (admission control, or MongoDB answering its
    # ping after the request's deadline ran out): reported, not a failure.
    busy = [r for r in counted if (r.status, r.reason) == (503, "busy")]
    counted = [r for r in counted if r not in busy]
    first = counted[0] if counted else None
    return CheckResult(
        "no 5xx while MongoDB was up (faulted windows + 5 s excepted; 503 busy reported)",
        not counted,
        f"{len(fives)} x 5xx, {len(held)} held past their deadline on a stopped web worker, "
        f"{len(busy)} x 503 busy (overload), {len(counted)} other while MongoDB answered"
        + (
            f"; first: seq {first.seq} {first.method} {first.path} {first.status} at t={first.t_start:.1f}s"
            if first
            else ""
        ),
    )


def check_answered(data: RunData) -> CheckResult:
    requests = traffic(data)
    attributed, unexplained = attribute_lost(data)
    # An offline door's request without an answer (its link cut, or no answer within its 2 s).
    gave_up = [r for r in requests if not r.answered and r.link]
    # A request lost on a killed worker is fine only if its retry (same nonce) got an answer.
    unretried = []
    for lost in attributed:
        retried = any(
            r.answered
            and r.op == lost.op
            and r.session == lost.session
            and r.participant == lost.participant
            and r.nonce == lost.nonce
            and r.attempt > lost.attempt
            for r in requests
        )
        if lost.op in ("check_in", "check_out") and not retried:
            unretried.append(lost)
    kills = sum(1 for f in data.faults if f.kind in ("worker_kill", "node_kill"))
    stalls = sum(1 for f in data.faults if f.stall)
    examples = "; ".join(
        f"seq {r.seq} {r.op} t={r.t_start:.1f}s {r.error}" for r in unexplained[:3]
    )
    return CheckResult(
        "every request got an answer",
        not unexplained and not unretried,
        f"{len(requests)} requests; {len(attributed)} lost on {kills} SIGKILLed worker(s) or "
        f"node(s) or at the resume of {stalls} stalled worker(s) (<={web_threads()} per worker, "
        f"one per thread; all retried: {'yes' if not unretried else 'NO'}); "
        f"{len(gave_up)} given up by offline doors (judged by their checks); "
        f"{len(unexplained)} unexplained" + (f": {examples}" if examples else ""),
    )


def check_verdicts(data: RunData) -> CheckResult:
    unexpected: Counter = Counter()
    for r in traffic(data):
        if not r.answered or r.status >= 500:
            continue  # judged by the two checks above
        allowed = EXPECTED.get(r.op, set())
        if (r.status, r.reason) not in allowed and (r.status, None) not in allowed:
            unexpected[(r.op, r.status, r.reason)] += 1
    return CheckResult(
        "only expected verdicts (no 4xx for valid requests)",
        not unexpected,
        f"{sum(unexpected.values())} unexpected"
        + (f": {dict(unexpected.most_common(4))}" if unexpected else ""),
    )


def check_fallback_admits(data: RunData) -> CheckResult:
    outages = [
        f.outage
        for f in data.faults
        if f.outage and f.kind in ("redis_kill", "redis_pause", "stall_redis_down")
    ]
    admitted = [
        r
        for r in traffic(data)
        if r.op == "check_in" and r.status == 201 and any(a <= r.t_start <= b for a, b in outages)
    ]
    answered = [
        r for r in traffic(data) if r.answered and any(a <= r.t_start <= b for a, b in outages)
    ]
    return CheckResult(
        "admission continues while Redis is down or hung",
        bool(outages) and bool(admitted),
        f"{len(outages)} outages, {sum(b - a for a, b in outages):.1f} s in total: "
        f"{len(answered)} requests answered, {len(admitted)} check-ins admitted",
    )


def check_processes(data: RunData) -> list[CheckResult]:
    dead = [name for name, alive in data.processes.items() if not alive]
    live, configured = data.workers
    faults_failed = [f for f in data.faults if not f.ok]
    return [
        CheckResult(
            "all faults applied as scheduled",
            bool(data.faults) and not faults_failed,
            f"{len(data.faults)} faults, {len(faults_failed)} not applied"
            + (f": {faults_failed[0].kind} {faults_failed[0].outcome}" if faults_failed else ""),
        ),
        CheckResult(
            "stack survived (processes alive, workers replaced)",
            not dead and live == configured,
            f"{', '.join(data.processes)}: {'all alive' if not dead else 'DEAD: ' + ', '.join(dead)}; "
            f"gunicorn workers {live}/{configured}",
        ),
    ]


def check_celery(data: RunData) -> list[CheckResult]:
    """Beat and the worker still do their job once the faults are over (not merely alive)."""
    if data.celery_after is None:
        return []
    during, after = data.celery_after
    return [
        CheckResult(
            "Celery works after the faults (beat's reconcile succeeds on the worker)",
            after is not None,
            f"{during} periodic reconcile runs succeeded during the traffic; the next one "
            + (f"{after:.1f} s after it ended" if after is not None else "never came"),
        )
    ]


def run_checks(data: RunData) -> list[CheckResult]:
    """Run every invariant check; return their results in report order."""
    return [
        *check_capacity(data),
        check_counter_not_below(data),
        check_acknowledged(data),
        check_counted_once(data),
        check_counters(data),
        check_redis_sets(data),
        check_no_5xx(data),
        check_answered(data),
        check_verdicts(data),
        check_fallback_admits(data),
        *check_processes(data),
        *check_celery(data),
        *fault_checks(data),
        *check_live_view(data),
        *node_checks(data),
        *check_device_scans(data),
        *offline_checks(data),
    ]
