"""MongoDB commands and Redis calls per door request: ``python -m bench.round_trips [--json F]``.

Starts its own MongoDB stand-in (SecantusDB) and redis-server, migrates, and sends one request of
each kind through DRF's test client with a real API token, as a door scanner would. MongoDB
commands are counted with a pymongo ``CommandListener`` on the app's own connection; Redis calls
are counted twice: as round trips (each time the app's redis-py connection sends a packet — a
pipeline or a script call is one), and as commands the Redis server ran (``INFO commandstats``
before and after the request, minus the count's own ``INFO``; this includes the commands a Lua
script runs inside Redis). Each kind is measured
``--repeat`` times and the table shows the median (and the range, if the counts vary).

Request kinds, Redis up (the session's admission set seeded, as it is after its first check-in):
a check-in (201) of a participant this process has not read yet and of one it has, a duplicate
(200 ``already_checked_in``), a full session (409 ``session_full``), a check-out (200), a cached
session detail (200). Then Redis is stopped, the breaker opens (the background prober's job), and
the check-in and full-session kinds are measured again: MongoDB decides alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import redis
from pymongo import monitoring

from bench.scale import setup_django
from devtools.servers import RedisServer, SecantusServer


class _Commands(monitoring.CommandListener):
    def __init__(self):
        self.names: list[str] = []
        self.counting = False

    def started(self, event):
        if self.counting:
            self.names.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class _Sends:
    """Count the app's Redis round trips: every packet a redis-py connection sends."""

    count = 0

    @classmethod
    def install(cls) -> None:
        original = redis.connection.AbstractConnection.send_packed_command

        def send_packed_command(self, command, check_health=True):
            cls.count += 1
            return original(self, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = send_packed_command


def _redis_calls(r: redis.Redis | None) -> dict[str, int]:
    if r is None:
        return {}
    stats = r.info("commandstats")
    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    out = {}
    for name, calls in after.items():
        diff = calls - before.get(name, 0) - (1 if name == "info" else 0)
        if diff:
            out[name] = diff
    return out


class Counter:
    def __init__(self, listener: _Commands, redis_client: redis.Redis | None, repeat: int):
        self.repeat = range(repeat)
        self.listener = listener
        self.redis = redis_client

    def count(self, request) -> tuple[object, list[str], dict[str, int], int]:
        before = _redis_calls(self.redis)
        self.listener.names.clear()
        sends = _Sends.count
        self.listener.counting = True
        try:
            response = request()
        finally:
            self.listener.counting = False
        sends = _Sends.count - sends
        mongo = list(self.listener.names)
        return response, mongo, _delta(before, _redis_calls(self.redis)), sends


def _row(kind: str, expect: tuple[int, str | None], samples: list) -> dict:
    mongo = [len(m) for _, m, _, _ in samples]
    redis_calls = [sum(r.values()) for _, _, r, _ in samples]
    trips = [s for _, _, _, s in samples]
    for response, _, _, _ in samples:
        body = response.json()
        got = (response.status_code, body.get("reason") if expect[1] else None)
        if got != expect:
            raise SystemExit(f"{kind}: answered {got}, expected {expect}: {body}")
    names: dict[str, int] = {}
    for _, m, _, _ in samples[:1]:
        for name in m:
            names[name] = names.get(name, 0) + 1
    redis_names = samples[0][2]
    return {
        "kind": kind,
        "status": f"{expect[0]}" + (f" {expect[1]}" if expect[1] else ""),
        "mongo": {"median": statistics.median(mongo), "min": min(mongo), "max": max(mongo)},
        "redis": {
            "median": statistics.median(redis_calls),
            "min": min(redis_calls),
            "max": max(redis_calls),
        },
        "redis_trips": {"median": statistics.median(trips), "min": min(trips), "max": max(trips)},
        "mongo_commands": names,
        "redis_commands": redis_names,
        "n": len(samples),
    }


def measure(repeat: int, redis_server: RedisServer, listener: _Commands) -> list[dict]:
    from django.contrib.auth import get_user_model  # noqa: PLC0415 - after django.setup()
    from django.db import connections  # noqa: PLC0415 - after django.setup()
    from rest_framework.authtoken.models import Token  # noqa: PLC0415 - after django.setup()
    from rest_framework.test import APIClient  # noqa: PLC0415 - after django.setup()

    from bench.data import bench_participants, bench_session  # noqa: PLC0415 - after setup

    connections["default"].close_pool()  # the listener applies to clients created from now on
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    counter = Counter(listener, redis.Redis(port=redis_server.port), repeat)

    def post(path: str, person) -> object:
        return client.post(path, {"participant": str(person.pk)}, format="json")

    rows = []
    samples: dict[str, list] = {k: [] for k in ("new", "known", "dup", "full", "out", "detail")}
    for _ in range(repeat):
        session = bench_session(capacity=3)
        url = f"/api/sessions/{session.pk}/"
        a, b, c, d = bench_participants(4)
        assert post(f"{url}check-in/", a).status_code == 201  # seeds the admission set
        samples["new"].append(counter.count(lambda p=b, u=url: post(f"{u}check-in/", p)))
        # c is read once by this process (a refused check-out) before its check-in:
        post(f"{url}check-out/", c)
        samples["known"].append(counter.count(lambda p=c, u=url: post(f"{u}check-in/", p)))
        samples["dup"].append(counter.count(lambda p=c, u=url: post(f"{u}check-in/", p)))
        post(f"{url}check-out/", d)  # d read once: the full answer shows the verdict's own cost
        samples["full"].append(counter.count(lambda p=d, u=url: post(f"{u}check-in/", p)))
        samples["out"].append(counter.count(lambda p=b, u=url: post(f"{u}check-out/", p)))
        client.get(url)  # the session detail is cached from now on (until the next change)
        samples["detail"].append(counter.count(lambda u=url: client.get(u)))
    rows.append(
        _row("check-in, participant's first scan here", (201, "checked_in"), samples["new"])
    )
    rows.append(_row("check-in, participant read before", (201, "checked_in"), samples["known"]))
    rows.append(_row("duplicate check-in", (200, "already_checked_in"), samples["dup"]))
    rows.append(_row("full session", (409, "session_full"), samples["full"]))
    rows.append(_row("check-out", (200, "checked_out"), samples["out"]))
    rows.append(_row("session detail, cached", (200, None), samples["detail"]))
    return rows + _measure_redis_down(post, counter, redis_server)


def _measure_redis_down(post, counter: Counter, redis_server: RedisServer) -> list[dict]:
    from bench.data import bench_participants, bench_session  # noqa: PLC0415 - after setup
    from redis_fallback.breaker_calls import is_redis_available  # noqa: PLC0415 - after django.setup()

    redis_server.stop()
    counter.redis = None
    deadline = time.monotonic() + 15
    probe = bench_session(capacity=1000)
    warm = bench_participants(1)[0]
    # The first request after the stop pays the one timeout that opens the breaker.
    post(f"/api/sessions/{probe.pk}/check-in/", warm)
    while is_redis_available() and time.monotonic() < deadline:
        time.sleep(0.2)
    down: dict[str, list] = {"in": [], "full": []}
    for _ in range(len(counter.repeat)):
        session = bench_session(capacity=1)
        url = f"/api/sessions/{session.pk}/"
        a, b = bench_participants(2)
        post(f"{url}check-out/", a)
        post(f"{url}check-out/", b)
        down["in"].append(counter.count(lambda p=a, u=url: post(f"{u}check-in/", p)))
        down["full"].append(counter.count(lambda p=b, u=url: post(f"{u}check-in/", p)))
    return [
        _row("check-in, Redis down", (201, "checked_in"), down["in"]),
        _row("full session, Redis down", (409, "session_full"), down["full"]),
    ]


def _cell(stat: dict) -> str:
    med = stat["median"]
    text = f"{med:g}"
    return text if stat["min"] == stat["max"] else f"{text} ({stat['min']}-{stat['max']})"


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| request | answer | MongoDB commands | Redis round trips | Redis commands run | which |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        which = ", ".join(f"{k} {v}" for k, v in row["mongo_commands"].items()) or "-"
        redis_which = ", ".join(f"{k} {v}" for k, v in row["redis_commands"].items())
        if redis_which:
            which += f"; Redis: {redis_which}"
        lines.append(
            f"| {row['kind']} | {row['status']} | {_cell(row['mongo'])} | "
            f"{_cell(row['redis_trips'])} | {_cell(row['redis'])} | {which} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.round_trips")
    parser.add_argument("--repeat", type=int, default=5, help="requests per kind")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    listener = _Commands()
    monitoring.register(listener)
    _Sends.install()
    mongo, redis_server = SecantusServer().start(), RedisServer().start()
    try:
        setup_django(mongo.uri, f"redis://127.0.0.1:{redis_server.port}/0", name="bench_trips")
        rows = measure(args.repeat, redis_server, listener)
    finally:
        redis_server.stop()
        mongo.stop()
    print("\n".join(table(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
