"""A real browser for tests: Debian's chromium driven by Selenium, headless, never downloaded.

``chromium()`` skips the test (with the reason) when ``/usr/bin/chromium`` or
``/usr/bin/chromedriver`` is missing (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from dev.browser import headless_chromium, missing

T = TypeVar("T")
PASSING = (NoSuchElementException, StaleElementReferenceException)
"""What a wait looks past: an element not there yet, or replaced while it was read."""

__all__ = ["chromium", "missing", "until"]


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless chromium with a fresh profile; the test is skipped when there is none."""
    why = missing()
    if why:
        pytest.skip(why)
    with headless_chromium() as driver:
        yield driver


def until(driver: WebDriver, check: Callable[[WebDriver], T], within: float = 20.0) -> T:
    """Wait up to ``within`` seconds for ``check(driver)`` to return something truthy.

    An element read while the page changes under it (a redirect, a list swapped in by
    htmx) is stale, not an answer: looked for again at the next poll."""
    return WebDriverWait(driver, within, poll_frequency=0.2, ignored_exceptions=PASSING).until(
        check
    )
