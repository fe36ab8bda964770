"""Logging: one console handler; expected outages quiet, secrets masked."""

from config.env import env

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
    },
    # Every handler gets both filters: an expected outage's traceback becomes one line (repeated
    # at most once per REDIS_OUTAGE_SUMMARY_SECONDS), and every line goes through the one masking
    # policy (redis_fallback.masking), whichever library wrote it, in web, worker and beat.
    "filters": {
        "quiet_outages": {"()": "redis_fallback.logfilters.QuietOutages"},
        "mask_secrets": {"()": "redis_fallback.logfilters.MaskSecrets"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["quiet_outages", "mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO"},
        # pymongo logs every heartbeat at DEBUG: keep it quiet unless asked.
        "pymongo": {"level": "WARNING"},
        # django-health-check logs every failed check with a traceback, per request: while a
        # dependency is down that is one traceback per poll. The report itself says what failed.
        "health_check": {"level": "ERROR"},
    },
}
