"""How long does a participant import take on the stand-in? ``python -m bench imports``

Starts its own MongoDB stand-in (SecantusDB) and redis-server, migrates, then per run, on an empty
participant collection: previews a CSV of ``--rows`` new participants (read, validate, match by
e-mail: the upload request), applies it (the Celery task's work, called in this process: batches
of 500, bulk writes, progress after each), then previews and applies the same file again (every
row unchanged) and a file with every name changed (every row an update). Prints the median and
the spread (min-max) over ``--runs`` runs of each phase, in seconds and rows per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from devtools.servers import RedisServer, SecantusServer

PHASES = [
    "preview new",
    "apply new",
    "preview same",
    "apply same",
    "preview changed",
    "apply changed",
]


def _setup_django(mongo_uri: str, redis_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        MONGODB_URI=mongo_uri,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        MONGODB_NAME="bench_imports",
    )
    import django  # noqa: PLC0415 - configured with this run's servers first

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415 - after setup

    call_command("migrate", verbosity=0)


def _csv(rows: int, name: str) -> bytes:
    lines = "".join(f"{name} {i};person{i}@bench.example;Org {i % 50};\n" for i in range(rows))
    return f"Full name;E-mail;Organization;Ticket code\n{lines}".encode()


def _run(rows: int) -> dict[str, float]:
    """One run on an empty collection: each phase's seconds."""
    # After django.setup(): the app's modules need configured settings.
    from jobs_app.models import Job  # noqa: PLC0415
    from participants_app.imports.services import (  # noqa: PLC0415
        participant_import_confirm,
        participant_import_preview,
        participant_import_run,
    )
    from participants_app.models import ImportChunk, Participant  # noqa: PLC0415

    Participant.objects.all().delete()
    Job.objects.all().delete()
    ImportChunk.objects.all().delete()
    seconds = {}
    expected = {"new": "created", "same": "unchanged", "changed": "updated"}
    for kind, content in (
        ("new", _csv(rows, "Person")),
        ("same", _csv(rows, "Person")),
        ("changed", _csv(rows, "Renamed")),
    ):
        started = time.perf_counter()
        preview = participant_import_preview(content=content, file_name="b.csv", user_name="b")
        seconds[f"preview {kind}"] = time.perf_counter() - started
        job = participant_import_confirm(job=preview.job)
        started = time.perf_counter()
        while participant_import_run(job_id=str(job.pk), budget_seconds=3600):
            pass
        seconds[f"apply {kind}"] = time.perf_counter() - started
        job = Job.objects.get(pk=job.pk)
        if getattr(job, expected[kind]) != rows or job.status != Job.Status.DONE:
            raise SystemExit(f"{kind}: unexpected outcome {job.status} {expected[kind]}")
    if Participant.objects.count() != rows:
        raise SystemExit("the participant count is wrong")
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    mongo, redis = SecantusServer().start(), RedisServer().start()
    try:
        _setup_django(mongo.uri, f"redis://127.0.0.1:{redis.port}/0")
        runs = []
        for n in range(args.runs):
            runs.append(_run(args.rows))
            print(f"run {n + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in runs[-1].items()),
                  file=sys.stderr, flush=True)  # fmt: skip
        print(f"participant import of {args.rows:,} rows on the stand-in: median (min-max) of "
              f"{args.runs} runs")  # fmt: skip
        print(f"{'phase':<16} {'seconds':>22} {'rows/s':>8}")
        for phase in PHASES:
            values = [run[phase] for run in runs]
            med = statistics.median(values)
            cell = f"{med:6.1f} ({min(values):.1f}-{max(values):.1f})"
            print(f"{phase:<16} {cell:>22} {args.rows / med:8.0f}")
    finally:
        redis.stop()
        mongo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
