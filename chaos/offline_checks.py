"""The offline doors' invariants (chaos/offline_door.py): leases keep capacity; nothing is lost.

- **Never over capacity, counting leased places**: the sampler (chaos/mongo.py) counts
  ``check_in_count + leased`` and the records inside plus ``leased`` against the capacity at every
  sample, and ``leased`` must equal the sum of ``lease_room`` (one update writes both).
- **No acknowledged scan lost**: every admission an offline door showed green was synced, answered
  inside (or already inside: admitted elsewhere), and its participant has a record at the end,
  still inside in a fill session (nobody checks out there). Nothing is left in a door's queue.
- **Every conflict reported**: every sync result with a conflict is in
  ``GET /api/sessions/{id}/conflicts/`` (by its nonce).
- **A sync whose answer was lost, sent again, changed nothing**: each scan answered as a replay
  (or as still deciding), the same places returned.
- **Every lease returned**: no place leased at the end; each door gave its leases back.
"""

from __future__ import annotations

from collections import Counter

from chaos.run_data import CheckResult, RunData

ADMITTED = ("checked_in", "already_checked_in")
IN_PROGRESS = "check_in_in_progress"


def check_room_matches(data: RunData) -> CheckResult:
    sampler = data.sampler
    first = sampler.room_mismatch[0] if sampler.room_mismatch else None
    return CheckResult(
        "leased places equal the sum of the leases' rooms (MongoDB samples)",
        sampler.samples > 0 and not sampler.room_mismatch,
        f"{sampler.samples} snapshots, {sampler.leased_seen} session samples with places leased; "
        f"{len(sampler.room_mismatch)} where leased != sum(lease_room)"
        + (f"; first t={first.t:.1f}s session {first.session}" if first else ""),
    )


def _lost(decision, kinds: dict, inside: set, pairs) -> str | None:
    """Say why a green admission is lost, or None if its participant is accounted for."""
    result = decision.result
    if result is None:
        return "never synced"
    if result.get("reason") not in ADMITTED or not result.get("inside"):
        replay = " (a replay)" if result.get("replayed") else ""
        return f"answered {result.get('reason')}{replay}"
    pair = (decision.session, decision.participant)
    if pair not in pairs:
        return "no record"
    if kinds.get(decision.session) == "fill" and pair not in inside:
        return "not inside at the end (fill session)"
    return None


def check_offline_admissions(data: RunData) -> CheckResult:
    """Every green the offline doors showed is inside (or was: churn sessions) at the end."""
    doors = data.offline_doors or []
    decisions = [d for door in doors for d in door.journal]
    greens = [d for d in decisions if d.shown == "green"]
    kinds = {p.id: p.kind for p in data.plans}
    inside = {
        (str(r["session_id"]), str(r["participant_id"]))
        for r in data.after.records
        if r.get("state") == "inside"
    }
    lost = Counter()
    example = None
    for decision in greens:
        why = _lost(decision, kinds, inside, data.after.pairs)
        if why:
            lost[why] += 1
            example = example or f"{decision.door} t={decision.t:.1f}s nonce {decision.nonce}"
    queued = sum(len(door.queue) + len(door.pending) for door in doors)
    shown = Counter(d.shown for d in decisions)
    return CheckResult(
        "no acknowledged offline admission lost (each green synced, inside at the end)",
        bool(greens) and not lost and not queued,
        f"{len(doors)} offline doors decided {len(decisions)} scans here: "
        + ", ".join(f"{k} {v}" for k, v in sorted(shown.items()))
        + f"; {len(greens) - sum(lost.values())} of {len(greens)} greens inside; "
        + (f"LOST: {dict(lost)}, e.g. {example}; " if lost else "")
        + f"{queued} left unsynced",
    )


def check_conflicts_reported(data: RunData) -> CheckResult:
    """Every conflict a sync answered is listed at GET /api/sessions/{id}/conflicts/."""
    answered = {
        (call.session, result["nonce"]): result["conflict"]
        for door in data.offline_doors or []
        for call in door.syncs
        for result in call.results
        if result.get("conflict")
    }
    if data.conflicts is None:
        return CheckResult("every conflict reported", None, "the conflicts were not read")
    missing = [key for key in answered if key[1] not in data.conflicts.get(key[0], set())]
    kinds = Counter(answered.values())
    return CheckResult(
        "every conflict reported (each in GET /api/sessions/{id}/conflicts/)",
        not missing,
        f"{len(answered)} conflicts answered by syncs"
        + (f" ({', '.join(f'{k} {v}' for k, v in kinds.most_common())})" if kinds else "")
        + f"; {sum(len(v) for v in data.conflicts.values())} listed; {len(missing)} not listed",
    )


def check_resent_syncs(data: RunData) -> CheckResult:
    """A sync sent again after its answer was lost changes nothing: replays, same return."""
    calls = [call for door in data.offline_doors or [] for call in door.syncs]
    first = {}
    for call in calls:
        if not call.resend:
            first.setdefault(call.sync_id, call)
    resent = [c for c in calls if c.resend and c.status == 200]
    bad = []
    for call in resent:
        fresh = [
            r for r in call.results if not r.get("replayed") and r.get("reason") != IN_PROGRESS
        ]
        original = first.get(call.sync_id)
        returned_again = (call.answer_returned or 0) > original.returned if original else False
        if fresh or returned_again:
            bad.append(call)
    lost = sum(1 for c in calls if c.lost_on_purpose)
    unanswered = sum(1 for c in calls if c.status is None)
    return CheckResult(
        "a sync sent again after its answer was lost changed nothing",
        bool(resent) and not bad,
        f"{len(calls)} syncs, {unanswered} unanswered ({lost} answers lost on purpose); "
        f"{len(resent)} sent again and answered: {len(bad)} decided a scan anew or returned more"
        + (f"; e.g. {bad[0].door} t={bad[0].t:.1f}s" if bad else ""),
    )


def check_leases_returned(data: RunData) -> CheckResult:
    doors = data.offline_doors or []
    leased = {s.id: s.leased for s in data.before.sessions.values() if s.leased}
    kept = [door.name for door in doors if not door.returned_all]
    cut = sum(len(door.link.cuts) for door in doors)
    seconds = sum(
        end - start for door in doors for start, end in door.link.cuts if end != float("inf")
    )
    return CheckResult(
        "every lease returned at the end (no place leased)",
        bool(doors) and not leased and not kept,
        f"{len(doors)} offline doors, cut {cut} times ({seconds:.0f} s in all); "
        f"{len(leased)} sessions with places still leased; {len(kept)} doors kept a lease"
        + (f": {', '.join(kept)}" if kept else ""),
    )


def offline_checks(data: RunData) -> list[CheckResult]:
    """The offline doors' checks (none when the run has no offline doors)."""
    if not data.offline_doors:
        return []
    return [
        check_room_matches(data),
        check_offline_admissions(data),
        check_conflicts_reported(data),
        check_resent_syncs(data),
        check_leases_returned(data),
    ]
