"""`manage.py reconcile_counters`: the reconcile run, on demand, in this process."""

from django.core.management.base import BaseCommand

from sessions_app.services.reconcile import counters_reconcile


class Command(BaseCommand):
    help = "Repair session counters from the CheckIn records and reseed Redis (if available)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale", type=float, default=None,
            help="Seconds an admission or check-out may be in flight before it is ended "
                 "(default: CHECKIN_STALE_OP_SECONDS; 0 when no traffic runs).",
        )  # fmt: skip

    def handle(self, *args, stale=None, **options):
        summary = counters_reconcile(stale_seconds=stale)
        if summary.lease_busy:
            self.stdout.write("Another reconcile run holds the lease; nothing done.")
            return
        self.stdout.write(
            f"sessions={summary.sessions} repaired={summary.repaired} ended_ops={summary.ended_ops} "
            f"reseeded={summary.reseeded} failed={summary.failed} "
            f"redis={'skipped' if summary.redis_skipped else 'ok'} "
            f"duration_ms={summary.duration_ms:.0f}"
        )
        for failure in summary.failed_sessions:
            self.stderr.write(f"failed: {failure}")
        if summary.failed:
            raise SystemExit(1)
