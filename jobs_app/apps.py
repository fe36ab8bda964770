from django.apps import AppConfig


class JobsAppConfig(AppConfig):
    """Task outbox (survives broker outages), MongoDB leases and last-success records."""

    name = "jobs_app"
    verbose_name = "Background jobs"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self):
        from . import signals  # noqa: F401 - connects the worker_ready handler
