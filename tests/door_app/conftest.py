"""The door tests share the sessions tests' fixtures (clean Redis layer, door staff user)."""

from tests.sessions_app.conftest import (  # noqa: F401 - fixtures are found by name
    clean_redis_layer,
    door_user,
)
