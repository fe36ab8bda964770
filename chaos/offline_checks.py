"""The offline doors' invariants (chaos/offline_door.py): leases keep capacity; nothing is lost.

- **Never over capacity, counting leased places**: the sampler (chaos/mongo.py) counts
  ``check_in_count + leased`` and the records inside plus ``leased`` against the capacity at every
  sample, and ``leased`` must equal the sum of ``lease_room`` (one update writes both).
- **No acknowledged scan lost**: every admission an offline door showed green was synced, answered
  as an admission (``checked_in``, or ``already_checked_in``: admitted elsewhere), and its
  participant has a record at the end, still inside in a fill session (nobody checks out there).
  The records decide, not the answer's ``inside``. Nothing is left in a door's queue.
- **Every conflict reported**: every sync result with a conflict is in
  ``GET /api/sessions/{id}/conflicts/`` (by its nonce).
- **A sync whose answer was lost, sent again, changed nothing**: compared with the answer the
  server sent and the door never got (its link kept it), each scan is answered as a replay with
  the same verdict, the same places returned; and no scan is decided twice in the whole run.
- **Every lease returned**: no place leased at the end; each door gave its leases back.
"""

from __future__ import annotations

import json
from collections import Counter

from chaos.netcut import answer_status
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
    if result.get("reason") not in ADMITTED:
        replay = " (a replay of the same nonce's verdict)" if result.get("replayed") else ""
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
    # A session whose list could not be read (None: 503 busy after the reader's retries) is
    # neither "listed" nor "not listed": said apart (seed 61 counted two such as not listed).
    unread = [key for key in answered if data.conflicts.get(key[0], set()) is None]
    missing = [
        key for key in answered if key not in unread and key[1] not in data.conflicts.get(key[0])
    ]
    kinds = Counter(answered.values())
    unread_sessions = sorted({session for session, _nonce in unread})
    return CheckResult(
        "every conflict reported (each in GET /api/sessions/{id}/conflicts/)",
        not missing and not unread,
        f"{len(answered)} conflicts answered by syncs"
        + (f" ({', '.join(f'{k} {v}' for k, v in kinds.most_common())})" if kinds else "")
        + f"; {sum(len(v or ()) for v in data.conflicts.values())} listed; {len(missing)} not listed"
        + (
            f"; {len(unread)} in {len(unread_sessions)} session(s) whose list could not be read "
            f"(not 200 after the reader's retries), e.g. {unread_sessions[0]}"
            if unread_sessions
            else ""
        ),
    )


def _dropped_answer(door, call) -> dict | None:
    """The answer the server sent to ``call`` and the door never got (kept by its link), if 200."""
    if call.dropped_key is None:
        return None
    status, body = answer_status(door.link.dropped.get(call.dropped_key, b""))
    if status != 200:
        return None  # the server did not decide it (a 5xx, or no answer at all)
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _same(first: dict, again: dict) -> bool:
    """A scan answered again as the first time: a replay with the same verdict."""
    if IN_PROGRESS in (first.get("reason"), again.get("reason")):
        return True  # not decided the first time: deciding it now is right
    # Not ``inside``: a replay says where the participant is now (a later scan of the same sync
    # may have checked them out), the verdict and its conflict are the original's.
    keys = ("reason", "conflict")
    return bool(again.get("replayed")) and all(first.get(k) == again.get(k) for k in keys)


def _resend_differs(original: dict, call) -> bool:
    before = {r["nonce"]: r for r in original.get("results") or []}
    if (call.answer_returned or 0) != (original.get("returned") or 0):
        return True
    return any(not _same(before.get(r["nonce"], {}), r) for r in call.results)


def _decided_twice(doors) -> list[str]:
    """Nonces decided (not replayed) by more than one answer, the lost ones included."""
    decided: Counter = Counter()
    for door in doors:
        for call in door.syncs:
            answers = [call.results]
            dropped = _dropped_answer(door, call)
            if dropped is not None:
                answers.append(dropped.get("results") or [])
            for results in answers:
                for r in results:
                    if not r.get("replayed") and r.get("reason") != IN_PROGRESS:
                        decided[r["nonce"]] += 1
    return [nonce for nonce, n in decided.items() if n > 1]


def check_resent_syncs(data: RunData) -> CheckResult:
    """A sync sent again after its answer was lost is answered as the first time, changes
    nothing (no scan decided again, no place returned again); no scan is ever decided twice.

    The first answer is the one the server sent and the door never got (its link kept it).
    """
    doors = data.offline_doors or []
    calls = [call for door in doors for call in door.syncs]
    compared, differ = 0, []
    for door in doors:
        originals = {c.sync_id: c for c in door.syncs if not c.resend}
        for call in door.syncs:
            original = originals.get(call.sync_id)
            first = _dropped_answer(door, original) if call.resend and original else None
            if first is None or call.status != 200:
                continue
            compared += 1
            if _resend_differs(first, call):
                differ.append(call)
    twice = _decided_twice(doors)
    lost = sum(1 for c in calls if c.lost_on_purpose)
    return CheckResult(
        "a sync sent again after its answer was lost changed nothing",
        bool(compared) and not differ and not twice,
        f"{len(calls)} syncs, {sum(1 for c in calls if c.status is None)} unanswered, {lost} of "
        f"them lost on purpose after the server had the request; {compared} sent again and "
        f"compared with the lost answer: {len(differ)} differ; {len(twice)} scans decided twice"
        + (f"; e.g. {differ[0].door} t={differ[0].t:.1f}s" if differ else ""),
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
