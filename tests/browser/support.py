"""Helpers of the browser tests: sign in without the form, wait, take screenshots."""

from __future__ import annotations

import os
from pathlib import Path

from django.test import Client
from selenium.common.exceptions import StaleElementReferenceException
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


def wait_for(browser, condition, message: str = ""):
    """Wait until ``condition`` holds. A condition polled while the page is being replaced (a form
    just submitted) may read an element of the old page: that poll counts as "not yet" (seen in
    a fresh-clone run: the door page's focus check raised StaleElementReferenceException)."""
    return WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition, message)
