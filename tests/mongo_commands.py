"""Counting the MongoDB commands a request sends: a pymongo CommandListener on the app's own
connection (the ``commands`` fixture, registered in tests/conftest.py)."""

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
