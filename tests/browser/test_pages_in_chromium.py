"""A person's path through the approval in a real browser (issue 14, item 11): the emulator's
"Allow Access?" page, typed into and answered with Enter or a click, then sfjwt-orch's own
callback page, served by the real listener on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sfjwt_orch.approval.listener import Listener
from sfjwt_orch.approval.pages import Approving
from sfjwt_orch.emulator import DEMO_CONSUMER_KEY, DEMO_USERNAME, Emulator, demo_config
from sfjwt_orch.salesforce import validate
from tests.integration.emulator.emulator_testkit import KeyPair, make_keypair

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
ALIAS = "my-hub"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Approval:
    emulator: Emulator
    listener: Listener
    url: str


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keypair(tmp_path_factory.mktemp("keys"), "server")


@pytest.fixture
def approval(keys: KeyPair) -> Iterator[Approval]:
    callback = f"http://localhost:{free_port()}/OauthRedirect"
    config = demo_config(keys.cert_pem, policy="self-authorize", preauthorized=False, callback_urls=(callback,))
    emulator = Emulator(config).start()
    listener = Listener(callback, state="S1", about=Approving(ALIAS, DEMO_USERNAME))
    listener.start()
    try:
        yield Approval(emulator, listener, validate.authorize_url(emulator.url, DEMO_CONSUMER_KEY, callback, "S1"))
    finally:
        listener.stop()
        emulator.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 900, "height": 700})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_typing_the_username_and_pressing_enter_approves_and_lands_on_our_page(
    approval: Approval, page: Page, shots: Path
) -> None:
    page.goto(approval.url)
    assert page.title().startswith("Allow Access")
    field = page.locator("#username")
    field.fill("")
    field.type(DEMO_USERNAME)
    page.screenshot(path=str(shots / "1-allow-access.png"), full_page=True)
    with page.expect_navigation():
        field.press("Enter")  # Enter means Allow (issue 14, item 9)
    assert page.url.startswith(f"http://localhost:{approval.listener.port}/OauthRedirect?")
    assert page.title() == "Approved · sfjwt-orch"
    assert page.locator("html").get_attribute("lang") == "en"
    text = page.locator("main").inner_text()
    assert DEMO_USERNAME in text and ALIAS in text and "What happens next" in text
    page.screenshot(path=str(shots / "2-approved.png"), full_page=True)
    assert approval.listener.wait(5)
    hit = approval.listener.consume()
    assert hit is not None and hit.approved
    assert [(a.client_id, a.username) for a in approval.emulator.approvals] == [(DEMO_CONSUMER_KEY, DEMO_USERNAME)]


def test_clicking_deny_lands_on_a_clear_not_approved_page(approval: Approval, page: Page, shots: Path) -> None:
    page.goto(approval.url)
    with page.expect_navigation():
        page.get_by_role("button", name="Deny").click()
    assert page.title() == "Not approved · sfjwt-orch"
    why = page.locator(".why")
    assert why.is_visible() and "access_denied" in why.inner_text()
    # Styled as an error: the line has the error colour's border, not plain body text.
    assert why.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(186, 5, 23)"
    page.screenshot(path=str(shots / "deny.png"), full_page=True)
    assert approval.listener.wait(5)
    hit = approval.listener.consume()
    assert hit is not None and not hit.approved and hit.error == "access_denied"
    assert approval.emulator.approvals == ()


def test_a_stale_link_gets_an_error_page_and_decides_nothing(approval: Approval, page: Page, shots: Path) -> None:
    stale = approval.url.replace("state=S1", "state=old")
    page.goto(stale)
    with page.expect_navigation():
        page.locator("#username").press("Enter")
    assert page.title() == "Not the approval sfjwt-orch is waiting for · sfjwt-orch"
    page.screenshot(path=str(shots / "stale.png"), full_page=True)
    assert not approval.listener.wait(0.2)
