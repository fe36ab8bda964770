"""Every sessions test starts with a closed breaker and an empty Redis (cache and admission sets).

The users and clients by role (``door_staff_user``, ``door_client``, ``plain_client``) are in
tests/conftest.py: the door, participants and browser tests use them too.
"""

import pytest


@pytest.fixture(autouse=True)
def _each_test_on_a_clean_redis_layer(clean_redis_layer):
    """Use ``clean_redis_layer`` (tests/conftest.py) around every test of this directory."""
