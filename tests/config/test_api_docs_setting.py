"""/api/schema/ and /api/docs/ exist only when API_DOCS_ENABLED, which production leaves off."""

import pytest

from config.settings import base, dev

pytestmark = pytest.mark.django_db


def test_off_by_default_outside_development():

    assert base.API_DOCS_ENABLED is False  # production inherits it: no env, no docs
    assert dev.API_DOCS_ENABLED is True


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_switched_off_they_do_not_exist(settings, staff_client, api_client, path):
    settings.API_DOCS_ENABLED = False
    assert staff_client.get(path).status_code == 404
    assert api_client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_switched_on_they_need_a_signed_in_user(settings, staff_client, api_client, path):
    settings.API_DOCS_ENABLED = True
    assert api_client.get(path).status_code == 401
    assert staff_client.get(path).status_code == 200
