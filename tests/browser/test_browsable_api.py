"""The browsable API in a real browser: the check-in form posts, and posts again."""

import pytest
from selenium.webdriver.common.by import By

from sessions_app.models import Session
from tests.factories import participant_make, session_make

from .support import screenshot, sign_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _post_form(page, ticket_code: str) -> str:
    """Type ``ticket_code`` into the page's HTML form, submit it, return the nonce it carried."""
    form = page.find_element(By.ID, "post-object-form")
    nonce = form.find_element(By.NAME, "nonce").get_attribute("value")
    field = form.find_element(By.NAME, "ticket_code")
    field.clear()
    field.send_keys(ticket_code)
    form.find_element(By.CSS_SELECTOR, "button[type=submit], button.btn-primary").click()
    return nonce


def test_check_in_form_posts_twice_with_a_fresh_nonce_and_no_backticks(
    page, live_server, organiser
):
    session = session_make(title="Forms talk", capacity=3)
    participant_make(full_name="Uma Ortiz", ticket_code="FORM-0001")
    participant_make(full_name="Vic Park", ticket_code="FORM-0002")
    sign_in(page, live_server, organiser)
    page.get(f"{live_server.url}/api/sessions/{session.pk}/check-in/")
    description = page.find_element(By.CSS_SELECTOR, ".content-main .pull-left")
    assert "ticket_code" in description.text and "`" not in description.text
    assert description.find_elements(By.TAG_NAME, "code")  # Markdown, rendered

    first_nonce = _post_form(page, "form-0001")
    wait_for(page, lambda b: "Uma Ortiz" in b.page_source, "no answer to the first post")
    assert "HTTP 201 Created" in page.page_source
    screenshot(page, "browsable-api-check-in-answer")
    second_nonce = _post_form(page, "form-0002")  # the answer page's form: still the input form
    assert second_nonce and second_nonce != first_nonce
    wait_for(page, lambda b: "Vic Park" in b.page_source, "no answer to the second post")
    assert "HTTP 201 Created" in page.page_source and "Unknown field" not in page.page_source
    assert Session.objects.get(pk=session.pk).check_in_count == 2
