"""Redis under Sentinel: the master SIGKILLed under check-in load, the replica promoted.

Real processes (``devtools.servers.SentinelSet``): a redis-server master, its replica and three
``redis-server --sentinel`` (down after 1 s, failover timeout 3 s). The app in this process is
pointed at them through ``REDIS_URL=redis+sentinel://...``. Door threads check people in and out
through the API against a session near its capacity while the master is killed; the Sentinels
promote the replica; the app follows (its breaker opens, the prober finds the new master through
the Sentinels, sees a new run_id under the master's name, rebuilds the admission sets from MongoDB
and only then uses Redis again). Then the old master is started again and the Sentinels make it a
replica of the new one. Measured and printed: seconds from the kill until a check-in is decided
on Redis again, and the door's p99 meanwhile.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from config.settings.redis import default_cache, redis_sentinel_config
from devtools.servers import SentinelSet
from redis_fallback import connection_status, is_redis_available
from redis_fallback.raw_client import raw_redis
from redis_fallback.restarts import rebuild_pending
from redis_fallback.scripts import SCRIPT_UNAVAILABLE, LuaScript
from redis_fallback.testing import reset_for_tests
from sessions_app.admission import ADMISSION_LUA, SEEDED_MARKER, admission_key
from sessions_app.models import CheckIn, Session
from tests.factories import assert_capacity_holds, participants_make, session_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DOORS, PEOPLE, CAPACITY = 4, 80, 30
PASSWORD = "sentinel-test-pass"
ADMISSION_SHA = LuaScript(ADMISSION_LUA).sha
FOLLOW_WITHIN_SECONDS = 10.0  # from the kill until check-ins are decided on Redis again


@pytest.fixture
def sentinel_set(tmp_path):
    """A master, a replica and three Sentinels; the app in this process uses them meanwhile."""
    servers = SentinelSet(password=PASSWORD, log_dir=tmp_path).start()
    url = servers.url
    sentinel = redis_sentinel_config(url)
    cache = default_cache(
        url,
        sentinel,
        connect_timeout=settings.REDIS_SOCKET_CONNECT_TIMEOUT,
        timeout=settings.REDIS_SOCKET_TIMEOUT,
    )
    from django.test import override_settings  # noqa: PLC0415

    reset_for_tests()
    with override_settings(
        REDIS_URL=url,
        REDIS_SENTINEL=sentinel,
        CACHES={**settings.CACHES, "default": cache},
        ADMISSION_RESEED_PACE=0.0,
        REDIS_BREAKER_RESET_SECONDS=0.5,
    ):
        try:
            yield servers
        finally:
            reset_for_tests()
    servers.stop()


@pytest.fixture
def script_answers(monkeypatch):
    """Record (time, answered by Redis) for every admission script call (the real one runs)."""
    answers: list[tuple[float, bool]] = []
    real = LuaScript.__call__

    def recording(self, keys=(), args=()):
        result = real(self, keys, args)
        if self.sha == ADMISSION_SHA:
            answers.append((time.monotonic(), result != SCRIPT_UNAVAILABLE))
        return result

    monkeypatch.setattr(LuaScript, "__call__", recording)
    return answers


class Doors:
    """DOORS threads scanning people in and out through the API until stopped."""

    def __init__(self, session: Session, people, user) -> None:
        self.session, self.user = session, user
        self.slices = [people[i::DOORS] for i in range(DOORS)]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[tuple[float, float, str, str, int]] = []  # start, secs, kind, who, code
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._door, args=(i,)) for i in range(DOORS)]

    def start(self) -> Doors:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def _door(self, index: int) -> None:
        client = APIClient()
        client.force_authenticate(self.user)
        rng = random.Random(index)
        inside: set[str] = set()
        base = f"/api/sessions/{self.session.pk}"
        try:
            while not self.stop.is_set():
                person = str(rng.choice(self.slices[index]).pk)
                kind = "check-out" if person in inside and rng.random() < 0.6 else "check-in"
                began = time.monotonic()
                answer = client.post(f"{base}/{kind}/", {"participant": person}, format="json")
                took = time.monotonic() - began
                with self.lock:
                    self.requests.append((began, took, kind, person, answer.status_code))
                reason = answer.json().get("reason")
                if kind == "check-in" and reason in ("checked_in", "already_checked_in"):
                    inside.add(person)
                elif kind == "check-out" and reason in ("checked_out", "not_checked_in"):
                    inside.discard(person)
        except BaseException as error:  # surfaced by finish()
            self.errors.append(error)
        finally:
            connection.close()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=20)
        assert not any(thread.is_alive() for thread in self.threads), "a door hung"
        assert not self.errors, self.errors[:3]

    def p99_between(self, start: float, end: float) -> tuple[float, int]:
        with self.lock:
            took = sorted(t for began, t, *_ in self.requests if start <= began <= end)
        if not took:
            return 0.0, 0
        return took[min(len(took) - 1, int(len(took) * 0.99))], len(took)

    def describe(self, name: str, start: float, end: float) -> str:
        p99, count = self.p99_between(start, end)
        rate = count / max(end - start, 1e-9)
        return f"{name}: p99 {1000 * p99:.0f} ms, {count} requests ({rate:.0f}/s)"


def _wait(predicate, *, timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s")
        time.sleep(0.02)
    return time.monotonic()


def _redis_members(servers: SentinelSet, session: Session) -> set[str]:
    master = servers.master()
    client = redis.Redis(port=master.port, password=PASSWORD, decode_responses=True)
    with client:
        return client.smembers(admission_key(session.pk))


def _assert_records_match(doors: Doors, session: Session, servers: SentinelSet) -> None:
    """Nobody over capacity, every 201 has its record, Redis's set equals the records inside."""
    assert_capacity_holds(session)
    admitted = {
        who for _, _, kind, who, code in doors.requests if kind == "check-in" and code == 201
    }
    recorded = {str(pid) for pid in CheckIn.objects.filter(session_id=session.pk).values_list(
        "participant_id", flat=True)}  # fmt: skip
    assert admitted <= recorded, f"acknowledged check-ins without a record: {admitted - recorded}"
    inside = {str(pid) for pid in CheckIn.objects.filter(
        session_id=session.pk, state=CheckIn.State.INSIDE).values_list("participant_id", flat=True)}  # fmt: skip
    assert _redis_members(servers, session) == inside | {SEEDED_MARKER}
    codes = {code for *_, code in doors.requests}
    assert codes <= {200, 201, 409, 503}, codes


def test_master_killed_under_load_the_replica_takes_over_and_capacity_holds(
    sentinel_set, script_answers, door_staff_user
):
    servers = sentinel_set
    session = session_make(capacity=CAPACITY, status="open")
    people = participants_make(PEOPLE)
    doors = Doors(session, people, door_staff_user).start()
    try:
        _wait(
            lambda: sum(1 for r in doors.requests if r[4] == 201) >= CAPACITY // 2,
            timeout=10,
            what="half the places taken",
        )
        assert script_answers and script_answers[-1][1], "Redis did not take part before the kill"
        old = servers.master()
        killed = time.monotonic()
        old.kill()
        new_port = servers.wait_for_new_master(old.port, timeout=15)
        promoted = time.monotonic()
        back = _wait(
            lambda: any(at > promoted and by_redis for at, by_redis in script_answers),
            timeout=FOLLOW_WITHIN_SECONDS,
            what="a check-in decided on Redis after the failover",
        )
        status = connection_status()
        assert not rebuild_pending()
        assert status["sentinel"]["last_failover_at"] is not None
        assert status["sentinel"]["master"] == f"***:{new_port}"
        time.sleep(2.0)  # more load on the new master
        after = time.monotonic()
        old.start()  # empty (no persistence): the Sentinels make it a replica of the new master
        returned = _wait(
            lambda: servers.role_of(old) == "slave", timeout=20, what="the old master a replica"
        )
        assert servers.master_port() == new_port
        time.sleep(2.0)  # load with the old master back as a replica
        assert is_redis_available()
        end = time.monotonic()
    finally:
        doors.finish()
    print(
        f"\nSentinel failover: promoted {promoted - killed:.2f} s after the kill; check-ins "
        f"decided on Redis again {back - killed:.2f} s after it; the old master a replica "
        f"{returned - after:.1f} s after it started again.\n  "
        + "\n  ".join(
            [
                doors.describe("before the kill", doors.started, killed),
                doors.describe("kill -> decided on Redis again", killed, back),
                doors.describe("on the new master", back, after),
                doors.describe("old master returning", after, returned),
                doors.describe("old master a replica", returned, end),
            ]
        )
    )
    assert back - killed <= FOLLOW_WITHIN_SECONDS
    _assert_records_match(doors, session, servers)


def test_a_failover_no_call_saw_is_noticed_and_rebuilt_before_redis_is_trusted(sentinel_set):
    """A process idle while the master died (a quiet worker) must not trust the promoted replica.

    redis-py replaces a pooled connection whose server went away without telling anyone (here:
    the pool's idle connections are dropped, as when redis-py found them closed), so its next
    call connects to the new master without any error: only the new run_id under the master's
    name tells. The call is answered by the fallback, the recovery callbacks run, and then Redis
    is used again.
    """
    from django.test import Client  # noqa: PLC0415

    from jobs_app.models import OutboxMessage  # noqa: PLC0415
    from jobs_app.services import task_publish  # noqa: PLC0415
    from redis_fallback import get_redis, register_recovery_callback  # noqa: PLC0415
    from redis_fallback.testing import unregister_recovery_callback  # noqa: PLC0415

    rebuilt: list[float] = []

    def count(client) -> None:
        rebuilt.append(time.monotonic())

    register_recovery_callback(count)
    try:
        assert get_redis().set("before", "1") is True
        old = sentinel_set.kill_master()
        sentinel_set.wait_for_new_master(old.port, timeout=20)
        raw_redis().connection_pool.disconnect()
        assert get_redis().get("before") is None  # answered by the fallback, not the replica
        assert not is_redis_available()
        # A task published meanwhile waits in the MongoDB outbox (flushed when the broker is back).
        assert not task_publish(task_name="sessions_app.reconcile_counters").published
        assert OutboxMessage.objects.filter(published_at=None).count() == 1
        _wait(is_redis_available, timeout=10, what="Redis trusted again")
        assert len(rebuilt) == 1
        assert connection_status()["sentinel"]["last_failover_at"] is not None
        assert get_redis().get("before") == b"1"  # the replica had it
        shown = Client().get("/health").json()["redis"]["sentinel"]
        assert shown["masterName"] == "mymaster"
        assert shown["master"] == f"***:{sentinel_set.master_port()}"  # masked: the port only
        assert shown["sentinels"] == 3
        assert shown["lastFailoverAt"] is not None
    finally:
        unregister_recovery_callback(count)


def test_celery_worker_and_beat_follow_the_failover(sentinel_set, worker_env, tmp_path):
    """A real worker and beat on the broker through Sentinel keep reconciling after a failover."""
    from django.utils import timezone  # noqa: PLC0415
    from django_celery_beat.models import IntervalSchedule, PeriodicTask  # noqa: PLC0415

    from jobs_app.schedule import RECONCILE_TASK, periodic_tasks_ensure  # noqa: PLC0415
    from sessions_app.selectors import reconcile_last_success_at  # noqa: PLC0415
    from tests.celery_support import ROOT, WorkerProcess, wait_until  # noqa: PLC0415

    periodic_tasks_ensure()
    fast, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=RECONCILE_TASK).update(interval=fast)
    env = {**worker_env, "REDIS_URL": sentinel_set.url}
    env.pop("CELERY_BROKER_URL", None)  # the default follows REDIS_URL: kombu's sentinel:// form
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    beat_log = open(tmp_path / "beat.log", "ab")  # noqa: SIM115
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "INFO",
         "-s", str(tmp_path / "beat-schedule"), "--max-interval", "1"],
        cwd=ROOT, env=env, stdout=beat_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        first = wait_until(reconcile_last_success_at, timeout=40)
        assert first is not None, worker.log()[-3000:]
        old = sentinel_set.kill_master()
        killed = time.monotonic()
        sentinel_set.wait_for_new_master(old.port, timeout=20)
        promoted_at = timezone.now()
        again = wait_until(lambda: (reconcile_last_success_at() or first) > promoted_at, timeout=40)
        assert again, worker.log()[-3000:] + (tmp_path / "beat.log").read_text()[-2000:]
        print(
            f"\nReconcile ran again through the new master {time.monotonic() - killed:.1f} s after the kill"
        )
    finally:
        beat.terminate()
        beat.wait(timeout=15)
        beat_log.close()
        worker.stop()


def test_the_live_board_polls_during_the_failover_and_is_live_on_the_new_master(
    sentinel_set, token_client, staff_token
):
    """A real uvicorn on the Sentinel URL: its hub's subscription follows the promoted master."""
    from tests.live_support import AsgiServer, LiveView  # noqa: PLC0415

    session = session_make(capacity=10)
    people = participants_make(2)
    server = AsgiServer(REDIS_URL=sentinel_set.url).start()
    view = LiveView.open(f"{server.url}/ws/occupancy/", token=staff_token)
    base = f"/api/sessions/{session.pk}/check-in/"
    try:
        view.wait_for(lambda v: v.mode == "live" and str(session.pk) in v.sessions, timeout=15)
        old = sentinel_set.kill_master()
        view.wait_for(lambda v: v.mode == "polling", timeout=10)
        answer = token_client.post(base, {"participant": str(people[0].pk)}, format="json")
        assert answer.status_code == 201
        view.wait_for(lambda v: v.count(session.pk) == 1, timeout=10)  # by polling MongoDB
        sentinel_set.wait_for_new_master(old.port, timeout=15)
        view.wait_for(lambda v: v.mode == "live", timeout=10)
        _wait(is_redis_available, timeout=10, what="this process back on Redis")
        answer = token_client.post(base, {"participant": str(people[1].pk)}, format="json")
        assert answer.status_code == 201
        view.wait_for(lambda v: v.count(session.pk) == 2, timeout=10)
        assert view.modes[-2:] == ["polling", "live"]
        view.assert_versions_never_decrease()
        assert view.ws.protocol.state.name == "OPEN"  # the failover never disconnected the client
    finally:
        view.close()
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]
