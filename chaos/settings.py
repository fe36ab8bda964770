"""Settings for the chaos suite and the benchmark: production-like, on loopback, throwaway key.

Used by devtools.stack for gunicorn, the Celery worker and beat. DEBUG is off (no query log, no
debug 500 pages) so the processes behave and cost what they would in production.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import LOGGING, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY", default="chaos-only-insecure-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# The driver creates one user; it does not measure PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# collectstatic does not run for the chaos stack: no manifest lookups.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Every 409/404 verdict would be a django.request WARNING line; keep errors (5xx) only.
LOGGING = {
    **LOGGING,
    "loggers": {**LOGGING["loggers"], "django.request": {"level": "ERROR"}},
}
# Every line of an expected Redis outage is let through (as one line, no traceback): the checks
# count the worker's "Couldn't ack" lines, one per fault, and faults come closer together than the
# operator's one-a-minute summary interval.
REDIS_OUTAGE_SUMMARY_SECONDS = 0
# Failpoints armed in every process of the stack (core.failpoints), e.g.
# "check_in.after_increment=sigstop:0.05": the stalled-worker fault of the chaos suite.
CHECKIN_FAILPOINTS = env("CHECKIN_FAILPOINTS", default="")
