"""Names shown only to those allowed to see them: one rule for the API, the admin and the door.

A door account (the Door staff group: ``check_in`` only) learns a participant's name from a
verdict only for someone it checked in or out; a staff user with ``view session`` only does not
see the "Inside now" names or the latest scans on the admin's session page (the API answers
such a user 403 on the check-ins and the scan log).
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def _url(session, what="check-in"):
    return f"/api/sessions/{session.pk}/{what}/"


def _post(client, session, what, person):
    return client.post(_url(session, what), {"participant": str(person.pk)}, format="json")


def test_a_door_account_learns_no_name_from_a_check_out_of_someone_it_never_handled(
    door_client,
):
    session = session_make()
    stranger = participant_make(full_name="Ada Stranger")
    response = _post(door_client, session, "check-out", stranger)
    body = response.json()
    assert (response.status_code, body["reason"]) == (200, "not_checked_in")
    assert body["participant_name"] == ""  # the shape stays: the key is there, empty
    assert body["participant"] == str(stranger.pk)


def test_a_door_account_learns_no_name_from_a_refused_check_in(door_client, staff_client):
    session = session_make(capacity=1)
    first, second = participant_make(), participant_make(full_name="Bea Refused")
    assert _post(staff_client, session, "check-in", first).status_code == 201
    refused = _post(door_client, session, "check-in", second).json()
    assert (refused["reason"], refused["participant_name"]) == ("session_full", "")
    inside = _post(door_client, session, "check-in", first).json()  # checked in by staff
    assert (inside["reason"], inside["participant_name"]) == ("already_checked_in", "")


def test_a_door_account_sees_the_names_of_those_it_checked_in_or_out(door_client):
    session, person = session_make(), participant_make(full_name="Cy Handled")
    checked_in = _post(door_client, session, "check-in", person).json()
    assert (checked_in["reason"], checked_in["participant_name"]) == ("checked_in", "Cy Handled")
    again = _post(door_client, session, "check-in", person).json()
    assert (again["reason"], again["participant_name"]) == ("already_checked_in", "Cy Handled")
    out = _post(door_client, session, "check-out", person).json()
    assert (out["reason"], out["participant_name"]) == ("checked_out", "Cy Handled")
    twice = _post(door_client, session, "check-out", person).json()
    assert (twice["reason"], twice["participant_name"]) == ("not_checked_in", "Cy Handled")


def test_staff_who_may_read_the_attendance_see_names_in_refusals(staff_client):
    session, person = session_make(), participant_make(full_name="Di Visible")
    body = _post(staff_client, session, "check-out", person).json()
    assert (body["reason"], body["participant_name"]) == ("not_checked_in", "Di Visible")


def _staff_with(django_user_model, username, *codenames):
    user = django_user_model.objects.create_user(username=username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)


def test_admin_session_page_shows_inside_and_scans_only_with_the_apis_permissions(
    django_user_model, staff_client
):
    session = session_make(title="Keynote")
    _post(staff_client, session, "check-in", participant_make(full_name="Eve Inside"))
    page = f"/admin/sessions_app/session/{session.pk}/change/"

    viewer = Client()
    viewer.force_login(_staff_with(django_user_model, "viewer", "view_session"))
    html = viewer.get(page).content.decode()
    assert "Keynote" in html  # the page itself is shown
    assert "Eve Inside" not in html and "Inside now" not in html
    api = APIClient()
    api.force_authenticate(_staff_with(django_user_model, "viewer2", "view_session"))
    assert api.get(_url(session, "check-ins")).status_code == 403  # the API's answer, alike
    assert api.get(_url(session, "scans")).status_code == 403

    attendance = Client()
    attendance.force_login(
        _staff_with(django_user_model, "attendance", "view_session", "view_checkin")
    )
    html = attendance.get(page).content.decode()
    assert "Inside now (1)" in html and "Eve Inside" in html
    assert "scan-history" not in html  # the scan log needs view_scan

    everything = Client()
    everything.force_login(
        _staff_with(django_user_model, "all", "view_session", "view_checkin", "view_scan")
    )
    html = everything.get(page).content.decode()
    assert "Inside now (1)" in html and "scan-history" in html
