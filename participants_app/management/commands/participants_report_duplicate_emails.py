"""``manage.py participants_report_duplicate_emails [--fix]``: list mailboxes held twice."""

from django.core.management.base import BaseCommand

from participants_app.email_duplicates import email_clashes_describe, email_normalize_stored
from participants_app.models import Participant


class Command(BaseCommand):
    help = (
        "List participants whose e-mails are one mailbox once normalised (NFC, lower case, IDNA "
        "domain). With --fix, normalise the other stored e-mails; clashing rows are never changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="normalise the non-clashing rows")

    def handle(self, *args, fix=False, **options):
        changed, clashes = email_normalize_stored(Participant, write=fix)
        verb = "Normalised" if fix else "Would normalise"
        self.stdout.write(f"{verb} {changed} e-mail(s).")
        self.stdout.write(f"{len(clashes)} mailbox(es) held by more than one participant:")
        for line in email_clashes_describe(clashes):
            self.stdout.write(f"  {line}")
        if clashes:
            self.stdout.write("Merge or correct these by hand (they were left unchanged).")
