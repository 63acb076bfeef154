"""The board in a real browser: an operator signs in, sees a new P0 appear without
reloading (server-sent events), opens it and approves the rollback waiting for them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from incident.containment import ActionKind
from incident.models import Declaration, ProposeContainment
from incident.severity import Severity
from starter.api import decide, declare_incident
from starter.web.store import CredentialStore
from tests.support.browser import chromium, missing, until
from tests.support.harness import Harness
from tests.support.web import fixed_client, running_service, web_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing() is not None, reason=missing() or ""),
]


def sign_in(driver: WebDriver, url: str, token: str, service: str) -> None:
    driver.get(f"{url}/board/login?next={quote(f'/board?service={service}')}")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    until(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Open incidents")
    # htmx has loaded and opened the event stream; a reload would lose this mark.
    until(driver, lambda d: d.execute_script("return !!(window.htmx && htmx.ext !== null)"))
    driver.execute_script("window.stillThisPage = true")


def appears_live(driver: WebDriver, human_id: str) -> None:
    row = f'tr[data-incident="{human_id}"]'
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, row), within=30)
    assert driver.execute_script("return window.stillThisPage === true"), "the page reloaded"
    assert "P0" in driver.find_element(By.CSS_SELECTOR, row).text


def approve(driver: WebDriver, human_id: str) -> str:
    driver.find_element(By.LINK_TEXT, human_id).click()
    until(driver, lambda d: human_id in d.find_element(By.TAG_NAME, "h1").text)
    action = driver.find_element(By.ID, "action-1")
    assert "awaiting approval" in action.text
    action.find_element(By.XPATH, ".//button[normalize-space()='Approve']").click()
    until(driver, lambda d: "approved by alice" in d.find_element(By.ID, "action-1").text)
    flash: str = driver.find_element(By.ID, "flash").text
    return flash


async def test_an_operator_sees_a_new_p0_live_and_approves_its_rollback(
    harness: Harness, database_url: str, tmp_path: Path
) -> None:
    store = CredentialStore(database_url)
    token, _ = await store.create_token("alice", None)
    await store.close()
    service = f"browser-{uuid.uuid4().hex[:6]}"
    settings = web_settings(tmp_path, database_url=database_url)
    async with running_service(
        settings, fixed_client(harness.client), task_queue=harness.task_queue
    ) as url:
        with chromium() as driver:
            # Selenium blocks: it runs in a thread while the service answers on this loop.
            await asyncio.to_thread(sign_in, driver, url, token, service)
            handle = await declare_incident(
                harness.client,
                Declaration(
                    title="Checkout down",
                    severity=Severity.P0,
                    service=service,
                    actor="dana",
                    commander="alice",
                ),
                task_queue=harness.task_queue,
            )
            state = await harness.until(handle, lambda s: s.human_id.startswith("INC-"))
            await decide(
                handle,
                ProposeContainment(
                    actor="carol", kind=ActionKind.ROLLBACK_DEPLOYMENT, target="checkout-api"
                ),
            )
            await asyncio.to_thread(appears_live, driver, state.human_id)
            flash = await asyncio.to_thread(approve, driver, state.human_id)
    assert flash.startswith("Done: Approved #1 rollback deployment checkout-api")
    approved = (await harness.state(handle)).containment[0]
    assert approved.decided_by == "alice"
