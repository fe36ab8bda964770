"""A bounded asyncio load driver: door scanners checking people in and out, with replays.

Sessions come in waves (a few fresh sessions become the hot ones every ``wave_seconds``), so places
are being fought over whenever a fault lands. Two kinds of session: ``fill`` sessions only take
check-ins (so each pair can be admitted at most once, and a full verdict means really full), and
``churn`` sessions also see check-outs and re-entries. More participants than places everywhere.
Every loop stops on its own: a request budget, a deadline, and a per-request timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from chaos.api import RecordingClient
from chaos.netcut import CuttableLink
from chaos.offline_door import OfflineDoor

# A request that got no answer is sent again with the same nonce, up to this many lost answers in
# all. The full form kills a gunicorn worker three times within 4.5 s (chaos/profiles.py), and a
# retry of a request whose worker was killed waits for the dead original's claim
# (CHECKIN_IN_FLIGHT_WAIT_SECONDS), so it is the request in service when the next kill comes: one
# door request can be lost in each of the three kills (seed 36: lost at 408, 411 and 412.5 s, never
# retried after the third). A door keeps scanning until it gets an answer; two more attempts than
# the kills of a burst keep the check "every lost request's retry got an answer" meaningful.
RETRY_ATTEMPTS = 5
RETRY_PAUSE = 0.3
# 409 check_in_in_progress (the same check-in is still in flight elsewhere): the door sends it
# again with the same nonce after Retry-After (at most IN_PROGRESS_PAUSE s), this many times.
IN_PROGRESS = "check_in_in_progress"
IN_PROGRESS_RETRIES = 5
IN_PROGRESS_PAUSE = 2.0
# Set-up writes answered 503 (busy: MongoDB slow on the shared machine; seen at load average 9)
# are sent again, each as a new session or participant (the one answered 503 may exist: unused).
SETUP_TRIES = 5
SETUP_RETRY_AFTER = 2.0


@dataclass
class Profile:
    """How much traffic, for how long."""

    name: str
    doors: int  # concurrent door scanners
    duration: float  # seconds of traffic
    max_requests: int
    sessions_per_wave: int
    waves: int
    wave_seconds: float
    participants: int
    capacities: tuple[int, ...]
    reconcile_interval: int = 15  # beat's reconcile (not 30): more runs land during faults
    # Door devices that go offline (chaos/offline_door.py): how many, and their link's stretches
    # up and cut (seconds, uniform between the two).
    offline_doors: int = 0
    online_seconds: tuple[float, float] = (4.0, 10.0)
    cut_seconds: tuple[float, float] = (2.0, 6.0)


@dataclass
class SessionPlan:
    id: str
    capacity: int
    kind: str  # "fill" | "churn"
    wave: int
    candidates: list[Participant] = field(default_factory=list)
    inside: set[str] = field(default_factory=set)  # what this client believes, for check-outs


@dataclass
class Participant:
    id: str
    ticket_code: str


# A targeted check-in stall frees a place itself once this many sessions it believed open
# answered ``session_full`` (seed 83, t 305 s: twelve tries, seven sessions, all full).
STALL_FULL_BEFORE_FREEING = 3


def stall_check_in_target(
    plans: list[SessionPlan], *, wave: int, leased: set[str], full: frozenset[str], rng
) -> tuple[SessionPlan, Participant, str | None] | None:
    """Choose where a targeted check-in stall sends its check-in: (plan, person, freeing).

    Preferably a fill session with exactly one place left (as the doors' answers tell), so the
    stalled admission takes the last place: if the reconcile then lowers the counter, the next
    admission overbooks. This client's view lags the server's (an admission whose answer was lost
    fills a place it never saw), so late in a run every session it believes open may be full:
    the sessions that answered ``full`` are skipped, and once ``STALL_FULL_BEFORE_FREEING`` did,
    a churn session gets a place freed first (``freeing``: someone this client saw admitted,
    checked out just before), which the stalled admission then takes. None if nothing fits.
    """
    if len(full) < STALL_FULL_BEFORE_FREEING:
        open_plans = [
            p for p in plans
            if len(p.inside) < p.capacity and p.id not in leased and p.id not in full
        ]  # fmt: skip
        last_place = [p for p in open_plans if p.kind == "fill" and len(p.inside) == p.capacity - 1]
        pool = [p for p in last_place if p.wave == wave] or last_place or open_plans
        if pool:
            plan = rng.choice(pool)
            outside = [p for p in plan.candidates if p.id not in plan.inside]
            return (plan, rng.choice(outside), None) if outside else None
    churn = [p for p in plans if p.kind == "churn" and p.inside and p.id not in leased]
    if not churn:
        return None
    plan = rng.choice(churn)
    freeing = rng.choice(sorted(plan.inside))
    outside = [p for p in plan.candidates if p.id not in plan.inside]
    return (plan, rng.choice(outside), freeing) if outside else None


class SetupError(RuntimeError):
    """The API refused to create the driver's sessions or participants."""


class LoadDriver:
    """Create the data over the API, then run the doors until the budget or deadline is spent."""

    def __init__(self, client: RecordingClient, profile: Profile, *, seed: int) -> None:
        self.client = client
        self.profile = profile
        self.rng = random.Random(seed)
        self.sessions: list[SessionPlan] = []
        self.participants: list[Participant] = []
        # Every other door is a paired door device (docs/devices.md): (device id, token).
        self.devices: list[tuple[str, str]] = []
        # The first ``profile.offline_doors`` device doors go offline now and then: door index ->
        # its OfflineDoor (with its own cuttable link).
        self.offline: dict[int, OfflineDoor] = {}
        self.issued = 0
        self.deadline = 0.0
        self.stop = asyncio.Event()

    # --- set-up ----------------------------------------------------------------------------------
    async def setup(self) -> None:
        """Create every session (open) and participant through the API, four at a time."""
        profile = self.profile
        now = datetime.now(UTC)
        starts, ends = (now - timedelta(hours=1)).isoformat(), (now + timedelta(days=1)).isoformat()
        gate = asyncio.Semaphore(4)
        run_tag = uuid.uuid4().hex[:6]

        async def make_session(index: int) -> SessionPlan:
            capacity = profile.capacities[index % len(profile.capacities)]
            for attempt in range(SETUP_TRIES):
                async with gate:
                    record, body = await self.client.create_session(
                        title=f"chaos {run_tag} #{index}" + (f" ({attempt})" if attempt else ""),
                        capacity=capacity,
                        starts_at=starts,
                        ends_at=ends,
                    )
                if record.status != 503:
                    break
                await asyncio.sleep(SETUP_RETRY_AFTER)  # busy: the shared machine under load
            if record.status != 201 or not body:
                raise SetupError(f"create session: {record.status} {record.error or body}")
            # Every third session takes check-outs too; the others only fill up.
            kind = "churn" if index % 3 == 2 else "fill"
            return SessionPlan(
                id=str(body["id"]),
                capacity=capacity,
                kind=kind,
                wave=index // profile.sessions_per_wave,
            )

        async def make_participant(index: int) -> Participant:
            for attempt in range(SETUP_TRIES):  # a new address each time: one may have been made
                async with gate:
                    record, body = await self.client.create_participant(
                        full_name=f"Chaos Person {index}",
                        email=f"p{index}.{attempt}.{run_tag}@chaos.example",
                    )
                if record.status != 503:
                    break
                await asyncio.sleep(SETUP_RETRY_AFTER)
            if record.status != 201 or not body:
                raise SetupError(f"create participant: {record.status} {record.error or body}")
            return Participant(id=str(body["id"]), ticket_code=body["ticket_code"])

        total = profile.sessions_per_wave * profile.waves
        self.sessions = list(await asyncio.gather(*(make_session(i) for i in range(total))))
        self.participants = list(
            await asyncio.gather(*(make_participant(i) for i in range(profile.participants)))
        )
        self.devices = await self._pair_devices(run_tag)
        await self._offline_doors()
        for plan in self.sessions:
            # More candidates than places: 3x capacity plus a few, so every session is fought over.
            size = min(len(self.participants), 3 * plan.capacity + 3)
            plan.candidates = self.rng.sample(self.participants, size)

    async def _pair_devices(self, run_tag: str) -> list[tuple[str, str]]:
        """Add half the doors as door devices scoped to the run's sessions, and pair each."""
        sessions = [plan.id for plan in self.sessions]
        devices = []
        for index in range(self.profile.doors // 2):
            record, body = await self.client.create_device(
                name=f"chaos {run_tag} door {index}", sessions=sessions
            )
            if record.status != 201 or not body:
                raise SetupError(f"create device: {record.status} {record.error or body}")
            record, paired = await self.client.pair_device(code=body["pairing_code"])
            if record.status != 200 or not paired:
                raise SetupError(f"pair device: {record.status} {record.error or paired}")
            devices.append((str(paired["device"]), paired["token"]))
        return devices

    async def _offline_doors(self) -> None:
        """Give the first ``offline_doors`` device doors a cuttable link of their own."""
        url = httpx.URL(self.client.base_url)
        count = min(self.profile.offline_doors, len(self.devices))
        for number in range(count):
            index = 2 * number + 1  # odd doors are the device doors (``_door``)
            link = CuttableLink(f"link:door{index}", (url.host, url.port), clock=self.client.now)
            await link.start()
            self.offline[index] = OfflineDoor(self, index, self.devices[number], link)

    # --- traffic ---------------------------------------------------------------------------------
    def _budget_left(self) -> bool:
        return (
            not self.stop.is_set()
            and self.issued < self.profile.max_requests
            and self.client.now() < self.deadline
        )

    def _pick_session(self) -> SessionPlan:
        wave = int(self.client.now() / self.profile.wave_seconds) % self.profile.waves
        hot = [plan for plan in self.sessions if plan.wave == wave]
        if hot and self.rng.random() < 0.85:
            return self.rng.choice(hot)
        return self.rng.choice(self.sessions)

    async def _send_check_in(
        self,
        plan: SessionPlan,
        person: Participant,
        code: str | None,
        nonce: str,
        *,
        duplicate: bool,
        device: tuple[str, str] | None = None,
    ):
        """Send a check-in; send it again with the same nonce (bounded) without an answer, or
        when the answer is 409 check_in_in_progress (after its Retry-After)."""
        record = None
        attempt = lost = in_progress = 0
        while lost < RETRY_ATTEMPTS and in_progress <= IN_PROGRESS_RETRIES:
            attempt += 1
            self.issued += 1
            record, _ = await self.client.check_in(
                session=plan.id,
                participant=person.id,
                ticket_code=code,
                nonce=nonce,
                attempt=attempt,
                duplicate=duplicate,
                device=device,
            )
            if not record.answered:
                lost += 1
                await asyncio.sleep(RETRY_PAUSE)
            elif record.status == 409 and record.reason == IN_PROGRESS:
                in_progress += 1
                await asyncio.sleep(min(record.retry_after or 1.0, IN_PROGRESS_PAUSE))
            else:
                break
        self._note_check_in(plan, record)
        return record

    async def _check_in(
        self,
        plan: SessionPlan,
        person: Participant,
        *,
        ticket: bool,
        device: tuple[str, str] | None = None,
    ) -> None:
        nonce = uuid.uuid4().hex
        code = person.ticket_code if ticket else None
        roll = self.rng.random()
        if roll < 0.05:
            # Two scanners send the very same request at once.
            await asyncio.gather(
                self._send_check_in(plan, person, code, nonce, duplicate=False, device=device),
                self._send_check_in(plan, person, code, nonce, duplicate=True, device=device),
            )
            return
        record = await self._send_check_in(
            plan, person, code, nonce, duplicate=False, device=device
        )
        if record.answered and roll < 0.15 and self._budget_left():
            # The scanner did not see the answer and sends the same request again.
            await self._send_check_in(plan, person, code, nonce, duplicate=True, device=device)

    @staticmethod
    def _note_check_in(plan: SessionPlan, record) -> None:
        if record is not None and record.status in (200, 201):
            plan.inside.add(record.participant)

    async def _check_out(self, plan: SessionPlan, device: tuple[str, str] | None = None) -> None:
        pool = sorted(plan.inside) or [p.id for p in plan.candidates]
        participant = self.rng.choice(pool)
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            self.issued += 1
            record, _ = await self.client.check_out(
                session=plan.id, participant=participant, attempt=attempt, device=device
            )
            if record.answered:
                if record.status == 200:
                    plan.inside.discard(participant)
                return
            await asyncio.sleep(RETRY_PAUSE)

    async def _door(self, index: int) -> None:
        if index in self.offline:
            await self.offline[index].run()
            return
        # Odd doors scan as paired door devices (check-ins and check-outs; reads use the staff
        # token: a device may read nothing).
        device = self.devices[index // 2] if index % 2 and index // 2 < len(self.devices) else None
        while self._budget_left():
            roll = self.rng.random()
            plan = self._pick_session()
            if roll < 0.62:
                person = self.rng.choice(plan.candidates) if plan.candidates else None
                if person is None:
                    continue
                await self._check_in(plan, person, ticket=self.rng.random() < 0.5, device=device)
            elif roll < 0.80:
                churn = [p for p in self.sessions if p.kind == "churn" and p.wave == plan.wave]
                if churn:  # never check out of a fill session: its admissions must stay final
                    await self._check_out(churn[0], device)
            elif roll < 0.92:
                self.issued += 1
                await self.client.session_detail(session=plan.id)
            else:
                self.issued += 1
                await self.client.stats()

    # --- targeted stalls (chaos.stalls) ----------------------------------------------------------
    def stall_request(
        self, target: str, server: tuple[str, str], full: frozenset[str] = frozenset()
    ):
        """Return a coroutine sending one ``target`` request ("check_in" | "check_out") to
        ``server``, chosen so it reaches the gap between the two writes; None if none fits now.

        A check-in goes where ``stall_check_in_target`` says (``full``: the sessions that
        answered this stall's earlier tries ``session_full``). A check-out goes to a churn
        session, for someone the doors saw admitted.
        """
        if target == "check_out":
            churn = [p for p in self.sessions if p.kind == "churn" and p.inside]
            if not churn:
                return None
            plan = self.rng.choice(churn)
            participant = self.rng.choice(sorted(plan.inside))

            async def check_out():
                self.issued += 1
                record, _ = await self.client.check_out(
                    session=plan.id, participant=participant, server=server
                )
                if record.status == 200:
                    plan.inside.discard(participant)
                return record

            return check_out()
        wave = int(self.client.now() / self.profile.wave_seconds) % self.profile.waves
        # Not where an offline door holds a lease: its places count as taken, which these plans
        # (online admissions only) do not see, so a check-in there answers session_full early.
        leased = {session for door in self.offline.values() for session in door.leases}
        target = stall_check_in_target(
            self.sessions, wave=wave, leased=leased, full=full, rng=self.rng
        )
        if target is None:
            return None
        plan, person, freeing = target

        async def check_in():
            if freeing is not None:  # through the main server, like any door's check-out
                self.issued += 1
                out, _ = await self.client.check_out(session=plan.id, participant=freeing)
                if out.status == 200:
                    plan.inside.discard(freeing)
            self.issued += 1
            record, _ = await self.client.check_in(
                session=plan.id,
                participant=person.id,
                ticket_code=None,
                nonce=uuid.uuid4().hex,
                server=server,
            )
            self._note_check_in(plan, record)
            return record

        return check_in()

    async def _health_poller(self, interval: float = 0.5) -> None:
        """Poll /health like a load balancer would (it must answer 200 while MongoDB is up): on a
        fixed interval, whether or not the previous probe has been answered yet (a probe queued
        behind busy web workers must not hide the ones after it)."""
        probes = []
        while self._budget_left():
            self.issued += 1
            probes.append(asyncio.create_task(self.client.health()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=interval)
        await asyncio.gather(*probes)

    async def run(self) -> None:
        """Run all doors (and a /health poller) until the request budget or the deadline is spent."""
        self.deadline = self.client.now() + self.profile.duration
        doors = [asyncio.create_task(self._door(index)) for index in range(self.profile.doors)]
        doors.append(asyncio.create_task(self._health_poller()))
        try:
            # Each request has its own timeout; this is the outer bound for the whole phase.
            await asyncio.wait_for(asyncio.gather(*doors), timeout=self.profile.duration + 60)
        finally:
            self.stop.set()
            for task in doors:
                task.cancel()
            for door in self.offline.values():
                await door.link.close()
