"""Admission-control settings side by side: ``python -m bench.admission_settings``.

The open-loop knee (``bench.open_loop``) is decided on this machine by a handful of ``busy``
refusals: a 6 s rung at 60/s fails on 4 of 360. Whether another setting of the admission control
(``core.middleware.AdmissionMiddleware``) refuses fewer scans without letting the tail grow is a
question that runs minutes apart cannot answer: this machine's speed moves more between them than
the setting does. Here every setting runs at once on one stack: one SecantusDB and redis-server,
one gunicorn (2 threaded workers) per setting, each started with its environment. The door load
of ``bench.open_loop`` (Poisson over 20 doors and 10 sessions, latency from each scan's intended
time, Redis healthy) goes to one gunicorn at a time, rung by rung, the settings in turn (their
order reversed every other round), so each setting meets the same drift; every step starts on
emptied collections.

``--setting NAME:KEY=VALUE,KEY=VALUE`` (repeatable; ``NAME:`` alone is the defaults) names the
settings; by default the defaults, a slower controlled delay (interval 0.3 s, target 0.05 s) and
6 slots a worker. Printed: each step as it ends, then per setting and rate the unserved scans
(refusals), the p99 and the answered p99 of each round.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import open_loop
from devtools.stack import Stack, install_signal_handlers

DEFAULT_SETTINGS = (
    "defaults:",
    "codel 0.3/0.05:WEB_ADMISSION_QUEUE_INTERVAL_SECONDS=0.3,"
    "WEB_ADMISSION_QUEUE_TARGET_SECONDS=0.05",
    "6 slots:WEB_MAX_CONCURRENT_REQUESTS=6",
)
SEED = 100  # schedules of their own, not the ladder's


def parse_setting(text: str) -> tuple[str, dict[str, str]]:
    """``NAME:KEY=VALUE,KEY=VALUE`` -> (name, environment); ``NAME:`` is the defaults."""
    name, sep, pairs = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"a setting is NAME:KEY=VALUE,...: {text!r}")
    env = {}
    for pair in filter(None, (p.strip() for p in pairs.split(","))):
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"not KEY=VALUE: {pair!r} in {text!r}")
        env[key.strip()] = value.strip()
    return name.strip(), env


def summary(results: dict[str, dict[float, list[dict]]]) -> list[str]:
    """One line per setting and rate: each round's unserved scans, p99 and answered p99."""
    lines = []
    for name, by_rate in results.items():
        for rate, steps in by_rate.items():
            unserved = [f"{s['unserved']}/{s['scans']}" for s in steps]
            p99 = [open_loop._ms(s["p99_ms"]) for s in steps]
            served = [open_loop._ms(s["served_p99_ms"]) for s in steps]
            lines.append(
                f"{name} at {rate:g}/s: unserved {', '.join(unserved)}; p99 {', '.join(p99)}; "
                f"answered p99 {', '.join(served)}"
            )
    return lines


def measure(settings, rates, seconds: float, rounds: int, logdir: Path) -> dict:
    stack = Stack(
        logdir=logdir,
        db_name="checkin_admission_settings",
        extra_env={"STACK_LOG_LEVEL": "WARNING"},
    )
    results: dict[str, dict[float, list[dict]]] = {
        name: {r: [] for r in rates} for name, _ in settings
    }
    try:
        stack.start_servers()
        webs = {}
        for i, (name, env) in enumerate(settings):
            webs[name] = stack.start_web("ours" if i == 0 else f"setting{i}", workers=2, **env)
        people = open_loop.people_for(
            [(r, SEED + n) for n in range(rounds) for r in rates], seconds
        )
        bed = open_loop.Bed(stack, people)
        bed.redis_backed()
        for n in range(rounds):
            order = settings if n % 2 == 0 else settings[::-1]
            for rate in rates:
                for name, _env in order:
                    bed.web = webs[name]
                    step, *_ = open_loop.run_step(
                        bed, "healthy", rate, seconds, timeout=open_loop.TIMEOUT_S,
                        seed=SEED + n,
                    )  # fmt: skip
                    results[name][rate].append(step)
                    print(
                        f"[admission_settings] round {n + 1} {rate:g}/s {name}: "
                        f"p50 {open_loop._ms(step['p50_ms'])}, p99 {open_loop._ms(step['p99_ms'])}"
                        f", unserved {step['unserved']}/{step['scans']}",
                        flush=True,
                    )
        bed.close()
    finally:
        stack.stop()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.admission_settings", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--setting", action="append", help="NAME:KEY=VALUE,... (repeatable)")
    parser.add_argument("--rates", default="60,80,160", help="offered scans/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=12.0, help="seconds per step")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    settings = [parse_setting(s) for s in (args.setting or DEFAULT_SETTINGS)]
    rates = [float(r) for r in args.rates.split(",")]
    install_signal_handlers()
    logdir = Path(tempfile.mkdtemp(prefix="admission-settings-"))
    results = measure(settings, rates, args.seconds, args.rounds, logdir)
    print("\n".join(summary(results)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
