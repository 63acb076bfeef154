"""A real browser for tests: Debian's chromium driven by Selenium, headless, never downloaded.

``chromium()`` skips the test (with the reason) when ``/usr/bin/chromium`` or
``/usr/bin/chromedriver`` is missing (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
T = TypeVar("T")

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
)


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.exists():
            return f"{binary} is missing (apt-get install {package}); no browser is downloaded"
    return None


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless chromium with a fresh profile, closed (and its profile removed) after."""
    why = missing()
    if why:
        pytest.skip(why)
    profile = tempfile.mkdtemp(prefix="warroom-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # The driver named here: Selenium Manager never looks for (or fetches) another.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def until(driver: WebDriver, check: Callable[[WebDriver], T], within: float = 20.0) -> T:
    """Wait up to ``within`` seconds for ``check(driver)`` to return something truthy."""
    return WebDriverWait(driver, within, poll_frequency=0.2).until(check)
