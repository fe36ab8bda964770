"""Prepare a fresh installation: staff user (once), door-staff group, demo data, periodic tasks.

The staff user's password comes from BOOTSTRAP_ADMIN_PASSWORD; only in development (`make run`,
BOOTSTRAP_GENERATE_PASSWORD) is one generated and printed. Elsewhere no user is created without it.

Idempotent: `make run` and the container entrypoint call it on every start.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = "Create the staff user once, demo data and periodic tasks (safe to run repeatedly)."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="Do not create demo data.")

    def handle(self, *args, no_demo=False, **options):
        self._ensure_staff_user()
        for dotted in settings.BOOTSTRAP_STEPS:
            if no_demo and dotted.endswith("demo_data"):
                continue
            message = import_string(dotted)()
            if message:
                self.stdout.write(message)

    def _ensure_staff_user(self):
        user_model = get_user_model()
        username = settings.BOOTSTRAP_ADMIN_USERNAME
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"Staff user '{username}' exists; its password is unchanged.")
            return
        password = settings.BOOTSTRAP_ADMIN_PASSWORD
        generated = not password
        if generated and not settings.BOOTSTRAP_GENERATE_PASSWORD:
            # Production: a generated password would end up in the container log.
            self.stdout.write(
                f"No staff user created: set BOOTSTRAP_ADMIN_PASSWORD, or run "
                f"`manage.py createsuperuser --username {username}`."
            )
            return
        if generated:
            password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if generated:
            data_dir = Path(os.environ.get("RUN_DATA_DIR", settings.BASE_DIR / "var"))
            credentials = data_dir / "admin-credentials.txt"
            credentials.parent.mkdir(parents=True, exist_ok=True)
            credentials.write_text(f"username: {username}\npassword: {password}\n")
            credentials.chmod(0o600)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created staff user '{username}' with password '{password}' "
                    f"(also saved to {credentials})."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Created staff user '{username}' from env."))
