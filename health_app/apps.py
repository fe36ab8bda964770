from django.apps import AppConfig


class HealthAppConfig(AppConfig):
    """Health endpoints for load balancers and operators."""

    name = "health_app"
    verbose_name = "Health"
