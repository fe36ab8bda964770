from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    """Event sessions: capacity, status and the check-in counter."""

    name = "sessions_app"
    verbose_name = "Sessions"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self):
        # Registering touches no server: the callback runs only when Redis recovers, before the
        # breaker closes, so Redis admits again only with sets rebuilt from MongoDB.
        from redis_fallback import register_recovery_callback

        from .services.admission_sync import sessions_admission_reseed_all

        register_recovery_callback(sessions_admission_reseed_all)

        # The chaos suite stalls processes between two writes (core.failpoints); only
        # chaos.settings arms any.
        from django.conf import settings

        from core.failpoints import arm_from_spec

        arm_from_spec(settings.CHECKIN_FAILPOINTS)
