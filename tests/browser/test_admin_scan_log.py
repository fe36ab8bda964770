"""The scan log fits a 1366 px wide laptop screen and reads its verdicts in words."""

import pytest
from selenium.webdriver.common.by import By

from sessions_app.models import CheckIn
from sessions_app.services import session_check_in
from tests.factories import participant_make, session_make

from .support import screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = (1366, 768)


@pytest.fixture
def busy_door():
    """A full session: long names and titles, people admitted and refused."""
    session = session_make(title="Hands-on workshop: building accessible forms", capacity=2)
    for n in range(4):
        session_check_in(
            session_id=session.pk,
            participant_id=participant_make(
                full_name=f"Maximiliane Konstantinopoulou-Wetherby {n}",
                email=f"maximiliane.konstantinopoulou{n}@example-university.org",
            ).pk,
            source=CheckIn.Source.DOOR,
            actor="door-volunteer-north-entrance",
        )
    return session


def test_scan_log_fits_a_laptop_screen_without_scrolling_sideways(
    page, live_server, django_user_model, busy_door
):
    boss = django_user_model.objects.create_superuser(username="boss", password="x")
    page.set_window_size(*LAPTOP)
    sign_in(page, live_server, boss)
    page.get(f"{live_server.url}/admin/sessions_app/scan/")
    wait_for(page, lambda b: b.find_elements(By.ID, "result_list"), "no scan log table")
    screenshot(page, "admin-scan-log-1366")

    text = page.find_element(By.ID, "result_list").text
    assert "Session full" in text and "Checked in" in text
    scroll_width, inner_width = page.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width
    # Nor does the table scroll inside its own box (the admin gives it a scrollbar of its own).
    table_width, box_width = page.execute_script(
        "const box = document.querySelector('#changelist .results');"
        "return [box.scrollWidth, box.clientWidth]"
    )
    assert table_width <= box_width
