from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    """Event sessions: capacity, status and the check-in counter."""

    name = "sessions_app"
    verbose_name = "Sessions"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
