"""Test settings: the pytest plugin (tests/plugin.py) points MONGODB_URI and REDIS_URL at servers it started."""

from .base import *  # noqa: F403
from .base import LIVE_FULL_SYNC_SECONDS, env

SECRET_KEY = env("SECRET_KEY", default="test-only-insecure-key")
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
MONGODB_NAME = env("MONGODB_NAME", default="checkin")
# Fast hashing: tests create users, they do not test PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# No manifest in tests: collectstatic does not run before them.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The schema is under test (tests/config/test_api_schema_run.py); production keeps it off.
API_DOCS_ENABLED = True
# A test's ASGI server (tests/live_support.py) proves that notifications alone keep the board
# right: it sets a full sync too long to help, through the environment of its process.
LIVE_FULL_SYNC_SECONDS = env.float("LIVE_FULL_SYNC_SECONDS", default=LIVE_FULL_SYNC_SECONDS)
