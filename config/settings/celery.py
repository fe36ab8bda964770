"""Celery: broker, transport, retries, liveness and the periodic reconcile."""

from config.env import env
from config.settings.redis import (
    REDIS_OUTAGE_SUMMARY_SECONDS,
    REDIS_SENTINEL,
    REDIS_SOCKET_CONNECT_TIMEOUT,
    REDIS_SOCKET_TIMEOUT,
    REDIS_URL_FOR_CELERY,
)

# Default: the Redis of REDIS_URL; under Sentinel kombu's form, sentinel://h1:26379;sentinel://...
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL_FOR_CELERY)
# kombu's Redis transport with acknowledgements that cannot wedge the worker (see
# jobs_app/celery_broker.py), its Sentinel twin for sentinel:// URLs; "redis" or "sentinel"
# select kombu's own. Other brokers: their URL decides.
CELERY_BROKER_TRANSPORT = env(
    "CELERY_BROKER_TRANSPORT",
    default="jobs_app.celery_broker:Transport"
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else "jobs_app.celery_broker:SentinelTransport"
    if CELERY_BROKER_URL.startswith("sentinel://")
    else None,
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=90)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Stalled-job detection: a task is acknowledged only when it finished; if its worker dies, Redis
# redelivers it after the visibility timeout (kombu restores unacked messages periodically).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "socket_connect_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=1.0),
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=1.0),
    "health_check_interval": 10,
}
if CELERY_BROKER_URL.startswith("sentinel://"):
    # kombu's Sentinel transport: the master's name, and bounded, unretried Sentinel queries.
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        master_name=env(
            "CELERY_BROKER_SENTINEL_MASTER",
            default=REDIS_SENTINEL["master_name"] if REDIS_SENTINEL else "mymaster",
        ),
        sentinel_kwargs={
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
        },
    )
# Broker connection: the worker reconnects by itself (capped exponential backoff, see
# jobs_app/celery_consumer.py); publishing from workers and beat retries 10 times, capped at 3 s.
CELERY_WORKER_CONSUMER = "jobs_app.celery_consumer:ResilientConsumer"
CELERY_BROKER_RECONNECT_BACKOFF_MAX = 3.0
# While the broker stays unreachable the worker logs one summary line this often (seconds).
CELERY_BROKER_OUTAGE_SUMMARY_SECONDS = REDIS_OUTAGE_SUMMARY_SECONDS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = 10
CELERY_TASK_PUBLISH_RETRY = True
# kombu takes a URL's several hosts (``sentinel://a;sentinel://b;...``) as alternates: it counts a
# retry per host and sleeps only after trying them all, so 10 retries over 3 Sentinels gave ~1.3 s,
# not ~15 s, and beat's tick sent during a failover was lost (chaos seed 61). Retries per host.
_BROKER_HOSTS = len(CELERY_BROKER_URL.split(";")) if CELERY_BROKER_URL else 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    # A test of beat's outage log lowers it (each failed publish takes ~15 s with 10).
    "max_retries": env.int("CELERY_TASK_PUBLISH_MAX_RETRIES", default=10) * _BROKER_HOSTS,
    "interval_start": 0.1,
    "interval_step": 0.3,
    "interval_max": 3.0,
}
# Liveness: a worker that has a free slot while tasks wait in its queues, and takes none for this
# long, exits (code 70) so its supervisor restarts it (jobs_app/liveness.py); 0 switches it off.
CELERY_WORKER_STUCK_SECONDS = env.float("CELERY_WORKER_STUCK_SECONDS", default=30.0)
# Publishing from a web request: bounded (at most ~0.3 s of retries), then the MongoDB outbox.
CELERY_WEB_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.1,
    "interval_max": 0.2,
}
# Periodic capacity-counter reconciliation (beat, DatabaseScheduler; editable in the admin).
RECONCILE_INTERVAL_SECONDS = env.int("RECONCILE_INTERVAL_SECONDS", default=30)
# The MongoDB lease that keeps two reconcile runs from overlapping expires after this long even
# if its holder died.
RECONCILE_LEASE_SECONDS = env.int("RECONCILE_LEASE_SECONDS", default=120)
