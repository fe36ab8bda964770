"""Settings shared by every environment; values come from the environment (django-environ).

Django's own settings are here; each concern has its module beside this one (one default per
setting, read as ``settings.X`` at the point of use). dev, test and production import this.
"""

from config.env import BASE_DIR, env

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
    "devices_app",
    "redis_fallback",
    "sessions_app",
    "participants_app",
    "health_app",
    "jobs_app",
    "door_app",
    "live_app",
    "metrics_app",
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
    # First: times every request (Prometheus, metrics_app) and serves /metrics before Host
    # validation, like the health probes below.
    "metrics_app.middleware.MetricsMiddleware",
    # Health probes addressed by IP are answered before Host validation (see the module).
    "health_app.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A write beyond this process's concurrency limit is answered 503 busy before any other work
    # (sessions, authentication, the view), counted by the metrics and with the security headers;
    # gunicorn's threads (config/gunicorn.py) make the limit bite.
    "core.middleware.AdmissionMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A browser paired as a door device (door_app/pairing.py): request.user is the device.
    "devices_app.middleware.DeviceSessionMiddleware",
    "door_app.pairing.DoorDeviceScopeMiddleware",  # a paired door at its own sessions only
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

# Django sessions live in MongoDB, not in the cache: staff stay logged in through a Redis outage.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- i18n, static ---------------------------------------------------------------------------------
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

# --- Settings by concern ------------------------------------------------------------------------
from .api import *  # noqa: E402, F403
from .bootstrap import *  # noqa: E402, F403
from .celery import *  # noqa: E402, F403
from .checkin import *  # noqa: E402, F403
from .database import *  # noqa: E402, F403
from .health import *  # noqa: E402, F403
from .live import *  # noqa: E402, F403
from .logging import *  # noqa: E402, F403
from .metrics import *  # noqa: E402, F403
from .participants import *  # noqa: E402, F403
from .redis import *  # noqa: E402, F403
from .security import *  # noqa: E402, F403
