"""The heavy wave of issue 29 (``python -m benchmarks.session_memory --heavy``): five sessions at once,
as in the issue: a 512-unit 50-epoch run on Train, Compare's Overfitting preset (five 512-unit 50-epoch
variants), and three sessions that each train the default run and ask Evaluate for a t-SNE map of
5,000 test images (the server computes them one after another). Each ``start_*`` leaves its work
going and returns a function that tells whether it has ended.

The sessions are driven one after another, each in the front tab until its work has ended: with the
five started at once, the 512-unit run's page, left in the background of headless Chromium, never
showed its result (its run did not go on while the page did not redraw)."""

from __future__ import annotations

import re
import time

from tests.browser import go_to, is_training, main_area, metric_value, open_app, press, wait_for_metric, wait_idle
from tests.test_compare_browser import choose_preset

LONG_MS = 3_600_000  # a loaded machine: every wait is on the page's own event, however long it takes
VISIT_MS = 1_000  # how often a session's page is looked at while its work goes on
TSNE_DONE = "t-SNE of this epoch's hidden layer"  # the map's caption, shown once the map is there


def run_ended(page) -> bool:
    """The Train page's run has ended: its test accuracy shown (the live view shows it from the first
    epoch on) and its Stop no longer usable."""
    return metric_value(page, "Test accuracy").count() > 0 and not is_training(page)


def start_big_run(page, url: str):
    open_app(page, f"{url}/?hidden=512&epochs=50&lr=1", timeout_ms=LONG_MS)  # at lr 4 it diverges at once
    press(page, "Train")
    return lambda: run_ended(page)


def start_overfitting(page, url: str):
    open_app(page, url, timeout_ms=LONG_MS)
    go_to(page, "Compare", timeout_ms=LONG_MS)
    choose_preset(page, "Overfitting")
    press(page, "Start")
    return lambda: main_area(page).get_by_text("5 of 5 variants ended").count() > 0


def start_tsne(page, url: str):
    """Train the default run, then ask Evaluate's map for t-SNE of 5,000 images."""
    open_app(page, url, timeout_ms=LONG_MS)
    press(page, "Train")
    wait_for_metric(page, "Test accuracy", timeout_ms=LONG_MS)
    while not run_ended(page):
        page.wait_for_timeout(VISIT_MS)
    go_to(page, "Evaluate", timeout_ms=LONG_MS)
    main = main_area(page)
    main.get_by_role("radio", name="t-SNE", exact=True).click()  # the map's method (a segmented control)
    wait_idle(page, LONG_MS)
    main.locator("[data-testid='stSlider']").filter(has_text="Test images on the map").get_by_role("slider").press("End")
    compute = main.get_by_role("button", name=re.compile(r"Compute the t-SNE map .*5,000 images"))
    compute.wait_for(timeout=LONG_MS)
    compute.click()
    return lambda: main.get_by_text(TSNE_DONE).count() > 0


def heavy_wave(new_page, url: str, report) -> list:
    """Open the five sessions (``new_page()``: a new context and its page) one after another, each
    brought to the front until its work has ended while the earlier ones stay open; ``report(what)``
    after each. Returns the contexts, all open: the five sessions' state is held at once."""
    contexts = []
    for name, start in (("512 units x 50 epochs", start_big_run), ("Compare: Overfitting", start_overfitting),
                        *((f"t-SNE of 5,000 images ({n})", start_tsne) for n in (1, 2, 3))):
        context, page = new_page()
        page.set_default_timeout(LONG_MS)
        page.set_default_navigation_timeout(LONG_MS)  # a page load on a loaded machine, too
        contexts.append(context)
        ended, deadline = start(page, url), time.monotonic() + LONG_MS / 1000
        while not ended():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: not ended within {LONG_MS / 1000:.0f} s")
            page.wait_for_timeout(VISIT_MS)
        report(f"{name}: ended")
    return contexts
