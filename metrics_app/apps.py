from django.apps import AppConfig


class MetricsAppConfig(AppConfig):
    """Prometheus metrics at /metrics (docs/metrics.md)."""

    name = "metrics_app"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from . import checks, sampler  # noqa: F401 - checks registers the settings' check

        sampler.sampler_install()
