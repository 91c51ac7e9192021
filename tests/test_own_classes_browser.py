"""Classes of your own, end to end in headless Chromium (#32): on the Draw page, name four classes (circle,
horizontal line, vertical line, cross), draw ten examples of each with the mouse, each a little different
(tests/own_shapes.py), train, and draw ten new ones: at least eight must be read as their class. The
figures are printed (-s)."""

from __future__ import annotations

import re
import time

import numpy as np
from playwright.sync_api import expect

from tests.browser import (clear, draw, exceptions, go_to, main_area, new_page, open_app, press, press_for_new_canvas,
                           reading)
from tests.own_shapes import KINDS, shape

EXAMPLES = 10  # of each class
NEW_DRAWINGS = 10
TRAIN_TIMEOUT_MS = 120_000


def name_classes(page) -> None:
    field = main_area(page).get_by_label("New class")
    for kind in KINDS:
        field.fill(kind)
        field.press("Enter")  # submits the form
        expect(main_area(page).get_by_text(f"{kind}: 0 drawings", exact=True)).to_be_visible(timeout=30_000)


def teach(page, kind: str, rng) -> None:
    """Draw one example, wait until the page has read all its strokes, add it to its class (a new canvas)."""
    strokes = shape(kind, rng)
    draw(page, strokes, kind)
    main_area(page).get_by_text(re.compile(rf"\b{len(strokes)} strokes? · not read yet")).wait_for(timeout=30_000)
    press_for_new_canvas(page, kind)


def test_four_drawn_classes_are_learned_and_read(browser, app_url):
    context, page = new_page(browser)
    rng = np.random.default_rng(32)
    try:
        open_app(page, app_url)
        go_to(page, "Draw")
        main_area(page).get_by_text("My own classes", exact=True).click()
        name_classes(page)
        started = time.monotonic()
        for _ in range(EXAMPLES):
            for kind in KINDS:
                teach(page, kind, rng)
        drawing_seconds = time.monotonic() - started
        for kind in KINDS:
            expect(main_area(page).get_by_text(f"{kind}: {EXAMPLES} drawings", exact=True)).to_be_visible()
        clicked = press(page, "Train on my classes")
        report = main_area(page).get_by_text(re.compile(r"^Trained in"))
        report.wait_for(timeout=TRAIN_TIMEOUT_MS)
        train_seconds = time.monotonic() - clicked
        right, readings = 0, []
        for i in range(NEW_DRAWINGS):
            kind = KINDS[i % len(KINDS)]
            strokes = shape(kind, rng)
            draw(page, strokes, kind)
            read, server_ms = reading(page, len(strokes))
            readings.append(f"{kind}->{read}")
            right += read == kind
            clear(page)
        print(f"\ndrawn classes {', '.join(KINDS)}: {EXAMPLES} examples each drawn in {drawing_seconds:.0f} s, "
              f"click to trained {train_seconds:.1f} s; new drawings read right: {right} of {NEW_DRAWINGS} "
              f"({', '.join(readings)})\n{report.inner_text()}")
        assert right >= 8
        assert exceptions(page) == []
    finally:
        context.close()
