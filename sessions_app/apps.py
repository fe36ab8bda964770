from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    """Event sessions: capacity, status and the check-in counter."""

    name = "sessions_app"
    verbose_name = "Sessions"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self):
        # Registering touches no server: the callback runs only when Redis recovers, before the
        # breaker closes, so Redis admits again only with sets rebuilt from MongoDB.
        from redis_fallback import register_fallback_reset, register_recovery_callback

        from .admission import admission_missed_rebuilder_set
        from .services.admission_sync import (
            admission_missed_rebuild,
            sessions_admission_reseed_all,
        )

        register_recovery_callback(sessions_admission_reseed_all)
        # Decisions made in MongoDB alone while this process could not reach Redis, after the
        # rebuild had read their session: rebuilt again once the breaker is closed (a fallback
        # reset runs in the prober right after it closes; while open it does nothing).
        register_fallback_reset(admission_missed_rebuild)
        admission_missed_rebuilder_set(admission_missed_rebuild)

        # The chaos suite stalls processes between two writes (core.failpoints); only
        # chaos.settings arms any.
        from django.conf import settings

        from core.failpoints import arm_from_spec

        arm_from_spec(settings.CHECKIN_FAILPOINTS)
