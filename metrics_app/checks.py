"""System checks of the metrics settings (``manage.py check``, and every process's start)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .access import allowed_networks


@checks.register(checks.Tags.security)
def metrics_addresses_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Report a METRICS_ALLOWED_ADDRESSES entry that is not an address or a network."""
    try:
        allowed_networks(tuple(settings.METRICS_ALLOWED_ADDRESSES))
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="metrics.E001")]
    return []
