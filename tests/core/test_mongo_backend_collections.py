"""core.mongo_backend: one pymongo Collection per name, following the wrapper's database."""

import pytest
from django.db import connection
from pymongo.write_concern import WriteConcern

pytestmark = pytest.mark.django_db


def test_a_name_gives_the_same_collection_of_the_current_database():
    first = connection.get_collection("sessions_app_scan")
    assert connection.get_collection("sessions_app_scan") is first
    assert first.database is connection.database
    assert first.write_concern == connection.database.write_concern  # w=majority, journal


def test_options_or_another_database_give_a_new_collection():
    plain = connection.get_collection("sessions_app_scan")
    other = connection.get_collection("sessions_app_scan", write_concern=WriteConcern(w=1))
    assert other is not plain and other.write_concern.document == {"w": 1}
    saved = connection.database
    connection.database = connection.connection["checkin_other_database"]  # a reopened client
    try:
        moved = connection.get_collection("sessions_app_scan")
        assert moved is not plain and moved.database.name == "checkin_other_database"
    finally:
        connection.database = saved
    assert connection.get_collection("sessions_app_scan").database is saved
