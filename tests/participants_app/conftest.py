"""The participants tests share the sessions tests' fixtures (clean Redis layer, role clients)."""

from tests.sessions_app.conftest import (  # noqa: F401 - fixtures are found by name
    clean_redis_layer,
    door_client,
    door_user,
    plain_client,
)
