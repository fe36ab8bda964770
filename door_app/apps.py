from django.apps import AppConfig


class DoorAppConfig(AppConfig):
    """The door page: door staff scan ticket codes, through the same services as the API."""

    name = "door_app"
    verbose_name = "Door"
