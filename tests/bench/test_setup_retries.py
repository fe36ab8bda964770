"""make bench's set-up requests against a real HTTP server that answers what the test scripts.

A set-up request (a session to measure in, the places that fill a session) answered 503 or 429 is
sent again after its Retry-After, a bounded number of times, and then fails the run loudly; a
measured request is sent once, whatever it answers.
"""

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest

from bench import scenarios
from bench.__main__ import parse_args, run_section, section_times
from bench.open_loop import Bed
from chaos.api import RecordingClient

BUSY = (503, {"reason": "busy", "detail": "The service is busy."}, "0")
UNAVAILABLE = (503, {"reason": "database_unavailable", "detail": "Retry shortly."}, "0")
CREATED = (201, {"id": "65f000000000000000000001", "check_in_count": 1}, None)


class _Scripted(ThreadingHTTPServer):
    """Answers each POST with the next (status, body, Retry-After) of ``script``; the last one
    repeats. Keeps every request's path and JSON body."""

    def __init__(self, script):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script)
        self.seen: list[tuple[str, dict]] = []


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        server.seen.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
        status, body, retry_after = server.script[min(len(server.seen), len(server.script)) - 1]
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(*script):
        server = _Scripted(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _run(server, scenario):
    """Run ``scenario(bench)`` against ``server`` with a Bench whose client is 'ours'."""

    async def go():
        client = RecordingClient(
            f"http://127.0.0.1:{server.server_address[1]}", "t", t0=time.monotonic()
        )
        bench = scenarios.Bench(
            stack=None,
            webs={},
            clients={"ours": client},
            view=None,
            participants=[("p1", "T1"), ("p2", "T2"), ("p3", "T3")],
        )
        try:
            return await scenario(bench)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_session_answered_busy_then_unavailable_is_created_on_the_third_send(serve):
    server = serve(BUSY, UNAVAILABLE, CREATED)
    assert _run(server, scenarios.new_session_keep) == "65f000000000000000000001"
    assert [path for path, _ in server.seen] == ["/api/sessions/"] * 3


def test_429_is_retried_too(serve):
    server = serve((429, {"detail": "Slow down."}, "0"), CREATED)
    assert _run(server, scenarios.new_session_keep) == "65f000000000000000000001"
    assert len(server.seen) == 2


def test_set_up_gives_up_after_its_attempts_and_fails_the_run_naming_the_answers(serve):
    server = serve(BUSY, BUSY, UNAVAILABLE)  # the last repeats
    with pytest.raises(RuntimeError) as failed:
        _run(server, scenarios.new_session_keep)
    assert len(server.seen) == scenarios.SETUP_ATTEMPTS
    message = str(failed.value)
    assert message.startswith("create session: gave up after 5 answers: 503 busy; 503 busy; ")
    assert message.endswith("503 database_unavailable")


def test_an_answer_other_than_503_or_429_is_not_retried(serve):
    server = serve((400, {"capacity": ["Ensure this value is greater than 0."]}, None), CREATED)
    with pytest.raises(RuntimeError, match="create session: gave up after 1 answers: 400"):
        _run(server, scenarios.new_session_keep)
    assert len(server.seen) == 1


def test_the_retry_waits_for_retry_after(serve):
    server = serve((503, {"reason": "busy"}, "1"), CREATED)
    started = time.monotonic()
    _run(server, scenarios.new_session_keep)
    assert time.monotonic() - started >= 1.0


def test_filling_a_session_retries_each_place_with_its_own_nonce(serve):
    server = serve(BUSY, CREATED, UNAVAILABLE, CREATED)
    _run(server, lambda bench: scenarios.fill_session(bench, "s1", 2))
    sent = [(path, body["participant"], body["nonce"]) for path, body in server.seen]
    assert [p for p, _, _ in sent] == ["/api/sessions/s1/check-in/"] * 4
    assert [who for _, who, _ in sent] == ["p1", "p1", "p2", "p2"]
    assert sent[0][2] == sent[1][2] and sent[2][2] == sent[3][2] and sent[1][2] != sent[2][2]


def test_a_session_that_cannot_be_filled_fails_the_run(serve):
    server = serve(CREATED, (409, {"reason": "session_full"}, None))
    with pytest.raises(RuntimeError, match="fill session s1: gave up after 1 answers: 409"):
        _run(server, lambda bench: scenarios.fill_session(bench, "s1", 2))


def test_a_measured_check_in_is_sent_once_whatever_it_answers(serve):
    server = serve(BUSY, CREATED)

    async def one(bench):
        return await scenarios.check_in_request(bench, "ours", "s1")(0)

    record = _run(server, one)
    assert (record.status, record.reason, len(server.seen)) == (503, "busy", 1)


def test_make_bench_defaults_three_runs_and_the_full_open_loop_ladder_at_6_s_a_rung():
    args = parse_args([])
    assert (args.runs, args.open_loop_rates, args.open_loop_seconds) == (
        3,
        "5,10,15,20,30,40,50,60,80,100,120,160,200,240,320",
        6.0,
    )
    assert args.scale_sizes == "100,10000,100000" and args.scale_check_ins == 50_000


def test_section_times_names_every_section_in_order_and_the_whole_run():
    line = section_times({"scale": 125.4, "open_loop": 250.6}, 900.0)
    assert line == "sections: scale 125 s, open_loop 251 s; whole run 900 s (15.0 min)"


def test_a_section_that_fails_fails_the_run_with_the_last_lines_of_its_log(tmp_path, capsys):
    with pytest.raises(SystemExit) as failed:
        run_section("no_such_section", [], tmp_path)
    assert str(failed.value).startswith("[bench] no_such_section failed (exit 1); log: ")
    assert "[bench] no_such_section| " in capsys.readouterr().out
    assert "No module named bench.no_such_section" in (tmp_path / "no_such_section.log").read_text()


def test_the_open_loop_set_up_sends_again_after_busy_and_keeps_the_body(serve):
    """bench.open_loop's set-up between ladder steps meets the previous step's backlog."""

    def client(server):
        return httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}")

    server = serve(BUSY, UNAVAILABLE, CREATED)
    bed = SimpleNamespace(api=client(server))
    body = {"participant": "p1", "nonce": "n-1"}
    answer = Bed._setup_post(bed, "/api/sessions/s/check-in/", body)
    assert answer.status_code == 201
    assert [seen for _, seen in server.seen] == [body, body, body]  # the same nonce each time
    with pytest.raises(httpx.HTTPStatusError):
        Bed._setup_post(SimpleNamespace(api=client(serve(BUSY))), "/x", {})
