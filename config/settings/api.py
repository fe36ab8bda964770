"""Django REST framework and the OpenAPI schema (drf-spectacular)."""

from config.env import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call gets 401 with `WWW-Authenticate: Token`, which tells
        # a door scanner what to send; staff in the browser still sign in with the session.
        "accounts.authentication.CachedTokenAuthentication",
        # A paired door device: `Authorization: Device <token>` (devices_app, docs/devices.md).
        "devices_app.authentication.DeviceTokenAuthentication",
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
