"""The 'Toezeggingen' tab in a real headless Chromium, against the real app served by uvicorn: open the
tab, filter by who, and follow a commitment's citation to its official source.

The app runs with a FakeAnswerer (no index), so the tab lists the bundled corpus's 14 commitments. The
official site is not reached: the browser's requests to it are answered here, so following the link
needs no network. Needs Debian's chromium at /usr/bin/chromium (see tests/test_browser.py).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.fakes.answerer import FakeAnswerer
from tests.fakes.server import serve
from tests.fakes.settings import make_settings
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, open_page, screenshot
from webui.server import create_server

pytestmark = pytest.mark.browser

OFFICIAL = "https://zoek.officielebekendmakingen.nl/"
AO_2018 = OFFICIAL + "kst-28638-163.html"
CARDS = "#kb-commitments .kb-commitment"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve(create_server(make_settings(tmp_path_factory.mktemp("commitments")), FakeAnswerer())) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium`.")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser, live):
    """The app's page with the Toezeggingen tab open and its list shown."""
    context, page = open_page(browser)
    context.route(
        OFFICIAL + "**", lambda route: route.fulfill(status=200, body="officiële bron", content_type="text/html")
    )
    page.goto(live.base_url + "/")
    page.get_by_role("tab", name="Toezeggingen").click()
    page.wait_for_selector(CARDS)
    yield page
    context.close()


def choose_who(page, label: str) -> None:
    page.click("#kb-c-who input")
    page.click(f"[role=listbox] [role=option][aria-label='{label}']")


def test_the_tab_lists_every_commitment(tab):
    assert tab.locator(CARDS).count() == 14


def test_filtering_by_who_shrinks_the_list(tab):
    choose_who(tab, "Blok (minister)")
    tab.wait_for_selector("#kb-commitments .kb-commitments-count:has-text('6 van 14')")
    screenshot(tab, "commitments-blok.png")
    assert tab.locator(CARDS).count() == 6


def test_the_fulfilled_commitment_shows_its_evidence(tab):
    tab.get_by_label("Mogelijk ingelost").check()
    tab.wait_for_selector("#kb-commitments .kb-commitments-count:has-text('1 van 14')")
    screenshot(tab, "commitments-ingelost.png")
    assert "Zoals toegezegd tijdens het AO" in tab.locator(f"{CARDS} mark").first.inner_text()


def test_a_citation_leads_to_the_official_source(tab):
    choose_who(tab, "Harbers (staatssecretaris)")
    tab.wait_for_selector("#kb-commitments .kb-commitments-count:has-text('7 van 14')")
    link = tab.locator(f"{CARDS} a.kb-link").first
    with tab.context.expect_page() as opened:
        link.click()
    source = opened.value
    source.wait_for_load_state()
    assert (link.get_attribute("href"), source.url) == (AO_2018, AO_2018)
