"""Shared fixtures: the real MNIST data, a live Streamlit server, and Debian's Chromium.

The server and browser helpers themselves are in ``tests/browser.py``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.browser import launch_chromium, new_page, start_server, stop_server


@pytest.fixture(scope="session")
def mnist():
    from nn_core import load_mnist

    return load_mnist().read_only()


@pytest.fixture(scope="session")
def app_url():
    """One Streamlit server for the browser tests of this session."""
    process, url = start_server()
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except FileNotFoundError as missing:
            pytest.fail(str(missing))
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own Streamlit session) and page."""
    context, page = new_page(browser)
    yield page
    context.close()
