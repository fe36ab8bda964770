"""Helpers of the browser tests: sign in without the form, wait, take screenshots."""

from __future__ import annotations

import os
from pathlib import Path

from django.test import Client
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 10


def sign_in(browser, live_server, user) -> None:
    """Give the browser a signed-in session for ``user`` (the sign-in form has its own test)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    browser.get(f"{live_server.url}/health/live")
    browser.add_cookie({"name": "sessionid", "value": cookie.value, "path": "/"})


def screenshot(browser, name: str) -> None:
    """Save a screenshot when CHECKIN_SCREENSHOTS names a directory."""
    target = os.environ.get("CHECKIN_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(target) / f"{name}.png"))


def wait_for(browser, condition, message: str = "", *, seconds: float = WAIT_SECONDS,
             poll: float = 0.5):  # fmt: skip
    """Wait until ``condition`` holds. A condition polled while the page is being replaced (a form
    just submitted) may read an element of the old page: that poll counts as "not yet" (seen in
    a fresh-clone run: the door page's focus check raised StaleElementReferenceException), or
    find no page to run its script in: with script execution disabled (the no-JavaScript tests),
    chromedriver answered a poll during the form's navigation "unhandled inspector error" (fresh
    clone, 7 December, test_picker_without_javascript_keeps_a_scan_and_chooses_nothing)."""

    def polled(page):
        try:
            return condition(page)
        except WebDriverException as exc:
            if "unhandled inspector error" in (exc.msg or ""):
                return False
            raise

    return WebDriverWait(
        browser, seconds, poll_frequency=poll,
        ignored_exceptions=(StaleElementReferenceException,),
    ).until(polled, message)  # fmt: skip


def scanner_type(page, keys: str) -> None:
    """Type as a keyboard-wedge scanner does: into whatever has the focus, clicking nothing."""
    ActionChains(page).send_keys(keys).perform()


def door_scan(page, code: str, answered: int) -> tuple[str, str]:
    """Scan ``code`` (then Enter) and wait for the door page's ``answered``-th answer.

    Return the verdict's reason and its text.
    """
    scanner_type(page, code + Keys.ENTER)
    wait_for(
        page,
        lambda b: b.execute_script("return document.body.dataset.answered") == str(answered),
        f"no answer to scan {answered} ({code})",
    )
    result = page.find_element(By.ID, "result")
    return result.get_attribute("data-reason"), result.text
