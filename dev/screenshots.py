"""The README's screenshots, taken from a running `warroom up` (its sample incident live).

    warroom up            # in one terminal; wait for the sample to be declared
    python -m dev.screenshots [--http http://127.0.0.1:8080] [--ui http://localhost:8233]

(in a checkout installed with the dev extras, which bring Selenium; while the
sample incident is open: `warroom demo` plays another)

It makes a personal token for ``--person`` (``warroom token create``), signs in
to the board with it in Debian's headless chromium, and saves PNGs of the
board, the sample incident's page, the public status page and the Temporal Web
UI into ``docs/screenshots/``. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from dev.browser import headless_chromium, missing

T = TypeVar("T")
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WAIT = 30.0


def token_for(person: str) -> str:
    """A new personal token for ``person``, from the CLI against the running stack."""
    answer = subprocess.run(
        [str(Path(sys.executable).with_name("warroom")), "--json", "token", "create", person],
        capture_output=True,
        text=True,
        check=False,
    )
    if answer.returncode != 0:
        raise SystemExit(f"warroom token create {person}: {answer.stderr.strip()}")
    token: str = json.loads(answer.stdout)["token"]
    return token


def until(driver: WebDriver, check: Callable[[WebDriver], T], what: str) -> T:
    try:
        return WebDriverWait(
            driver,
            WAIT,
            poll_frequency=0.25,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(check)
    except TimeoutException:
        raise SystemExit(f"gave up after {WAIT:.0f} s waiting for {what}") from None


def shoot(driver: WebDriver, name: str) -> Path:
    """Save the whole page (its full height) as ``docs/screenshots/<name>.png``."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min(max(int(height) + 120, 700), 4000))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"  {path.relative_to(OUT.parent.parent)}")
    driver.set_window_size(width, 900)
    return path


def board(driver: WebDriver, http: str, token: str) -> str:
    """Sign in, shoot the board and the first incident's page; that incident's INC ID."""
    driver.get(f"{http}/board/login?next=/board")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-incident]"), "an incident")
    shoot(driver, "board")
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-incident]")
    human_id = str(row.get_attribute("data-incident"))
    driver.get(f"{http}/board/incidents/{human_id}")
    until(driver, lambda d: human_id in d.find_element(By.TAG_NAME, "h1").text, "its page")
    shoot(driver, "incident")
    return human_id


def status_page(driver: WebDriver, http: str) -> None:
    driver.get(f"{http}/status")
    until(driver, lambda d: d.find_elements(By.TAG_NAME, "h1"), "the status page")
    shoot(driver, "status-page")


def web_ui(driver: WebDriver, ui: str, human_id: str) -> None:
    """The Temporal Web UI's list (it fills in by JavaScript) and the incident's workflow."""
    driver.get(f"{ui}/namespaces/default/workflows")
    until(driver, lambda d: human_id in d.page_source, "the Web UI's workflow list")
    shoot(driver, "web-ui-list")
    links = driver.find_elements(By.PARTIAL_LINK_TEXT, human_id)
    if not links:
        return
    links[0].click()
    until(driver, lambda d: "Event History" in d.page_source, "the workflow's page")
    shoot(driver, "web-ui-incident")
    # The incident's current details ("open for 12 min", what it waits for, what is next).
    tabs = driver.find_elements(By.PARTIAL_LINK_TEXT, "User Metadata")
    if tabs:
        tabs[0].click()
        until(driver, lambda d: "Current Details" in d.page_source, "the current details")
        time.sleep(2)  # the details' markdown renders in a frame of its own after the tab
        shoot(driver, "web-ui-details")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", default="http://127.0.0.1:8080", help="Warroom's HTTP service")
    parser.add_argument("--ui", default="http://localhost:8233", help="the Temporal Web UI")
    parser.add_argument("--person", default="alice", help="who signs in to the board")
    args = parser.parse_args()
    why = missing()
    if why:
        raise SystemExit(why)
    token = token_for(args.person)
    print(f"screenshots in {OUT}:")
    try:
        with headless_chromium() as driver:
            human_id = board(driver, args.http, token)
            status_page(driver, args.http)
            web_ui(driver, args.ui, human_id)
    except WebDriverException as err:
        raise SystemExit(f"the browser failed: {err.msg}") from None


if __name__ == "__main__":
    main()
