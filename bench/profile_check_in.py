"""Where a 201 check-in's web-worker CPU goes: ``python -m bench.profile_check_in [-n N]``.

Starts its own stack as ``bench.cpu_split`` does (SecantusDB, redis-server, one threaded gunicorn
worker, the chaos settings: production-like, DEBUG off), creates an open session and ``N + WARM``
participants, sends ``WARM`` check-ins unprofiled (connections, caches, imports), then attaches
py-spy (``.venv/bin/py-spy record``, sampling, the worker is not restarted or wrapped) to the
worker and sends ``N`` check-ins by participant id, one at a time, each answered 201.

py-spy records only the thread that holds the GIL (``--gil``): a thread waiting on a socket or a
lock has released it, so a sample is CPU the worker spends in Python or in C called from Python
(py-spy's own idle detection counted threads blocked in ``recv`` as running, here). Printed: the worker's CPU per
check-in (user + system from /proc, the number ``bench.cpu_split`` reports), then the top
``--top`` functions by own time (the function on top of the stack) and by cumulative time (on
the stack at all), each as a share of the samples and as milliseconds per check-in (the share of
the measured CPU), and the own time by package. ``--raw FILE`` keeps py-spy's collapsed stacks
(one stack and its count a line) for a flame graph or a second look.

py-spy needs ptrace rights on the worker (root, or ``kernel.yama.ptrace_scope`` 0, or
``CAP_SYS_PTRACE`` in a container); it is pinned in requirements-dev.txt.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psutil

from bench.cpu_split import session_create
from bench.scale import PARTICIPANTS, participant_doc
from chaos.mongo import MongoView
from devtools.stack import Stack

DEFAULT_N, WARM, DEFAULT_TOP, DEFAULT_RATE = 300, 30, 25, 500
DB_NAME = "checkin_profile"
NO_FRAME = "(no Python frame)"  # py-spy caught the thread in C with no Python caller
# A py-spy frame: "function (path:line)"; --function makes the line the function's first one.
_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^()]*):(?P<line>\d+)\)$")


def py_spy_path() -> str:
    """Return the py-spy executable beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy not found: pip install -r requirements-dev.txt")
    return found


def frame_name(frame: str) -> str:
    """Shorten a py-spy frame to ``module/path.py:function`` (its package path, no line)."""
    match = _FRAME.match(frame)
    if match is None:
        return frame or NO_FRAME
    path = match["path"]
    if "site-packages/" in path:  # with --full-filenames
        path = path.split("site-packages/", 1)[1]
    return f"{path}:{match['func']}"


def package_of(name: str) -> str:
    """Name the top-level package of a shortened frame (``django``, ``pymongo``, ``sessions_app``)."""
    if name == NO_FRAME:
        return name
    return name.split(":", 1)[0].split("/", 1)[0].removesuffix(".py")


def parse_collapsed(lines: list[str]) -> list[tuple[list[str], int]]:
    """Parse py-spy's raw output (``frame;frame;...;frame count``, root first) into stacks."""
    stacks = []
    for line in map(str.rstrip, lines):
        if not line:
            continue
        frames, _, count = line.rpartition(" ")
        stacks.append(([frame_name(f) for f in frames.split(";")], int(count)))
    return stacks


def tally(stacks: list[tuple[list[str], int]]) -> tuple[Counter, Counter, Counter, int]:
    """Count own samples, cumulative samples (once per stack) and own samples by package."""
    own, cumulative, packages, total = Counter(), Counter(), Counter(), 0
    for frames, count in stacks:
        total += count
        own[frames[-1]] += count
        packages[package_of(frames[-1])] += count
        for name in set(frames):
            cumulative[name] += count
    return own, cumulative, packages, total


def top_lines(title: str, counts: Counter, total: int, ms_per_sample: float, top: int) -> list:
    """A table: share of the samples and ms per check-in, for the ``top`` largest counts."""
    lines = [title, f"{'share':>6} {'ms/req':>7}  function"]
    for name, count in counts.most_common(top):
        lines.append(f"{count / total:6.1%} {count * ms_per_sample:7.3f}  {name}")
    return lines


def profile(
    stack: Stack, web, *, n: int, rate: int, raw: Path, target: str = "worker"
) -> tuple[list[str], float]:
    """Send WARM then ``n`` check-ins, the ``n`` under py-spy; return its lines and the ms of CPU
    per check-in of the profiled process (``target``: the web worker, or the stand-in)."""
    view = MongoView(stack.mongo.uri, DB_NAME)
    docs = [participant_doc() for _ in range(n + WARM)]
    view.db[PARTICIPANTS].insert_many(docs)
    view.close()
    pid = web.worker_pids()[0] if target == "worker" else stack.mongo.proc.pid
    worker = psutil.Process(pid)
    headers = {"Authorization": f"Token {stack.token}"}
    with httpx.Client(base_url=web.url, headers=headers, timeout=30) as client:
        url = f"/api/sessions/{session_create(client, 'profile')}/check-in/"

        def check_in(doc) -> None:
            body = {"participant": str(doc["_id"]), "nonce": uuid.uuid4().hex}
            answer = client.post(url, json=body)
            if answer.status_code != 201:
                raise SystemExit(f"expected 201, got {answer.status_code}: {answer.text[:300]}")

        for doc in docs[:WARM]:
            check_in(doc)
        spy = subprocess.Popen(
            [py_spy_path(), "record", "--pid", str(worker.pid), "--rate", str(rate),
             "--format", "raw", "--function", "--gil", "--nonblocking", "--output", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.0)  # py-spy attaches
        before = sum(worker.cpu_times()[:2])
        for doc in docs[WARM:]:
            check_in(doc)
        worker_ms = (sum(worker.cpu_times()[:2]) - before) / n * 1000
        spy.send_signal(signal.SIGINT)
        _, errors = spy.communicate(timeout=60)
    if not raw.exists():
        raise SystemExit(f"py-spy wrote nothing: {errors.strip()[-500:]}")
    return raw.read_text().splitlines(), worker_ms


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_check_in")
    parser.add_argument("-n", type=int, default=DEFAULT_N, help=f"check-ins ({DEFAULT_N})")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, help=f"rows ({DEFAULT_TOP})")
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE, help="py-spy samples/s")
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    parser.add_argument(
        "--process",
        choices=("worker", "stand-in"),
        default="worker",
        help="the process to profile: the web worker (default) or SecantusDB",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="profile-check-in-"))
    raw = args.raw or logdir / f"{args.process}.collapsed"
    stack = Stack(logdir=logdir, db_name=DB_NAME, extra_env={"STACK_LOG_LEVEL": "WARNING"})
    try:
        stack.start_servers()
        web = stack.start_web("ours", workers=1)
        lines, worker_ms = profile(
            stack, web, n=args.n, rate=args.rate, raw=raw, target=args.process
        )
    finally:
        stack.stop()
    own, cumulative, packages, total = tally(parse_collapsed(lines))
    if not total:
        raise SystemExit("py-spy recorded no running samples")
    # The samples share the measured CPU: each one stands for this many ms of one check-in.
    ms_per_sample = worker_ms / total
    print(
        f"{args.n} check-ins (201), one at a time; {args.process} CPU {worker_ms:.2f} ms per check-in "
        f"(/proc); {total} py-spy samples at {args.rate}/s ({os.getloadavg()[0]:.2f} load)"
    )
    print()
    print("\n".join(top_lines("By own time:", own, total, ms_per_sample, args.top)))
    print()
    print("\n".join(top_lines("By cumulative time:", cumulative, total, ms_per_sample, args.top)))
    print()
    print("\n".join(top_lines("Own time by package:", packages, total, ms_per_sample, 15)))
    print(f"\ncollapsed stacks: {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
