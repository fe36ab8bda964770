"""The admin login page and a staff sign-in."""

import pytest

pytestmark = pytest.mark.django_db


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"username" in response.content


def test_admin_login_works_for_staff(client, staff_user):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff", "password": "staff-pass-123"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
