"""What the production settings give pymongo: majority, journaled, primary, retryable; never less."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Build the client exactly as django-mongodb-backend does from DATABASES (its connection params,
# its get_new_connection) and report what pymongo was given. Nothing is sent: pymongo connects in
# the background and the client is closed at once.
_PROBE = """
import json, django
django.setup()
from django.db import connection
client = connection.get_new_connection(connection.get_connection_params())
print(json.dumps({
    "write_concern": client.write_concern.document,
    "read_preference": client.read_preference.document,
    "retry_writes": client.options.retry_writes,
}))
client.close()
"""
# A host and a password that must not show in any error message.
_HOSTS = "mongodb://checkin:s3cret-pw@db-a.internal:27017,db-b.internal:27017,db-c.internal:27017/"


def _client_options(uri: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 50,
        MONGODB_URI=uri,
    )
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _assert_durable(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    given = json.loads(result.stdout.strip().splitlines()[-1])
    assert given["write_concern"] == {"w": "majority", "j": True}
    assert given["read_preference"] == {"mode": "primary"}
    assert given["retry_writes"] is True


def test_production_client_writes_majority_journaled_reads_primary_retries_writes():
    _assert_durable(_client_options(_HOSTS + "?replicaSet=rs0"))


def test_uri_that_repeats_the_required_values_is_accepted():
    uri = _HOSTS + "?replicaSet=rs0&w=majority&journal=TRUE&readPreference=primary&retryWrites=true"
    _assert_durable(_client_options(uri))


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("w=1", "w=1 (needs majority)"),
        ("w=0", "w=0 (needs majority)"),
        ("journal=false", "journal=false (needs true)"),
        ("readPreference=secondaryPreferred", "readpreference=secondaryPreferred (needs primary)"),
        ("retryWrites=false", "retrywrites=false (needs true)"),
        ("readPreference=nearest&maxStalenessSeconds=120", "maxstalenessseconds"),
    ],
)
def test_uri_that_weakens_them_refuses_to_start_naming_the_option(query, named):
    result = _client_options(_HOSTS + "?replicaSet=rs0&" + query)
    assert result.returncode != 0
    assert "ImproperlyConfigured: MONGODB_URI weakens what an acknowledged check-in needs" in (
        result.stderr
    )
    assert named in result.stderr
    assert "s3cret-pw" not in result.stderr and "db-a.internal" not in result.stderr
