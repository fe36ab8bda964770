"""Which MongoDB errors open fail-fast when code swallows them (pure classification)."""

import pytest
from django.db import DatabaseError
from pymongo.errors import AutoReconnect, OperationFailure

from core.mongo_failures import fail_fast, note_database_failure


def _wrapped(cause: Exception) -> DatabaseError:
    """A pymongo error as django-mongodb-backend raises it: a DatabaseError chained from it."""
    try:
        try:
            raise cause
        except Exception as exc:
            raise DatabaseError(str(exc)) from exc
    except DatabaseError as error:
        return error


@pytest.fixture(autouse=True)
def _closed(settings):
    settings.MONGODB_FAIL_FAST_SECONDS = 30
    fail_fast.reset()
    yield
    fail_fast.reset()


@pytest.mark.parametrize("error", [AutoReconnect("refused"), _wrapped(AutoReconnect("refused"))])
def test_mongodb_unreachable_opens_fail_fast(error):
    note_database_failure(error)
    assert fail_fast.is_open()


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(OperationFailure("duplicate key")),
        DatabaseError("no pymongo cause"),
    ],
)
def test_other_failures_leave_it_closed(error):
    """(A timeout is decided by a ping to MongoDB: tests/config/test_overload.py.)"""
    note_database_failure(error)
    assert not fail_fast.needs_probe()
