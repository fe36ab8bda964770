from django.apps import AppConfig


class ParticipantsAppConfig(AppConfig):
    """Participants and their ticket codes."""

    name = "participants_app"
    verbose_name = "Participants"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
