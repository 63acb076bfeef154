"""Debian's chromium, headless, driven by Selenium through Debian's chromedriver.

Nothing here downloads a browser: the binaries are the ones ``apt-get install
chromium chromium-driver`` puts in ``/usr/bin``, and Selenium is told the
driver's path so its manager never looks for another.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def missing() -> str | None:
    """Why no browser can start here, or None."""
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.exists():
            return f"{binary} is missing (apt-get install {package}); no browser is downloaded"
    return None


@contextmanager
def headless_chromium(width: int = 1280, height: int = 900) -> Iterator[WebDriver]:
    """A headless chromium with a fresh profile, closed (and its profile removed) after."""
    profile = tempfile.mkdtemp(prefix="warroom-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
