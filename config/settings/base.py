"""Settings shared by every environment; values come from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
# A local .env is a convenience for developers; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# SECRET_KEY is set per environment: dev/test have throwaway defaults, production has none.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications -------------------------------------------------------------------------------
# Django's contrib apps run with ObjectId primary keys through the project's own AppConfigs.
DJANGO_APPS = [
    "config.apps.MongoAdminConfig",
    "config.apps.MongoAuthConfig",
    "config.apps.MongoContentTypesConfig",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "django_mongodb_backend",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    # Swagger UI's files, served from this app's static files (no CDN: venue networks may not
    # reach one).
    "drf_spectacular_sidecar",
    "config.apps.MongoBeatConfig",
    "health_check",
    "config.apps.MongoAxesConfig",  # sign-in lockout (accounts/lockout.py)
]
LOCAL_APPS = [
    "accounts",
    "redis_fallback",
    "sessions_app",
    "participants_app",
    "health_app",
    "jobs_app",
    "door_app",
    "live_app",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# Migrations of third-party apps, regenerated for ObjectIdAutoField (see README).
MIGRATION_MODULES = {
    "admin": "config.mongo_migrations.admin",
    "auth": "config.mongo_migrations.auth",
    "contenttypes": "config.mongo_migrations.contenttypes",
    "django_celery_beat": "config.mongo_migrations.django_celery_beat",
    "axes": "config.mongo_migrations.axes",
}

DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"

MIDDLEWARE = [
    # First: health probes addressed by IP are answered before Host validation (see the module).
    "health_app.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    # Last: turns a sign-in that hit the lockout (admin login) into 429 with Retry-After.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # core is a package, not an app: its template filters are named here.
            "libraries": {"staff_time": "core.templatetags.staff_time"},
        },
    },
]

# --- Database (MongoDB) -------------------------------------------------------------------------
MONGODB_URI = env("MONGODB_URI", default="mongodb://127.0.0.1:27017/")
MONGODB_NAME = env("MONGODB_NAME", default="checkin")
# Short server-selection and socket timeouts: a hung MongoDB must not hang a request for 30 s.
MONGODB_TIMEOUT_MS = env.int("MONGODB_TIMEOUT_MS", default=3000)
# One deadline for all MongoDB work of one web request (pymongo's client-side operation timeout,
# core/middleware.py): a hung MongoDB answers a door scanner 503 in about this long. Jobs outside
# requests keep the client timeouts above. 0 switches it off; the admin (bulk actions) is exempt.
# pymongo's server selection checks the deadline every 0.5 s, so a request may take up to 0.5 s
# past it: 1.4 s keeps the worst case (1.9 s) within the door's "about 2 s".
MONGODB_REQUEST_TIMEOUT_SECONDS = env.float("MONGODB_REQUEST_TIMEOUT_SECONDS", default=1.4)
# The import preview reads the whole file's matches (seconds on the stand-in for a large file).
MONGODB_REQUEST_TIMEOUT_EXEMPT = ["/admin/", "/api/participants/import/"]
# After MongoDB failed a request, a web process answers 503 at once for this long (then the next
# request pings MongoDB briefly first), so requests do not queue behind each other's deadlines.
MONGODB_FAIL_FAST_SECONDS = env.float("MONGODB_FAIL_FAST_SECONDS", default=2.0)
# Admission control per web process (core/middleware.py): at most this many writes under
# WEB_ADMISSION_PATHS at once; one that finds no free slot within WEB_ADMISSION_WAIT_SECONDS is
# answered 503 "busy" at once instead of queueing for MongoDB past its deadline. 0: no limit.
WEB_MAX_CONCURRENT_REQUESTS = env.int("WEB_MAX_CONCURRENT_REQUESTS", default=4)
WEB_ADMISSION_WAIT_SECONDS = env.float("WEB_ADMISSION_WAIT_SECONDS", default=0.25)
WEB_ADMISSION_PATHS = ["/api/", "/door/"]
DATABASES = {
    "default": {
        # django-mongodb-backend with joined fields in dot notation (the stand-in misreads the
        # nested form: select_related lost the related row; see core/mongo_backend/__init__.py).
        "ENGINE": "core.mongo_backend",
        "HOST": MONGODB_URI,
        "NAME": MONGODB_NAME,
        "OPTIONS": {
            "serverSelectionTimeoutMS": MONGODB_TIMEOUT_MS,
            "connectTimeoutMS": MONGODB_TIMEOUT_MS,
            "socketTimeoutMS": env.int("MONGODB_SOCKET_TIMEOUT_MS", default=10000),
            # A write is acknowledged only once it is in the journal: an acknowledged check-in
            # must survive a crash of the server (invariant 2). Measured on the stand-in, kill -9
            # right after 200 acknowledged inserts: 192 survived without, 200 with it (+0.7 ms
            # per write). A replica set's w="majority" journals too on real MongoDB.
            "journal": env.bool("MONGODB_JOURNAL", default=True),
            "appname": "checkin",
        },
    },
}

# --- Redis: cache, admission control, Celery broker ---------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.25)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
# Seconds between two probes of an unavailable Redis by the process's background prober (requests
# never probe: while the breaker is open they use the fallback at once).
REDIS_BREAKER_RESET_SECONDS = env.float("REDIS_BREAKER_RESET_SECONDS", default=1.0)
# While Redis stays unavailable each process logs one summary line this often (seconds); the
# outage's start and end are one line each, the probes themselves are DEBUG.
REDIS_OUTAGE_SUMMARY_SECONDS = env.float("REDIS_OUTAGE_SUMMARY_SECONDS", default=60.0)
# When Redis returns, each process rebuilds the admission sets from MongoDB (in its background
# prober) before it trusts Redis again. After each session it rests this many times as long as that
# session took, so the rebuild leaves MongoDB and the process's CPU to the doors (chaos, seed 35:
# unpaced, two workers rebuilding 117 sessions at once pushed door requests past their deadline).
ADMISSION_RESEED_PACE = env.float("ADMISSION_RESEED_PACE", default=1.0)
# django-redis wrapped by the project's fallback backend (LocMemCache while Redis is down).
# DJANGO_REDIS_IGNORE_EXCEPTIONS stays off: redis_fallback handles connection errors itself.
CACHES = {
    "default": {
        "BACKEND": "redis_fallback.cache.FallbackRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "checkin",
        "TIMEOUT": 60,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
        },
    },
    # Per-process copies of hot MongoDB reads (core/process_cache.py): tokens, sessions,
    # participants, each for a few seconds; no network, so a Redis outage does not touch it.
    "process": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "process-copies",
        "TIMEOUT": 5,
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
}
# How long a process keeps its copy of an API token and its user (with the user's permissions):
# a deleted token, a deactivated user or changed permissions take effect at once in the process
# that saved the change, and within this many seconds in the others. 0 turns the copy off.
API_TOKEN_CACHE_SECONDS = env.float("API_TOKEN_CACHE_SECONDS", default=5.0)
# How long a process keeps its copy of a session and of a participant for the door (see
# core/process_cache.py for why a stale copy never changes a decision). 0 turns it off.
DOOR_READ_CACHE_SECONDS = env.float("DOOR_READ_CACHE_SECONDS", default=2.0)
# The door page's check-out mode ends after one scan or after this many seconds without one: a
# door left in it would check out everyone arriving.
DOOR_CHECK_OUT_MODE_SECONDS = env.float("DOOR_CHECK_OUT_MODE_SECONDS", default=30.0)
# Django sessions live in MongoDB, not in the cache: staff stay logged in through a Redis outage.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Live occupancy (live_app: WebSockets on the ASGI server, the board at /board/) -------------
# Redis pub/sub channel the door publishes "session changed" on (pub/sub ignores the database
# number: give each deployment sharing a Redis its own channel).
LIVE_REDIS_CHANNEL = env("LIVE_REDIS_CHANNEL", default="checkin:live")
# The hub's PING on its subscription, and how long Redis may take to answer anything: a killed or
# SIGSTOPped Redis is noticed within about PING + TIMEOUT seconds.
LIVE_REDIS_PING_SECONDS = env.float("LIVE_REDIS_PING_SECONDS", default=0.5)
LIVE_REDIS_TIMEOUT_SECONDS = env.float("LIVE_REDIS_TIMEOUT_SECONDS", default=0.5)
LIVE_REDIS_RETRY_SECONDS = env.float("LIVE_REDIS_RETRY_SECONDS", default=1.0)
# Polling mode (Redis unavailable): one "changed since" MongoDB query per process this often,
# reaching back this much further than the last change seen (writes landing out of order).
LIVE_POLL_SECONDS = env.float("LIVE_POLL_SECONDS", default=0.5)
LIVE_POLL_OVERLAP_SECONDS = env.float("LIVE_POLL_OVERLAP_SECONDS", default=3.0)
# Live mode: the same query this often, for notifications that were never sent (a web process
# whose breaker was open, or one stopped between its write and its publish).
LIVE_BACKSTOP_POLL_SECONDS = env.float("LIVE_BACKSTOP_POLL_SECONDS", default=1.0)
# Both modes: a full read of the open sessions this often (a lost notification only delays).
LIVE_FULL_SYNC_SECONDS = env.float("LIVE_FULL_SYNC_SECONDS", default=5.0)
LIVE_HEARTBEAT_SECONDS = env.float("LIVE_HEARTBEAT_SECONDS", default=10.0)
# Deadline of each of the hub's MongoDB reads.
LIVE_DB_TIMEOUT_SECONDS = env.float("LIVE_DB_TIMEOUT_SECONDS", default=2.0)
# Where the board's browser opens its WebSocket: empty = the page's own host (a proxy sends /ws/
# to the ASGI server); e.g. "ws://127.0.0.1:8001" when the ASGI server has its own port.
LIVE_WEBSOCKET_URL = env("LIVE_WEBSOCKET_URL", default="")

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# kombu's Redis transport with acknowledgements that cannot wedge the worker (see
# jobs_app/celery_broker.py); "redis" selects kombu's own. Other brokers: their URL decides.
CELERY_BROKER_TRANSPORT = env(
    "CELERY_BROKER_TRANSPORT",
    default="jobs_app.celery_broker:Transport"
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
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
# Broker connection: the worker reconnects by itself (capped exponential backoff, see
# jobs_app/celery_consumer.py); publishing from workers and beat retries 10 times, capped at 3 s.
CELERY_WORKER_CONSUMER = "jobs_app.celery_consumer:ResilientConsumer"
CELERY_BROKER_RECONNECT_BACKOFF_MAX = 3.0
# While the broker stays unreachable the worker logs one summary line this often (seconds).
CELERY_BROKER_OUTAGE_SUMMARY_SECONDS = REDIS_OUTAGE_SUMMARY_SECONDS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = 10
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    # A test of beat's outage log lowers it (each failed publish takes ~15 s with 10).
    "max_retries": env.int("CELERY_TASK_PUBLISH_MAX_RETRIES", default=10),
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

# --- Auth, i18n, static -------------------------------------------------------------------------
# django-axes first (refuses locked-out sign-ins), then ModelBackend with a permission query that
# is right on MongoDB (see accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.MongoModelBackend",
]
# Sign-in lockout (accounts/lockout.py; django-axes, attempts stored in MongoDB: it holds while
# Redis is down, and in every process). Every lock is a delay that starts at
# AUTH_LOCKOUT_FIRST_DELAY_SECONDS, doubles with each further counted failure and is capped at
# AUTH_LOCKOUT_MAX_DELAY_SECONDS; a sign-in refused during it is not checked and not counted, so
# it cannot be stretched. Three counts, each locking only what it counts:
# - a user name at one address: AUTH_LOCKOUT_FAILURES failures;
# - a user name everywhere: failures from AUTH_LOCKOUT_NAME_ADDRESSES different addresses;
# - an address, across user names: AUTH_LOCKOUT_ADDRESS_FAILURES (a venue's doors share one).
# Failures are forgotten AUTH_LOCKOUT_MINUTES after the last one; a success clears its own user
# name's failures at its own address only. Staff unlock earlier in the admin ("Access attempts").
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env.int("AUTH_LOCKOUT_FAILURES", default=5)
AUTH_LOCKOUT_NAME_ADDRESSES = env.int("AUTH_LOCKOUT_NAME_ADDRESSES", default=10)
AUTH_LOCKOUT_ADDRESS_FAILURES = env.int("AUTH_LOCKOUT_ADDRESS_FAILURES", default=100)
AUTH_LOCKOUT_FIRST_DELAY_SECONDS = env.float("AUTH_LOCKOUT_FIRST_DELAY_SECONDS", default=1.0)
AUTH_LOCKOUT_MAX_DELAY_SECONDS = env.float("AUTH_LOCKOUT_MAX_DELAY_SECONDS", default=60.0)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AUTH_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # what a success clears (the others: above)
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a refused sign-in does not lengthen a lock
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
# Proxies in front of gunicorn that append to X-Forwarded-For (0: the peer address is the client).
AUTH_LOCKOUT_PROXY_COUNT = env.int("AUTH_LOCKOUT_PROXY_COUNT", default=0)
AXES_VERBOSE = False
# API tokens (accounts/authentication.py) expire this long after they were issued (one door shift);
# signing in again afterwards issues a new key. A password change or a deactivation revokes every
# token of the user at once.
API_TOKEN_LIFETIME_HOURS = env.float("API_TOKEN_LIFETIME_HOURS", default=12.0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
# The event's time zone: the admin and the door page show times in it (stored times are UTC).
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Django REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call gets 401 with `WWW-Authenticate: Token`, which tells
        # a door scanner what to send; staff in the browser still sign in with the session.
        "accounts.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "core.api.renderers.ObjectIdJSONRenderer",
        "core.api.renderers.BrowsableAPIRenderer",  # DRF's; its forms stay input forms
    ],
    # DRF's, with 400 on `format` (not an undocumented 404) for a format the view does not offer.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.ContentNegotiation",
    # DRF's, with 400 (not an undocumented 404) for a malformed page number.
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "core.api.filters.SearchFilter",  # DRF's, with a field error for a bad value
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handlers.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Event check-in API",
    "DESCRIPTION": "Sessions, participants and capacity-safe check-in at the door.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # A job's status is not a session's: each its own enum name (the sessions' stays StatusEnum).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "sessions_app.models.Session.Status",
        "JobStatusEnum": "jobs_app.models.Job.Status",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Like the rest of the API: signed-in users only (and only when API_DOCS_ENABLED).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # spectacular's enum hook, then the 503 every operation may answer (core/api/schema_hooks.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema_hooks.postprocess_service_unavailable",
    ],
}
# /api/schema/ and /api/docs/: on in development and tests, off unless asked for elsewhere (the
# schema maps the whole attack surface; production can switch it on for an API consumer).
API_DOCS_ENABLED = env.bool("API_DOCS_ENABLED", default=False)

# --- Logging ------------------------------------------------------------------------------------
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

APP_VERSION = env("APP_VERSION", default="0.1.0")

# --- Health endpoints (health_app; see README "Health") ---------------------------------------
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
# (RECONCILE_INTERVAL_SECONDS, under Celery above: /health reports degraded when the last
# reconcile is older than two intervals.)

# --- Bootstrap (`manage.py bootstrap`, run by `make run` and the container entrypoint) ----------
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

# --- Check-in (sessions_app) --------------------------------------------------------------------
# Seconds a session/participant detail and the stats stay cached (writes also invalidate them).
CHECKIN_DETAIL_CACHE_TTL = env.int("CHECKIN_DETAIL_CACHE_TTL", default=10)
CHECKIN_STATS_CACHE_TTL = env.int("CHECKIN_STATS_CACHE_TTL", default=5)
# Lifetime of a session's Redis admission set after its last write (reseeded when missing).
CHECKIN_ADMISSION_KEY_TTL = env.int("CHECKIN_ADMISSION_KEY_TTL", default=24 * 3600)
# A request that meets another request for the same participant (or a replay of its own nonce)
# still deciding waits this long for it, then answers 409 check_in_in_progress (Retry-After: 1).
CHECKIN_IN_FLIGHT_WAIT_SECONDS = env.float("CHECKIN_IN_FLIGHT_WAIT_SECONDS", default=0.5)
# An admission or check-out in flight for longer than this is presumed dead: the reconcile ends it
# and frees its place, and a replay takes its nonce over. Only liveness depends on it (ending a
# live request is safe, see sessions_app/services/admission_protocol.py); keep it well above the
# longest request.
CHECKIN_STALE_OP_SECONDS = env.float("CHECKIN_STALE_OP_SECONDS", default=60.0)
# A session admits from this long before its start ("doors open") until this long after its end;
# beat then closes it and checks out whoever is still inside (sessions_app/services/closing.py).
DOORS_OPEN_MINUTES = env.float("DOORS_OPEN_MINUTES", default=30.0)
DOORS_CLOSE_GRACE_MINUTES = env.float("DOORS_CLOSE_GRACE_MINUTES", default=15.0)

# --- Participant import: retention (participants_app/imports/retention.py, beat hourly) ---------
# An import preview not confirmed within this many hours expires: its rows (names, e-mails, ticket
# codes) are deleted and confirming it is refused. A day covers "upload now, confirm after lunch";
# an older preview was decided against participants as they were then.
IMPORT_PREVIEW_EXPIRY_HOURS = env.float("IMPORT_PREVIEW_EXPIRY_HOURS", default=24.0)
# A finished (or failed) import's report keeps each row's e-mail next to its error this long, so
# the organiser can fix the rows that were not imported and import them again; then only the line
# numbers, the reasons and the counts stay. A week spans the fix-and-retry cycle before an event;
# the participants themselves are kept in the participant list, not in the report.
IMPORT_REPORT_PII_HOURS = env.float("IMPORT_REPORT_PII_HOURS", default=168.0)
