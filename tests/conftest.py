"""Shared fixtures: the real MNIST data, a live Streamlit server, and Debian's Chromium.

The server and browser helpers themselves are in ``tests/browser.py``.
"""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import sync_playwright

from tests.browser import launch_chromium, new_page, start_server, stop_server


@pytest.fixture(scope="session")
def mnist():
    from nn_core import load_mnist

    return load_mnist().read_only()


@pytest.fixture(scope="session")
def default_run(mnist):
    """The post's run (Train's defaults, to the bit), trained once for every test module that reads its
    result (~4 s alone): a RunResult, its model a copy that a fine-tuning run copies again."""
    from nn_core import Hyperparams, Trainer

    trainer = Trainer(mnist, Hyperparams())
    while not trainer.finished:
        trainer.run(max_batches=1000)
    assert trainer.status == "done"
    return trainer.result()


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


@pytest.fixture(autouse=True)
def real_main_module():
    """AppTest runs a page as ``__main__`` and can leave it in ``sys.modules`` (an ``AppTest.from_function``
    page is a temporary script calling ``page(*__args)``). Worker processes started with spawn import the
    parent's ``__main__``: after such a test they ran that script and died (NameError: __args). Each test
    gets pytest's own ``__main__`` back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def pytest_collection_modifyitems(items):
    """A test that drives Chromium gets one more try after a failure, and only such a test. On a loaded
    CI machine (load 13-21 on 2 cores) one browser test in several hundred has timed out waiting for
    what the page shows, a different one each time, while each passes alone and on a quiet machine
    (a page switch lost, an upload's result not shown in 120 s). A real fault fails twice; a second
    try is counted in the summary ("1 rerun") and printed with the first try's error, so it is seen."""
    for item in items:
        if {"page", "browser", "app_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.flaky(reruns=1))
