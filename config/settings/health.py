"""Health endpoints (health_app; see README "Health")."""

from config.env import env

# Wall-clock budget of each dependency check; the checks run concurrently, so /health answers
# within about this long even while MongoDB or Redis hangs.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=0.8)
# Client timeouts of the MongoDB ping and of the broker check when the broker is not REDIS_URL.
HEALTH_PROBE_TIMEOUT_MS = env.int("HEALTH_PROBE_TIMEOUT_MS", default=400)
# MongoDB the health check pings; empty means DATABASES["default"] (HOST, PORT, USER, OPTIONS).
HEALTH_MONGODB_URI = env("HEALTH_MONGODB_URI", default="")
# Error texts (masked: no hosts, no users, no passwords) are shown to signed-in staff only;
# anyone else sees "redacted". False hides them from staff too.
HEALTH_SHOW_ERRORS = env.bool("HEALTH_SHOW_ERRORS", default=True)
# (RECONCILE_INTERVAL_SECONDS, in settings/celery.py: /health reports degraded when the last
# reconcile is older than two intervals.)

APP_VERSION = env("APP_VERSION", default="0.1.0")
