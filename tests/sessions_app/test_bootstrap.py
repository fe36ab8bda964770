"""`manage.py bootstrap`: demo data once, or none."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from sessions_app.groups import DOOR_STAFF_GROUP
from sessions_app.models import CheckIn, Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_credentials_file(settings):
    """Give bootstrap a password, so it writes no var/admin-credentials.txt into the tree."""
    settings.BOOTSTRAP_ADMIN_PASSWORD = "bootstrap-test-pass"


@pytest.mark.usefixtures("no_credentials_file")
def test_bootstrap_creates_demo_data_once(capsys):
    call_command("bootstrap")
    first = capsys.readouterr().out
    assert "Demo data: 3 sessions" in first and f"Group '{DOOR_STAFF_GROUP}'" in first
    workshop = Session.objects.get(title__startswith="Hands-on")
    assert (workshop.check_in_count, workshop.capacity) == (3, 3)
    assert CheckIn.objects.count() == 8
    call_command("bootstrap")
    assert "nothing created" in capsys.readouterr().out
    assert Session.objects.count() == 3 and CheckIn.objects.count() == 8


@pytest.mark.usefixtures("no_credentials_file")
def test_bootstrap_no_demo_skips_demo_data():
    call_command("bootstrap", "--no-demo")
    assert not Session.objects.exists()
    assert Group.objects.filter(name=DOOR_STAFF_GROUP).exists()
