"""The admin's import pages, export actions and check-in history."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs_app.models import Job
from participants_app.imports.services import participant_import_run
from participants_app.models import Participant
from sessions_app.services import session_check_in, session_check_out
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/participants_app/participant/"
CSV = b"Full name,E-mail,Organization\nAda Lovelace,ada@example.com,AE\nNo Mail,,\n"


@pytest.fixture
def staff_browser(client, staff_user):
    client.force_login(staff_user)
    return client


def test_upload_preview_confirm_progress(staff_browser):
    changelist = staff_browser.get(CHANGELIST).content.decode()
    assert 'id="import-link"' in changelist
    bad = staff_browser.post(
        f"{CHANGELIST}import/", {"file": SimpleUploadedFile("x.csv", b"a,b\n")}
    )
    assert bad.status_code == 200 and "No usable header" in bad.content.decode()

    response = staff_browser.post(
        f"{CHANGELIST}import/", {"file": SimpleUploadedFile("p.csv", CSV)}
    )
    assert response.status_code == 302
    preview_url = response["Location"]
    html = staff_browser.get(preview_url).content.decode()
    assert "<strong>1</strong> to create" in html and "<strong>1</strong> with errors" in html
    assert '<tr class="action-create">\n    <td>2</td>' in html
    assert "E-mail is required." in html
    assert not Participant.objects.exists()

    confirmed = staff_browser.post(preview_url)
    assert confirmed.status_code == 302 and confirmed["Location"].endswith("/progress/")
    progress = staff_browser.get(confirmed["Location"]).content.decode()
    assert 'data-status="queued"' in progress and "import_progress.js" in progress
    job = Job.objects.get()
    participant_import_run(job_id=str(job.pk))
    done = staff_browser.get(confirmed["Location"]).content.decode()
    assert 'data-status="done"' in done and "width:100%" in done
    assert "<td>3</td>" in done  # the row that was not imported, by its line
    assert Participant.objects.get().full_name == "Ada Lovelace"


def test_door_staff_cannot_reach_the_import(client, door_staff_user):
    door_staff_user.is_staff = True
    door_staff_user.save()
    client.force_login(door_staff_user)
    assert client.get(f"{CHANGELIST}import/").status_code == 403
    upload = {"file": SimpleUploadedFile("p.csv", CSV)}
    assert client.post(f"{CHANGELIST}import/", upload).status_code == 403
    assert not Job.objects.exists()


def test_export_actions_stream_csv(staff_browser):
    session = session_make(title="Workshop")
    ada = participant_make(full_name="Ada", email="ada@example.com", ticket_code="ADA-0001")
    session_check_in(session_id=session.pk, participant_id=ada.pk, actor="alice")
    response = staff_browser.post(
        CHANGELIST, {"action": "export_participants_action", ACTION_CHECKBOX_NAME: [ada.pk]}
    )
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1].startswith("Ada,ada@example.com,,ADA-0001,")
    sessions = "/admin/sessions_app/session/"
    for action, expected in (
        ("export_inside_action", "Workshop,Ada,ada@example.com,,ADA-0001,"),
        ("export_history_action", ",Workshop,in,checked_in,checked in,Ada,ada@example.com,"),
    ):
        response = staff_browser.post(
            sessions, {"action": action, ACTION_CHECKBOX_NAME: [session.pk]}
        )
        assert expected in b"".join(response.streaming_content).decode(), action


def test_history_on_the_participant_and_session_pages(staff_browser):
    talk, lab = session_make(title="Talk"), session_make(title="Lab", capacity=0)
    ada = participant_make(full_name="Ada Byron")
    session_check_in(session_id=talk.pk, participant_id=ada.pk, source="door", actor="bob")
    session_check_out(session_id=talk.pk, participant_id=ada.pk, source="door", actor="bob")
    session_check_in(session_id=lab.pk, participant_id=ada.pk, source="admin", actor="alice")
    html = staff_browser.get(f"{CHANGELIST}{ada.pk}/change/").content.decode()
    table = html[html.index('class="scan-history"') :]
    for expected in (
        "<td>Lab</td><td>in</td><td>session full</td><td>Admin</td><td>alice</td>",
        "<td>Talk</td><td>out</td><td>checked out</td><td>Door page</td><td>bob</td>",
        "<td>Talk</td><td>in</td><td>checked in</td><td>Door page</td><td>bob</td>",
    ):
        assert expected in table
    assert f"scan/?participant__id__exact={ada.pk}" in table and "All 3 scans" in table
    scan_log = staff_browser.get(f"/admin/sessions_app/scan/?participant__id__exact={ada.pk}")
    assert scan_log.status_code == 200 and "3 scans" in scan_log.content.decode()

    html = staff_browser.get(f"/admin/sessions_app/session/{talk.pk}/change/").content.decode()
    table = html[html.index('class="scan-history"') :]
    assert table.index("<td>out</td>") < table.index("<td>in</td>")  # newest first
    assert f"scan/?session__id__exact={talk.pk}" in table and "All 2 scans" in table


def test_participant_page_shows_scan_history_only_with_view_scan(client, django_user_model):
    talk = session_make(title="Talk")
    ada = participant_make(full_name="Ada Byron")
    session_check_in(session_id=talk.pk, participant_id=ada.pk, source="door", actor="bob")
    user = django_user_model.objects.create_user(username="viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_participant"))
    client.force_login(user)
    page = f"{CHANGELIST}{ada.pk}/change/"

    html = client.get(page).content.decode()
    assert "Ada Byron" in html  # the participant itself is shown
    assert 'class="scan-history"' not in html and "scans across sessions" not in html

    user.user_permissions.add(Permission.objects.get(codename="view_scan"))
    html = client.get(page).content.decode()
    assert 'class="scan-history"' in html and "<td>Talk</td><td>in</td>" in html
