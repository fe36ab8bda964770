"""A real browser for the journeys staff walk: headless Chromium driven by selenium.

Debian's ``chromium`` and ``chromium-driver`` packages must be installed (``.ci/run`` installs them;
no test installs anything). When they are missing the tests fail with a clear message, unless
``CHECKIN_BROWSER_TESTS=skip`` is set outside CI (never honoured when ``CI`` is set). The browser
reaches nothing but the test server: every other host name resolves to nothing.

``CHECKIN_SCREENSHOTS=<dir>`` saves the screenshots the tests take (the README's come from there).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.live_support import asgi_server  # noqa: F401 - the board's real uvicorn

OPT_OUT = "CHECKIN_BROWSER_TESTS"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Nothing beyond the server under test: any other host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]
DESKTOP = (1280, 900)
PHONE = (390, 844)


def _binaries() -> tuple[str | None, str | None]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    return chromium, driver


_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Mark every test of tests/browser ``browser``: `make check` leaves them out."""
    for item in items:
        if _HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module, with a fresh profile."""
    chromium, driver_path = _binaries()
    if not (chromium and driver_path):
        message = (
            "Browser tests need Debian's chromium and chromium-driver packages: "
            "apt-get install -y chromium chromium-driver (.ci/run installs them)."
        )
        if os.environ.get(OPT_OUT) == "skip" and not os.environ.get("CI"):
            pytest.skip(f"{message} Skipped: {OPT_OUT}=skip.")
        pytest.fail(f"{message} To skip them locally (never in CI), set {OPT_OUT}=skip.")
    profile = tempfile.mkdtemp(prefix="checkin-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--window-size={},{}".format(*DESKTOP),
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, live_server):
    """The shared browser, signed out, on a desktop-sized window, pointed at the live server."""
    browser.set_window_size(*DESKTOP)
    browser.get(f"{live_server.url}/health/live")
    browser.delete_all_cookies()
    return browser


@pytest.fixture
def organiser(django_user_model):
    """A superuser: the event organiser who signs in to the admin in the journeys."""
    return django_user_model.objects.create_superuser(username="boss", password="boss-pass-123")
