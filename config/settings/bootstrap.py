"""`manage.py bootstrap`, run by `make run` and the container entrypoint."""

from config.env import env

BOOTSTRAP_ADMIN_USERNAME = env("BOOTSTRAP_ADMIN_USERNAME", default="admin")
# Empty: in development (`make run`) a password is generated once, printed and saved to
# var/admin-credentials.txt; anywhere else no staff user is created (nothing secret on stdout).
BOOTSTRAP_ADMIN_PASSWORD = env("BOOTSTRAP_ADMIN_PASSWORD", default="")
BOOTSTRAP_GENERATE_PASSWORD = False  # config.settings.dev turns it on
# Idempotent set-up steps each app adds (dotted paths to callables returning a message or None).
BOOTSTRAP_STEPS: list[str] = [
    "sessions_app.groups.door_staff_bootstrap",
    "jobs_app.schedule.periodic_tasks_ensure",
    "sessions_app.services.session_create_demo_data",
]
