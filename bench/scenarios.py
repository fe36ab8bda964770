"""The benchmark's measurements, each a function of a running Bench (stack, clients, data)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis

from bench.load import aggregate, closed_loop, summarize
from bench.scale import PARTICIPANTS, participant_doc
from chaos.api import Record, RecordingClient
from chaos.mongo import CHECKINS, SESSIONS, MongoView
from devtools.stack import Gunicorn, Stack

CONCURRENCY = 4  # clients per measured server: two per gunicorn worker keeps both busy
# A set-up request (a session to measure in, the places that fill a session) answered 503 (busy:
# the admission limit; database_unavailable: the request deadline or fail-fast) or 429 is sent
# again after its Retry-After, as a client should, up to this many times in all; then the run
# fails, naming every answer. A measured request is never sent again: its answer is the figure.
SETUP_ATTEMPTS = 5
SETUP_RETRY_STATUSES = frozenset({429, 503})
SETUP_RETRY_MAX_WAIT = 10.0  # seconds: a longer Retry-After is cut to this


@dataclass
class Bench:
    """Everything a scenario needs; ``clients`` maps a variant name to its recording client."""

    stack: Stack
    webs: dict[str, Gunicorn]
    clients: dict[str, RecordingClient]
    view: MongoView
    participants: list[tuple[str, str]] = field(default_factory=list)  # (id, ticket_code)
    runs: int = 5
    log: list[str] = field(default_factory=list)

    def now(self) -> float:
        return next(iter(self.clients.values())).now()

    def say(self, message: str) -> None:
        print(f"[bench] {message}", flush=True)


# --- data ---------------------------------------------------------------------------------------
async def create_participants(bench: Bench, count: int) -> None:
    """Write ``count`` participants straight into MongoDB (set-up, not a measurement).

    Raw writes, as ``bench.scale`` does: creating them over the API under the machine's load
    could meet the request deadline and fail the run before it measured anything.
    """
    docs = [participant_doc() for _ in range(count)]
    await asyncio.to_thread(bench.view.db[PARTICIPANTS].insert_many, docs, ordered=False)
    bench.participants = [(str(d["_id"]), d["ticket_code"]) for d in docs]


async def setup_send(
    what: str,
    send: Callable[[], Awaitable[tuple[Record, dict | None]]],
    *,
    ok: frozenset[int] = frozenset({201}),
    attempts: int = SETUP_ATTEMPTS,
) -> dict | None:
    """Send a set-up request until it answers one of ``ok``; return the answer's body.

    503 and 429 are sent again after the answer's Retry-After (1 s if it has none), up to
    ``attempts`` sends in all; any other answer, or the last retry's, raises RuntimeError naming
    every answer, so a set-up that cannot be done fails the run loudly.
    """
    answers = []
    for attempt in range(1, attempts + 1):
        record, body = await send()
        if record.status in ok:
            return body
        detail = record.reason or record.error or (body if record.status != 503 else "")
        answers.append(f"{record.status} {detail}".strip())
        if record.status not in SETUP_RETRY_STATUSES or attempt == attempts:
            break
        wait = record.retry_after if record.retry_after is not None else 1.0
        await asyncio.sleep(min(max(wait, 0.1), SETUP_RETRY_MAX_WAIT))
    raise RuntimeError(f"{what}: gave up after {len(answers)} answers: {'; '.join(answers)}")


async def create_open_session(client: RecordingClient, *, capacity: int, title: str) -> str:
    """Create an open session admitting now (a set-up request: retried on 503/429)."""

    def send():
        now = datetime.now(UTC)
        return client.create_session(
            title=f"{title} {uuid.uuid4().hex[:6]}",
            capacity=capacity,
            starts_at=(now - timedelta(hours=1)).isoformat(),
            ends_at=(now + timedelta(days=1)).isoformat(),
        )

    body = await setup_send("create session", send)
    return str(body["id"])


async def new_session(bench: Bench, *, capacity: int) -> str:
    """Create an open session; first drop earlier runs' check-ins and sessions.

    The stand-in server scans a collection for every non-pk filter, so a growing CheckIn
    collection would make later runs slower than earlier ones; each run starts equal instead.
    """
    await asyncio.to_thread(_reset_collections, bench.view)
    return await create_open_session(bench.clients["ours"], capacity=capacity, title="bench")


def _reset_collections(view: MongoView) -> None:
    view.db[CHECKINS].delete_many({})
    view.db[SESSIONS].delete_many({})


def check_in_request(
    bench: Bench, variant: str, session: str, *, offset: int = 0, by_ticket: bool = False
):
    """Return a Request that checks in participant ``offset + i``, by id or by ticket code.

    By id unless asked: on the stand-in a ticket-code lookup is a scan of every participant
    (real MongoDB uses the unique index), which would swamp the admission path being measured.
    """
    client = bench.clients[variant]

    async def request(i: int) -> Record:
        pid, code = bench.participants[(offset + i) % len(bench.participants)]
        record, _ = await client.check_in(
            session=session,
            participant=pid,
            ticket_code=code if by_ticket else None,
            nonce=uuid.uuid4().hex,
        )
        return record

    return request


def mixed_request(bench: Bench, variant: str, session: str, *spare: str):
    """Return a Request cycling check-in, session detail, stats (reads are two thirds).

    Once every participant is in ``session``, check-ins move on to the ``spare`` sessions, so they
    stay first admissions instead of turning into ``already_checked_in`` answers.
    """
    sessions = [session, *spare]
    checkers = [check_in_request(bench, variant, s) for s in sessions]
    client = bench.clients[variant]
    people = len(bench.participants)

    async def request(i: int) -> Record:
        kind, n = i % 3, i // 3
        current = min(n // people, len(sessions) - 1)
        if kind == 0:
            return await checkers[current](n)
        if kind == 1:
            return (await client.session_detail(session=sessions[current]))[0]
        return (await client.stats())[0]

    return request


# --- Redis states -------------------------------------------------------------------------------
def redis_up(bench: Bench) -> None:
    server = bench.stack.redis
    server.resume()
    if not server.running:
        server.start()


async def wait_redis_backed(bench: Bench, variant: str, *, timeout: float = 20.0) -> float:
    """Wait until /health of ``variant`` says Redis is connected 8 times in a row; return seconds."""
    client = bench.clients[variant]
    started = time.monotonic()
    streak = 0
    while time.monotonic() - started < timeout:
        record, body = await client.health()
        streak = streak + 1 if redis_connected(record, body) else 0
        if streak >= 8:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{variant}: Redis not back in /health after {timeout:.0f} s")


def redis_connected(record: Record, body: dict | None) -> bool:
    """Read /health: True when the answering process uses Redis (not the fallback)."""
    if record.status is None or not isinstance(body, dict):
        return False
    section = body.get("redis")
    if isinstance(section, dict) and "status" in section:
        return section["status"] == "connected"
    return body.get("status") == "ok"


async def all_redis_backed(bench: Bench) -> None:
    await asyncio.gather(*(wait_redis_backed(bench, v) for v in bench.clients))


# --- 5. the floor -------------------------------------------------------------------------------
async def floor(bench: Bench, *, seconds: float = 3.0) -> dict:
    client = bench.clients["ours"]

    async def live(i: int) -> Record:
        return (await client.send("live", "GET", "/health/live"))[0]

    samples = []
    for _ in range(bench.runs):
        records, elapsed = await closed_loop(
            live, clock=client.now, concurrency=CONCURRENCY, seconds=seconds
        )
        samples.append(summarize(records, elapsed))
    return aggregate(samples)


# --- 1. check-in throughput, Redis healthy and down --------------------------------------------
async def check_in_throughput(bench: Bench, *, count: int = 150) -> dict:
    by_key: dict[str, list] = {}
    cases = [(v, False) for v in bench.clients] + [("ours", True)]
    for state in ("healthy", "redis down"):
        if state == "redis down":
            bench.stack.redis.kill()
            cases = cases[:-1]  # the ticket-code row is a healthy-only reference
        for run in range(bench.runs):
            # Alternate the order: load from elsewhere on the machine hits every case alike.
            for variant, by_ticket in cases if run % 2 == 0 else cases[::-1]:
                session = await new_session(bench, capacity=100_000)
                request = check_in_request(bench, variant, session, by_ticket=by_ticket)
                records, seconds = await closed_loop(
                    request, clock=bench.now, concurrency=CONCURRENCY, count=count
                )
                key = f"{variant}, {state}" + (", by ticket code" if by_ticket else "")
                by_key.setdefault(key, []).append(summarize(records, seconds))
    redis_up(bench)
    await all_redis_backed(bench)
    results = {key: aggregate(samples) for key, samples in by_key.items()}
    for key, value in results.items():
        bench.say(f"check-in {key}: {value['rps']}")
    return results


# --- 2. check-in and reads while Redis is paused -----------------------------------------------
async def paused_latency(bench: Bench, *, seconds: float = 5.0) -> dict:
    by_key: dict[str, list] = {}
    variants = list(bench.clients)
    for run in range(bench.runs):
        order = variants if run % 2 == 0 else variants[::-1]  # neither always goes first
        # Sessions are made before the pause, so no set-up request trips a breaker early.
        await asyncio.to_thread(_reset_collections, bench.view)
        sessions = {
            (state, v): await new_session_keep(bench)
            for state in ("healthy", "redis paused")
            for v in variants
        }
        for state in ("healthy", "redis paused"):
            if state == "redis paused":
                bench.stack.redis.pause()
            for variant in order:
                records, elapsed = await closed_loop(
                    mixed_request(bench, variant, sessions[(state, variant)]),
                    clock=bench.now,
                    concurrency=CONCURRENCY,
                    seconds=seconds,
                )
                for op in ("check_in", "reads"):
                    chosen = [r for r in records if (r.op == "check_in") == (op == "check_in")]
                    by_key.setdefault(f"{variant}|{state}|{op}", []).append(
                        summarize(chosen, elapsed)
                    )
            if state == "redis paused":
                bench.stack.redis.resume()
                await all_redis_backed(bench)
    results = {key: aggregate(samples) for key, samples in by_key.items()}
    for key, value in results.items():
        bench.say(f"paused: {key}: p50 {value['p50_ms']['median']} p99 {value['p99_ms']['median']}")
    return results


# --- 3. time to fallback and back ---------------------------------------------------------------
def _eval_calls(port: int) -> int | None:
    """Return how many EVAL/EVALSHA calls Redis has served, None if it does not answer."""
    client = redis.Redis(
        host="127.0.0.1", port=port, socket_timeout=0.2, socket_connect_timeout=0.2
    )
    try:
        stats = client.info("commandstats")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return sum(
        int(v.get("calls", 0)) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")
    )


async def transitions(bench: Bench, *, kinds=("kill", "pause"), outage: float = 4.0) -> dict:
    """Fault Redis under light load on ours; time the switch to fallback and back."""
    client = bench.clients["ours"]
    out: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for kind in kinds:
        for _ in range(max(3, bench.runs - 2)):
            session = await new_session(bench, capacity=100_000)
            stop = asyncio.Event()
            health: list[tuple[float, float, bool]] = []

            async def poll_health(stop=stop, health=health) -> None:
                for _ in range(2000):  # bounded: 20 Hz for at most 100 s
                    if stop.is_set():
                        return
                    record, body = await client.health()
                    health.append((record.t_start, record.t_end, redis_connected(record, body)))
                    await asyncio.sleep(0.05)

            load = asyncio.create_task(
                closed_loop(
                    mixed_request(bench, "ours", session),
                    clock=client.now,
                    concurrency=2,
                    seconds=3 + outage + 9,
                )
            )
            poller = asyncio.create_task(poll_health())
            await asyncio.sleep(3.0)
            t_fault = client.now()
            await asyncio.to_thread(
                bench.stack.redis.kill if kind == "kill" else bench.stack.redis.pause
            )
            await asyncio.sleep(outage)
            await asyncio.to_thread(redis_up, bench)
            t_back = client.now()
            first_eval = None
            if kind == "kill":  # a fresh Redis counts from zero: its first EVAL is ours
                for _ in range(300):
                    calls = await asyncio.to_thread(_eval_calls, bench.stack.redis.port)
                    if calls:
                        first_eval = client.now() - t_back
                        break
                    await asyncio.sleep(0.03)
            records, _ = await load
            stop.set()
            await poller
            out[kind].append(_transition_numbers(records, health, t_fault, t_back, first_eval))
            await all_redis_backed(bench)
    summary = {}
    for kind, rows in out.items():
        summary[kind] = {"runs": rows}
        for key in (
            "to_fallback_s",
            "checkin_max_ms_after_fault",
            "to_redis_health_s",
            "to_redis_all_s",
            "first_eval_s",
        ):
            values = [row[key] for row in rows if row.get(key) is not None]
            if values:
                values.sort()
                summary[kind][key] = {
                    "median": round(values[len(values) // 2], 3),
                    "min": round(values[0], 3),
                    "max": round(values[-1], 3),
                }
        bench.say(
            f"transitions {kind}: { {k: v for k, v in summary[kind].items() if k != 'runs'} }"
        )
    return summary


def _transition_numbers(records, health, t_fault, t_back, first_eval) -> dict:
    # health: (sent, answered, connected); "to fallback" counts until the answer arrived.
    after_fault = [(t1, ok) for t0, t1, ok in health if t0 >= t_fault]
    to_fallback = next((t - t_fault for t, ok in after_fault if not ok), None)
    health = [(t0, ok) for t0, _, ok in health]
    after_back = [(t, ok) for t, ok in health if t >= t_back]
    to_health = next((t - t_back for t, ok in after_back if ok), None)
    # "All workers back": the start of the first run of 8 consecutive connected answers.
    to_all = None
    for i in range(len(after_back) - 7):
        if all(ok for _, ok in after_back[i : i + 8]):
            to_all = after_back[i][0] - t_back
            break
    window = [
        r.latency_ms for r in records if r.op == "check_in" and t_fault <= r.t_start <= t_fault + 2
    ]
    return {
        "to_fallback_s": round(to_fallback, 3) if to_fallback is not None else None,
        "checkin_max_ms_after_fault": round(max(window), 1) if window else None,
        "to_redis_health_s": round(to_health, 3) if to_health is not None else None,
        "to_redis_all_s": round(to_all, 3) if to_all is not None else None,
        "first_eval_s": round(first_eval, 3) if first_eval is not None else None,
        "answers": dict(summarize(records, 1.0).answers),
    }


# --- 4. rejections of a full session -------------------------------------------------------------
async def rejections(bench: Bench, *, count: int = 200) -> dict:
    results = {}
    for state in ("Redis path", "MongoDB-only path (Redis down)"):
        samples = []
        for _ in range(bench.runs):
            session = await new_session(bench, capacity=2)
            await fill_session(bench, session, 2)
            if state.startswith("MongoDB"):
                await asyncio.to_thread(bench.stack.redis.kill)
            request = check_in_request(bench, "ours", session, offset=2)
            records, seconds = await closed_loop(
                request, clock=bench.now, concurrency=CONCURRENCY, count=count
            )
            samples.append(summarize(records, seconds))
            if state.startswith("MongoDB"):
                redis_up(bench)
                await all_redis_backed(bench)
        results[state] = aggregate(samples)
        bench.say(
            f"rejections {state}: {results[state]['rps']} answers {results[state]['answers']}"
        )
    return results


# --- the chart's timeline -----------------------------------------------------------------------
TIMELINE_FAULTS = (
    (6.0, "pause", 5.0),
    (18.0, "kill", 6.0),
    (33.0, "restart", 0.0),
)


async def timeline(bench: Bench, *, seconds: float = 45.0) -> dict:
    """Each server in turn under light mixed load while Redis is paused, killed and restarted.

    One server at a time, with the same fault schedule, so neither steals CPU from the other
    while it waits on Redis timeouts.
    """
    faults: dict[str, list[dict]] = {}
    points = []
    server = bench.stack.redis
    for variant in bench.clients:
        session = await new_session(bench, capacity=100_000)
        spare = [await new_session_keep(bench) for _ in range(2)]
        t0 = bench.now()
        load = asyncio.create_task(
            closed_loop(
                mixed_request(bench, variant, session, *spare),
                clock=bench.now,
                concurrency=2,
                seconds=seconds,
            )
        )
        faults[variant] = []
        for at, kind, down in TIMELINE_FAULTS:
            await asyncio.sleep(max(0.0, t0 + at - bench.now()))
            start = bench.now() - t0
            if kind == "pause":
                server.pause()
                await asyncio.sleep(down)
                server.resume()
            elif kind == "kill":
                await asyncio.to_thread(server.kill)
                await asyncio.sleep(down)
                await asyncio.to_thread(server.start)
            else:
                await asyncio.to_thread(server.restart)
            faults[variant].append(
                {"kind": kind, "start": round(start, 3), "end": round(bench.now() - t0, 3)}
            )
        records, _ = await load
        points += [
            {
                "variant": variant,
                "t": round(r.t_start - t0, 3),
                "ms": round(r.latency_ms, 2),
                "op": r.op,
                "status": r.status,
            }
            for r in records
        ]
        await all_redis_backed(bench)
    return {"faults": faults["ours"], "faults_by_variant": faults, "points": points}


async def new_session_keep(bench: Bench) -> str:
    """Create a session without dropping the others (the timeline runs both servers at once)."""
    return await create_open_session(
        bench.clients["ours"], capacity=100_000, title="bench timeline"
    )


async def fill_session(bench: Bench, session: str, places: int) -> None:
    """Check the first ``places`` participants in (set-up: retried on 503/429, each with its own
    nonce kept over its retries, so a retry of an applied check-in replays its verdict)."""
    client = bench.clients["ours"]
    for i in range(places):
        pid, _code = bench.participants[i % len(bench.participants)]
        nonce = uuid.uuid4().hex

        def send(pid=pid, nonce=nonce):
            return client.check_in(session=session, participant=pid, ticket_code=None, nonce=nonce)

        await setup_send(f"fill session {session}", send, ok=frozenset({200, 201}))
