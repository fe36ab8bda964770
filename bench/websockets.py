"""Live occupancy under load: ``python -m bench.websockets [--clients 500] [--runs 3]``.

Starts SecantusDB, redis-server, gunicorn (the check-in API, 2 workers) and one uvicorn process
(config.asgi, the WebSockets), opens ``--clients`` concurrent WebSocket clients on
``ws/sessions/<id>/`` (token sign-in) and measures, per run (median and spread over runs):

- **delivery delay**: from the moment a check-in's HTTP answer arrives at the client that made
  it to the moment each WebSocket client holds the new count; p50 and p99 over every client and
  every check-in of the run; with Redis up (live: pub/sub) and Redis killed (polling MongoDB);
- **memory per connection**: the uvicorn process's RSS with the clients connected, minus before,
  divided by the clients;
- **check-in throughput, WSGI vs ASGI**: the same closed-loop check-in load against gunicorn
  (config.wsgi, 2 threaded workers) and against uvicorn serving config.asgi over HTTP (2 workers):
  the reason the API stays on WSGI.

Prints a table and writes JSON to ``bench-results/websockets-<time>/websockets.json``. Numbers
from this shared 2-core machine: read the ratios, not the absolute values.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import psutil
from websockets.asyncio.client import connect

from bench.load import aggregate, closed_loop, percentile, summarize
from bench.scale import PARTICIPANTS, participant_doc
from bench.scenarios import create_open_session, setup_send
from chaos.api import RecordingClient
from chaos.mongo import MongoView
from devtools.stack import ROOT, Stack, install_signal_handlers

CONCURRENCY = 8  # HTTP clients of the throughput comparison


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.websockets", description=__doc__)
    parser.add_argument("--clients", type=int, default=500, help="concurrent WebSocket clients")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure")
    parser.add_argument("--checkins", type=int, default=10, help="check-ins per run and mode")
    parser.add_argument("--throughput-count", type=int, default=150)
    parser.add_argument("--out", type=Path, help="results directory")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(f"[bench.websockets] {message}", flush=True)


def _spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def _rss(pid: int) -> int:
    proc = psutil.Process(pid)
    return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))


class Watcher:
    """One WebSocket client: the count it holds, when each count arrived, and the mode."""

    def __init__(self) -> None:
        self.count = -1
        self.version = -1
        self.arrived: dict[int, float] = {}
        self.mode: str | None = None
        self.ready = asyncio.Event()

    def handle(self, message: dict) -> None:
        if message["type"] == "mode":
            self.mode = message["mode"]
        states = []
        if message["type"] == "snapshot":
            states = message["sessions"]
            self.ready.set()
        elif message["type"] == "session":
            states = [message["session"]]
        for state in states:
            if state["version"] > self.version:
                self.version = state["version"]
                self.count = state["check_in_count"]
                self.arrived.setdefault(self.count, time.monotonic())


async def _watch(url: str, token: str, watcher: Watcher, stop: asyncio.Event) -> None:
    async with connect(url, subprotocols=["checkin", f"token.{token}"], open_timeout=60) as ws:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            watcher.handle(json.loads(raw))


async def _setup(stack: Stack, api: RecordingClient, participants: int) -> tuple[str, list[str]]:
    """A session over the API (retried on 503/429) and ``participants`` written straight into
    MongoDB, as ``make bench`` does: set-up, not a measurement (a thousand POSTs one by one cost
    a minute or more of the run on this machine)."""
    session = await create_open_session(api, capacity=participants + 10, title="Bench hall")
    docs = [participant_doc() for _ in range(participants)]
    view = MongoView(stack.mongo.uri, stack.db_name)
    try:
        await asyncio.to_thread(view.db[PARTICIPANTS].insert_many, docs, ordered=False)
    finally:
        view.close()
    return session, [str(d["_id"]) for d in docs]


async def _delays(
    api: RecordingClient, session: str, people: list[str], watchers: list[Watcher]
) -> dict:
    """Check ``people`` in one by one; return p50/p99 of every client's delivery delay (s).

    The delay runs from the check-in's 201 to each client's new count, so a check-in answered
    503/429 is sent again (``setup_send``): that answer carries no count to deliver.
    """
    delays: list[float] = []
    missing = 0
    for person in people:
        nonce = uuid.uuid4().hex  # kept over the retries: a retry of an applied one replays it

        def send(person=person, nonce=nonce):
            return api.check_in(session=session, participant=person, ticket_code=None, nonce=nonce)

        body = await setup_send(f"check-in of {person}", send)
        answered = time.monotonic()
        count = body["check_in_count"]
        deadline = answered + 5.0
        while time.monotonic() < deadline and any(w.count < count for w in watchers):
            await asyncio.sleep(0.01)
        for watcher in watchers:
            arrived = next((t for c, t in watcher.arrived.items() if c >= count), None)
            if arrived is None:
                missing += 1
            else:
                delays.append(arrived - answered)  # < 0: pushed before the answer came back
        await asyncio.sleep(0.2)
    return {
        "p50_s": percentile(delays, 50),
        "p99_s": percentile(delays, 99),
        "max_s": max(delays, default=float("nan")),
        "not_delivered_within_5s": missing,
    }


async def _throughput(stack: Stack, base_url: str, session: str, people: list[str]) -> dict:
    client = RecordingClient(base_url, stack.token, t0=time.monotonic(), limits=CONCURRENCY * 2)

    async def request(i: int):
        record, _body = await client.check_in(
            session=session, participant=people[i], ticket_code=None, nonce=f"bench-ws-{people[i]}"
        )
        return record

    try:
        records, seconds = await closed_loop(
            request, clock=client.now, concurrency=CONCURRENCY, count=len(people)
        )
    finally:
        await client.aclose()
    return summarize(records, seconds)


async def _wsgi_against_asgi(stack: Stack, session: str, queue, args) -> dict:
    web, live_http = stack.webs["web"], stack.lives["live-http"]
    wsgi, asgi = [], []
    for _run in range(args.runs):
        wsgi_people = [next(queue) for _ in range(args.throughput_count)]
        asgi_people = [next(queue) for _ in range(args.throughput_count)]
        wsgi.append(await _throughput(stack, web.url, session, wsgi_people))
        asgi.append(await _throughput(stack, live_http.url, session, asgi_people))
        _say(f"throughput: wsgi {wsgi[-1].rps:.1f}/s, asgi {asgi[-1].rps:.1f}/s")
    return {
        "wsgi_gunicorn": aggregate(wsgi),
        "asgi_uvicorn": aggregate(asgi),
        "answers": {"wsgi": wsgi[-1].answers, "asgi": asgi[-1].answers},
    }


async def measure(stack: Stack, args) -> dict:
    web, live = stack.webs["web"], stack.lives["live"]
    per_run = args.checkins * 2
    total = args.runs * per_run + 2 * args.runs * args.throughput_count
    api = RecordingClient(web.url, stack.token, t0=time.monotonic())
    try:
        session, people = await _setup(stack, api, total)
        _say(f"session and {len(people)} participants created")
        url = f"{live.ws_url}/ws/sessions/{session}/"
        before = _rss(live.pid)
        watchers = [Watcher() for _ in range(args.clients)]
        stop = asyncio.Event()
        tasks = []
        for start in range(0, args.clients, 50):  # in batches: a burst of 500 handshakes
            for watcher in watchers[start : start + 50]:
                tasks.append(asyncio.create_task(_watch(url, stack.token, watcher, stop)))
            await asyncio.gather(*(w.ready.wait() for w in watchers[start : start + 50]))
        await asyncio.sleep(1.0)
        per_connection = (_rss(live.pid) - before) / args.clients
        _say(f"{args.clients} clients connected; {per_connection / 1024:.1f} KiB per connection")
        results: dict = {"clients": args.clients, "rss_per_connection_kib": per_connection / 1024}
        up, down = [], []
        queue = iter(people)
        try:
            for run in range(args.runs):
                batch = [next(queue) for _ in range(per_run)]
                up.append(await _delays(api, session, batch[: args.checkins], watchers))
                stack.redis.kill()
                deadline = time.monotonic() + 10
                while any(w.mode != "polling" for w in watchers) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1.5)  # the web workers' breakers: open (skip) from now on
                down.append(await _delays(api, session, batch[args.checkins :], watchers))
                stack.redis.start()
                deadline = time.monotonic() + 15
                while any(w.mode != "live" for w in watchers) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(3.0)  # the web workers' breakers close (1 s probes)
                _say(f"run {run + 1}: up {up[-1]}, down {down[-1]}")
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        for name, samples in (("redis_up", up), ("redis_down", down)):
            results[name] = {
                key: _spread([s[key] for s in samples]) for key in ("p50_s", "p99_s", "max_s")
            }
            results[name]["not_delivered_within_5s"] = sum(
                s["not_delivered_within_5s"] for s in samples
            )
    finally:
        await api.aclose()
    results["check_in_throughput"] = await _wsgi_against_asgi(stack, session, queue, args)
    return results


def _table(results: dict) -> str:
    def row(name, part):
        return (
            f"| {name} | {part['p50_s']['median'] * 1000:.0f} ({part['p50_s']['min'] * 1000:.0f}"
            f"-{part['p50_s']['max'] * 1000:.0f}) | {part['p99_s']['median'] * 1000:.0f} "
            f"({part['p99_s']['min'] * 1000:.0f}-{part['p99_s']['max'] * 1000:.0f}) | "
            f"{part['not_delivered_within_5s']} |"
        )

    tp = results["check_in_throughput"]
    lines = [
        f"{results['clients']} WebSocket clients on one uvicorn process; "
        f"{results['rss_per_connection_kib']:.1f} KiB of RSS per connection",
        "",
        "| Redis | delay p50 ms (min-max) | delay p99 ms (min-max) | not delivered within 5 s |",
        "|---|---|---|---|",
        row("up (pub/sub)", results["redis_up"]),
        row("killed (polling)", results["redis_down"]),
        "",
        "| check-in API served by | check-ins/s median (min-max) | p99 ms median |",
        "|---|---|---|",
    ]
    for name, key in (("gunicorn, WSGI, 2 workers", "wsgi_gunicorn"), ("uvicorn, ASGI, 2 workers", "asgi_uvicorn")):  # fmt: skip
        rps, p99 = tp[key]["rps"], tp[key]["p99_ms"]
        lines.append(
            f"| {name} | {rps['median']:.1f} ({rps['min']:.1f}-{rps['max']:.1f}) | {p99['median']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or ROOT / "bench-results" / f"websockets-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    install_signal_handlers()
    started = time.monotonic()
    stack = Stack(
        logdir=out / "logs",
        db_name="checkin_bench_ws",
        extra_env={"STACK_LOG_LEVEL": "WARNING"},
    )
    try:
        stack.start_servers()
        stack.start_web("web", workers=2)
        stack.start_live("live", workers=1)
        stack.start_live("live-http", workers=2)
        results = asyncio.run(measure(stack, args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        _say("interrupted: stopping everything")
        return 130
    finally:
        stack.stop()
    results["seconds"] = round(time.monotonic() - started, 1)
    results["config"] = vars(args) | {"out": str(out), "concurrency": CONCURRENCY}
    (out / "websockets.json").write_text(json.dumps(results, indent=1, default=str))
    print(_table(results), flush=True)
    _say(f"results: {out / 'websockets.json'} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
