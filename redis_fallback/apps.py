from django.apps import AppConfig


class RedisFallbackConfig(AppConfig):
    """Circuit breaker, fallback cache backend and Redis client provider."""

    name = "redis_fallback"
    verbose_name = "Redis fallback"
