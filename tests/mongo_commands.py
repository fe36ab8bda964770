"""Counting the MongoDB commands a request sends: a pymongo CommandListener on the app's own
connection (the ``commands`` fixture, registered in tests/conftest.py)."""

from contextlib import contextmanager

import pytest
from django.db import connections
from pymongo import monitoring


class _Names(list):
    """The names, cleared together with the bodies beside them."""

    def __init__(self):
        super().__init__()
        self.bodies: list[dict] = []

    def clear(self):
        super().clear()
        self.bodies.clear()


class CommandNames(monitoring.CommandListener):
    """Record "<command> <collection>" of every command started while ``counting``, and in
    ``bodies`` the command itself (``names.clear()`` starts both afresh)."""

    def __init__(self):
        self.names = _Names()
        self.bodies: list[dict] = self.names.bodies
        self.counting = False

    def started(self, event):
        if self.counting:
            self.names.append(f"{event.command_name} {event.command.get(event.command_name)}")
            self.bodies.append(dict(event.command))

    @contextmanager
    def counted(self):
        """Record afresh (``names`` and ``bodies``) the commands sent inside the block."""
        self.names.clear()
        self.counting = True
        try:
            yield self
        finally:
            self.counting = False

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def commands():
    listener = CommandNames()
    monitoring.register(listener)  # applies to clients created from now on
    connections["default"].close_pool()
    yield listener
    listener.counting = False
    connections["default"].close_pool()


def reads_of(bodies: list[dict], collection: str) -> list[dict]:
    """The reads (``aggregate`` or ``find``) of ``collection`` among the recorded commands."""
    return [
        body
        for body in bodies
        if body.get("aggregate") == collection or body.get("find") == collection
    ]


def assert_filters_first(bodies: list[dict], collection: str) -> None:
    """Each read of ``collection`` starts from its filter (``$match``) and joins nothing.

    django-mongodb-backend (5.2) puts a ``select_related`` join's ``$lookup`` before the
    ``$match``: every document of the collection is joined before the filter keeps a few.
    """
    reads = reads_of(bodies, collection)
    assert reads, f"no read of {collection}"
    for body in reads:
        pipeline = body.get("pipeline")
        if pipeline is None:
            continue  # a find: a filter, no join
        first = next(iter(pipeline[0]))
        assert first == "$match", f"{collection} is read from {first}, not its filter: {pipeline}"
        assert not any("$lookup" in stage for stage in pipeline), pipeline


def assert_joins_nothing(bodies: list[dict], collection: str) -> None:
    """No read of ``collection`` joins (a page of a whole log may have no filter to start from)."""
    reads = reads_of(bodies, collection)
    assert reads, f"no read of {collection}"
    for body in reads:
        pipeline = body.get("pipeline") or []
        assert not any("$lookup" in stage for stage in pipeline), pipeline
