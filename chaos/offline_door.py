"""Chaos doors that go offline: door devices with a lease of places, a queue, and a cuttable link.

Such a door behaves as the door page does offline (docs/door-protocol.md, leases):

- it serves one session at a time (its station: one of the wave's hot sessions); online, it holds
  a lease there and at its next station (``POST /api/sessions/{id}/leases/``), renews them after
  ``renew_after``, and returns a lease once its session is behind it;
- every request goes through its own link (chaos.netcut); the link is cut for random stretches;
- a scan that gets no answer within 2 s, or a 5xx (not 503 ``busy``), is decided here, with the
  same nonce: green "admitted (offline)" while the lease has places left and has not expired (one
  place used), amber "already inside" for someone this door knows inside (not queued: no place
  used), red "full: this door's offline places are used up" (or no lease) (not queued); a
  check-out is queued (the server credits the place back to the lease; this door does not reuse
  it before a sync says so, see ``_decide_out``). Known offline, it decides here at once and
  probes the server every second;
- queued scans are synced oldest first, per lease, before the next scan goes online; a sync whose
  answer was lost is sent again unchanged (same ``sync_id``, same nonces). Some syncs lose their
  answer on purpose (the link is cut as soon as the request has reached the server).

Everything the door showed and every sync it made is kept (``journal``, ``syncs``) for the checks
in chaos/offline_checks.py.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chaos.api import RecordingClient, lease_state
from chaos.netcut import CuttableLink

SCAN_WAIT = 2.0  # the door page's wait for an online answer before it decides here
SYNC_WAIT = 5.0  # a lease call's wait (a sync carries many scans)
PROBE_EVERY = 1.0  # known offline: how often to try the server again
LEASE_ASK = 3  # places asked for per lease (the server may grant fewer)
EXPIRY_MARGIN = 2.0  # stop admitting offline this long before the lease's expires_at
LOSE_ANSWER = 0.25  # the share of syncs whose answer is lost on purpose
IN_PROGRESS = "check_in_in_progress"  # a scan result to send again (its nonce is still deciding)
FINISH_SECONDS = 40.0
BUSY_RETRIES = 10  # reading the conflicts at the end: tries of a page answered 503 busy
OFFLINE_NONCE_SUFFIX = (
    ":offline"  # the server's, for a scan decided offline after an online refusal
)
OFFLINE_PACE = (
    0.2,
    0.6,
)  # seconds between two scans decided here  # after the traffic: time to sync everything and return every lease


@dataclass
class Held:
    """A lease as the door holds it (times on the run clock)."""

    id: str
    session: str
    room: int  # places left, as this door counts them
    expires_at: float
    renew_after: float


@dataclass
class Decision:
    """One scan decided on the door (the journal): what the door showed, and what came of it."""

    t: float
    door: str
    session: str
    participant: str
    nonce: str
    direction: str  # "in" | "out"
    shown: str  # "green" | "amber" | "red" | "queued_out" | "no_lease"
    lease: str | None = None
    result: dict | None = None  # the sync's answer for it, once synced


@dataclass
class SyncCall:
    """One sync request as the door sent it."""

    t: float
    door: str
    lease: str
    session: str
    sync_id: str
    nonces: list[str]
    returned: int
    status: int | None = None
    lost_on_purpose: bool = False
    dropped_key: int | None = None  # the link's key of the answer it kept from the door
    resend: bool = False  # the same sync again after its answer was lost
    results: list[dict] = field(default_factory=list)
    answer_returned: int | None = None


class OfflineDoor:
    """A door device that may go offline; ``run`` scans until the driver's budget is spent."""

    def __init__(self, driver, index: int, device: tuple[str, str], link: CuttableLink) -> None:
        self.driver = driver
        self.client: RecordingClient = driver.client
        self.name = f"offline door {index}"
        self.number = index // 2  # its station in each wave (``_station``)
        self.device = device
        self.link = link
        self.via = (link.name, link.url)
        self.rng = random.Random(driver.rng.random())
        self.profile = driver.profile
        self.offline = False
        self.last_probe = 0.0
        self.next_toggle = 0.0  # set when the run starts (the run clock starts with the traffic)
        self.leases: dict[str, Held] = {}  # session id -> lease held there
        self.no_lease_until: dict[str, float] = {}
        self.known_inside: dict[str, set[str]] = {}
        self.queue: list[tuple[Decision, dict]] = []  # (decision, its sync entry), oldest first
        self.pending: dict[str, SyncCall] = {}  # lease -> a sync whose answer was lost
        self.pending_body: dict[str, list[tuple[Decision, dict]]] = {}
        self.journal: list[Decision] = []
        self.syncs: list[SyncCall] = []
        self.returned_all = False
        self.losing = True  # some sync answers are lost on purpose (not once the run is over)

    def _now(self) -> float:
        return self.driver.client.now()

    # --- the scan loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Scan at this door's station until the budget is spent; then sync and give back."""
        driver = self.driver
        self.next_toggle = self._now() + self.rng.uniform(*self.profile.online_seconds)
        while driver._budget_left():
            self._toggle_link()
            await self._probe()
            plan = self._station()
            await self._upkeep()
            if plan.kind == "churn" and self.rng.random() < 0.3:
                person = self._someone_inside(plan)
                if person is not None:
                    await self._scan(plan, person, "out", by_ticket=False)
                    continue
            if plan.candidates:
                person = self.rng.choice(plan.candidates)
                await self._scan(plan, person, "in", by_ticket=self.rng.random() < 0.5)
        await self.finish()

    def _station(self, ahead: int = 0):
        """The session this door serves now (``ahead``: in a later wave): one of the wave's hot
        sessions, a different one each wave (a door page serves one session; the doors move as
        the event moves)."""
        wave = (int(self._now() / self.profile.wave_seconds) + ahead) % self.profile.waves
        hot = [plan for plan in self.driver.sessions if plan.wave == wave]
        return hot[(self.number + wave) % len(hot)]

    def _someone_inside(self, plan):
        """Someone this door knows inside ``plan`` (else someone the doors saw admitted)."""
        ids = sorted(self.known_inside.get(plan.id) or plan.inside)
        people = {p.id: p for p in plan.candidates}
        ids = [i for i in ids if i in people]
        return people[self.rng.choice(ids)] if ids else None

    def _toggle_link(self) -> None:
        now = self._now()
        if now < self.next_toggle:
            return
        if self.link.is_cut:
            self.link.restore()
            self.next_toggle = now + self.rng.uniform(*self.profile.online_seconds)
        else:
            self.link.cut()
            self.next_toggle = now + self.rng.uniform(*self.profile.cut_seconds)

    async def _scan(self, plan, person, direction: str, *, by_ticket: bool) -> None:
        nonce = uuid.uuid4().hex
        if not self.offline and (self.queue or self.pending):
            await self._flush()  # the queued scans go first (known offline: ``_probe`` does it)
        record = None
        if not self.offline:
            self.driver.issued += 1
            if direction == "in":
                record, _ = await self.client.check_in(
                    session=plan.id,
                    participant=person.id,
                    ticket_code=person.ticket_code if by_ticket else None,
                    nonce=nonce,
                    server=self.via,
                    device=self.device,
                    timeout=SCAN_WAIT,
                )
            else:
                record, _ = await self.client.check_out(
                    session=plan.id,
                    participant=person.id,
                    nonce=nonce,
                    server=self.via,
                    device=self.device,
                    timeout=SCAN_WAIT,
                )
            if _an_answer(record):
                self._note_online(plan, person.id, record)
                return
            self.offline = True
            self.last_probe = self._now()
        if direction == "in":
            self._decide_in(plan, person, nonce, by_ticket)
        else:
            self._decide_out(plan, person, nonce)
        # Decided here in no time: the next person steps up at a human pace.
        await asyncio.sleep(self.rng.uniform(*OFFLINE_PACE))

    def _note_online(self, plan, participant: str, record) -> None:
        inside = self.known_inside.setdefault(plan.id, set())
        if record.op == "check_in" and record.reason in ("checked_in", "already_checked_in"):
            inside.add(participant)
            plan.inside.add(participant)
        elif record.op == "check_out" and record.reason in ("checked_out", "not_checked_in"):
            inside.discard(participant)
            plan.inside.discard(participant)

    # --- deciding here ---------------------------------------------------------------------------
    def _decide_in(self, plan, person, nonce: str, by_ticket: bool) -> None:
        held = self.leases.get(plan.id)
        decision = Decision(self._now(), self.name, plan.id, person.id, nonce, "in", "red")
        self.journal.append(decision)
        if person.id in self.known_inside.get(plan.id, ()):
            decision.shown = "amber"  # already inside, as far as this door knows: no place used
            return
        if held is None:
            decision.shown = "no_lease"
            return
        if held.room < 1 or self._now() >= held.expires_at - EXPIRY_MARGIN:
            return  # red: this door's offline places are used up (or its lease ran out)
        held.room -= 1
        decision.shown, decision.lease = "green", held.id
        self.known_inside.setdefault(plan.id, set()).add(person.id)
        key = {"ticket_code": person.ticket_code} if by_ticket else {"participant": person.id}
        self.queue.append((decision, self._entry(key, nonce, "in")))

    def _decide_out(self, plan, person, nonce: str) -> None:
        """Queue a check-out through the session's lease. The server credits the place back to the
        lease, but only if the person is inside by then; the door counts the place again only when
        a sync or a renewal says so (reusing it at once could admit someone the lease no longer
        covers, had another door checked the person out meanwhile: a green refused at the sync)."""
        held = self.leases.get(plan.id)
        decision = Decision(self._now(), self.name, plan.id, person.id, nonce, "out", "no_lease")
        self.journal.append(decision)
        if held is None:
            return
        decision.shown, decision.lease = "queued_out", held.id
        self.known_inside.get(plan.id, set()).discard(person.id)
        self.queue.append((decision, self._entry({"participant": person.id}, nonce, "out")))

    def _entry(self, key: dict, nonce: str, direction: str) -> dict:
        scanned_at = datetime.now(UTC).isoformat()
        return {**key, "nonce": nonce, "scanned_at": scanned_at, "direction": direction}

    # --- leases and syncs ------------------------------------------------------------------------
    async def _probe(self) -> None:
        """Known offline: try the server again (the queue, or a lease renewal) once a second."""
        if not self.offline or self._now() - self.last_probe < PROBE_EVERY:
            return
        self.last_probe = self._now()
        if self.queue or self.pending:
            await self._flush()
        elif self.leases:
            await self._renew(next(iter(self.leases.values())))
        else:
            self.offline = False  # nothing to say: the next scan tries the server

    async def _upkeep(self) -> None:
        """Online: hold a lease at this door's station and at its next one (taken while that
        session is still empty, as a door set up ahead would), renew when due, give back the
        others."""
        if self.offline or self.queue or self.pending:
            return
        stations = [self._station(), self._station(ahead=1)]
        wanted = {plan.id for plan in stations}
        for held in list(self.leases.values()):
            if held.session not in wanted:
                await self._return(held)
            elif self._now() >= held.renew_after:
                await self._renew(held)
        for plan in stations:
            missing = plan.id not in self.leases and not self.offline
            if missing and self._now() >= self.no_lease_until.get(plan.id, 0.0):
                await self._take(plan.id)

    def _hold(self, session: str, answer: dict) -> Held | None:
        lease = lease_state(answer)
        if not lease or lease.get("state") == "settled":
            self.leases.pop(session, None)
            return None
        now = datetime.now(UTC)
        held = self.leases.get(session)
        room = int(lease.get("room", lease.get("places", 0)))
        expires = _seconds_until(lease.get("expires_at"), now)
        renew = _seconds_until(lease.get("renew_after"), now)
        if held is None or held.id != lease["lease"]:
            held = Held(lease["lease"], session, room, 0.0, 0.0)
            self.leases[session] = held
        if not any(d.lease == held.id for d, _ in self.queue) and held.id not in self.pending:
            held.room = room  # nothing of this door's in flight: the server's count is exact
        held.expires_at = self._now() + expires
        held.renew_after = self._now() + min(renew, expires / 2)
        return held

    async def _take(self, session: str) -> None:
        self.driver.issued += 1
        record, answer = await self.client.lease_take(
            session=session, places=LEASE_ASK, via=self.via, device=self.device, timeout=SYNC_WAIT
        )
        if record.status == 201:
            self._hold(session, answer)
        elif record.answered and record.status < 500:
            self.no_lease_until[session] = self._now() + 2.0  # e.g. no places to lease
        else:
            self.offline = True

    async def _renew(self, held: Held) -> None:
        self.driver.issued += 1
        record, answer = await self.client.lease_renew(
            lease=held.id, session=held.session, via=self.via, device=self.device, timeout=SYNC_WAIT
        )
        if record.status == 200:
            self.offline = False
            self._hold(held.session, answer)
        elif record.answered and record.status < 500:
            self.leases.pop(held.session, None)  # gone (settled): the door asks for a new one
            self.offline = False
        else:
            self.offline = True

    async def _return(self, held: Held) -> None:
        """Give every unused place of ``held`` back (a sync with no scans) and let it go."""
        call = await self._sync(held.session, held.id, [], returned=held.room)
        if call.status == 200:
            self.leases.pop(held.session, None)

    async def _flush(self) -> bool:
        """Sync every queued scan, oldest first, per lease; return True once nothing is left."""
        for lease, call in list(self.pending.items()):
            resent = await self._send(call, self.pending_body[lease], resend=True)
            if resent.status is None or resent.status >= 500:
                return False
        while self.queue:
            lease = self.queue[0][0].lease
            batch = [(d, e) for d, e in self.queue if d.lease == lease]
            session = batch[0][0].session
            call = await self._sync(session, lease, batch, returned=0)
            if call.status is None or call.status >= 500:
                return False
        return True

    async def _sync(self, session: str, lease: str, batch, *, returned: int) -> SyncCall:
        call = SyncCall(
            t=self._now(),
            door=self.name,
            lease=lease,
            session=session,
            sync_id=uuid.uuid4().hex,
            nonces=[e["nonce"] for _, e in batch],
            returned=returned,
        )
        if self.losing and self.rng.random() < LOSE_ANSWER and not self.link.is_cut:
            call.lost_on_purpose = True
            fired = self.link.fired
            self.link.cut_after_request()
            call = await self._send(call, batch)
            if self.link.fired > fired:
                call.dropped_key = self.link.fired  # the answer the server sent, kept by the link
            return call
        return await self._send(call, batch)

    async def _send(self, call: SyncCall, batch, *, resend: bool = False) -> SyncCall:
        if resend:
            fields = {**call.__dict__, "t": self._now(), "resend": True, "results": []}
            call = SyncCall(**{**fields, "lost_on_purpose": False, "dropped_key": None})
        self.syncs.append(call)
        self.driver.issued += 1
        record, answer = await self.client.lease_sync(
            lease=call.lease,
            session=call.session,
            scans=[e for _, e in batch],
            returned=call.returned,
            sync_id=call.sync_id,
            via=self.via,
            device=self.device,
            timeout=SYNC_WAIT,
        )
        call.status = record.status
        if call.lost_on_purpose and self.link.is_cut:
            # The request reached the server and the link went down under its answer: down for a
            # short stretch, then the same sync is sent again.
            self.next_toggle = self._now() + self.rng.uniform(1.0, 3.0)
        self.link.disarm()
        if record.status is None or record.status >= 500:
            self.offline = True
            self.last_probe = self._now()
            self.pending[call.lease] = call
            self.pending_body[call.lease] = batch
            self._unqueue(batch)
            return call
        self.offline = False
        self.pending.pop(call.lease, None)
        self.pending_body.pop(call.lease, None)
        self._unqueue(batch)
        self._settle(call, batch, answer if record.status == 200 else None)
        return call

    def _unqueue(self, batch) -> None:
        sent = {id(d) for d, _ in batch}
        self.queue = [(d, e) for d, e in self.queue if id(d) not in sent]

    def _settle(self, call: SyncCall, batch, answer: dict | None) -> None:
        """Take a sync's answer: each scan's verdict; scans still deciding go back in the queue."""
        results = (answer or {}).get("results") or []
        call.results = results
        call.answer_returned = (answer or {}).get("returned")
        again = []
        for index, (decision, entry) in enumerate(batch):
            result = results[index] if index < len(results) else None
            if result is not None and result.get("reason") == IN_PROGRESS:
                again.append((decision, entry))
                continue
            decision.result = result or {"reason": f"sync answered {call.status}"}
            if decision.direction == "in" and result and result.get("inside"):
                self.known_inside.setdefault(decision.session, set()).add(decision.participant)
        self.queue = again + self.queue
        if answer is not None:
            self._hold(call.session, answer)

    # --- the end of the run ----------------------------------------------------------------------
    async def finish(self) -> None:
        """The network is back for good: sync everything and return every lease (bounded)."""
        self.losing = False
        deadline = self._now() + FINISH_SECONDS
        while self._now() < deadline and not self.driver.stop.is_set():  # set: interrupted
            self.link.restore()  # also after a sync whose answer was lost on purpose
            if await self._flush() and not self.queue:
                for held in list(self.leases.values()):
                    await self._return(held)
                if not self.leases:
                    self.returned_all = True
                    return
            await asyncio.sleep(1.0)


def _an_answer(record) -> bool:
    """Tell whether the door takes the server's answer: any but none or a 5xx; a 503 ``busy`` is
    one (the server is there, overloaded: the door page shows it rather than deciding here)."""
    return record.answered and (record.status < 500 or record.reason == "busy")


def _seconds_until(iso: str | None, now: datetime) -> float:
    if not iso:
        return 60.0
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (when - now).total_seconds()


async def conflicts_listed(
    client: RecordingClient, sessions: list[str]
) -> dict[str, set[str] | None]:
    """Read every page of each session's conflicts; return the nonces listed per session, or
    None for a session whose list could not be read (a page still 503 after the retries, or
    another answer than 200): not read is not "listed nothing"."""
    listed: dict[str, set[str] | None] = {}
    for session in sessions:
        nonces = listed.setdefault(session, set())
        for page in range(1, 51):
            for _attempt in range(BUSY_RETRIES):  # an organiser asks again after a 503 busy
                record, body = await client.conflicts(session=session, page=page)
                if record.status != 503:
                    break
                await asyncio.sleep(record.retry_after or 1.0)
            if record.status != 200 or not isinstance(body, dict):
                listed[session] = None
                break
            # A scan whose online attempt was refused is decided offline under "<nonce>:offline"
            # (sessions_app/services/leases.py): listed, under the door's nonce plus that suffix.
            nonces.update(
                str(row.get("nonce")).removesuffix(OFFLINE_NONCE_SUFFIX)
                for row in body.get("results") or []
            )
            if not body.get("next"):
                break
    return listed
