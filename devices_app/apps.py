from django.apps import AppConfig


class DevicesAppConfig(AppConfig):
    """Door devices: shared tablets and scanners paired with a one-time code, scoped to sessions."""

    name = "devices_app"
    verbose_name = "Door devices"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self):
        from . import schema  # noqa: F401 - registers the Device scheme with drf-spectacular
