"""Screenshots of the five pages for the README, taken in headless Chromium.

Starts the app (``tests/browser.py``'s ``start_server``, a free port), trains the default run on
Train, then opens Evaluate, then Draw and draws a 3 with the mouse, then Sweep and sweeps five
learning rates, then Inside and presses Step 10, saving each page as ``docs/train.png``,
``docs/evaluate.png``, ``docs/draw.png``, ``docs/sweep.png`` and ``docs/inside.png``. Run it from the repository's root:

    python -m scripts.screenshots            # writes docs/*.png
    python -m scripts.screenshots --out /tmp/shots

The sidebar's icons are emoji: install an emoji font first (Debian: fonts-noto-color-emoji) or
they show as empty boxes.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import (ROOT, canvas_box, draw, exceptions, go_to, launch_chromium, main_area, new_page, open_app,
                           press, run_ended, start_server, stop_server, wait_for_metric, wait_idle, wait_until)
from tests.digit_strokes import CANVAS

SETTLE_MS = 1500  # after the scripts have run, time for the charts to draw


def three(size: float) -> list[list[tuple[float, float]]]:
    """A 3 as one stroke: two bowls opening left, in a box of side ``size`` (canvas pixels)."""
    points = []
    for cy, start, end in ((0.3, -160, 90), (0.72, -90, 160)):
        for step in range(25):
            angle = math.radians(start + (end - start) * step / 24)
            points.append((size * (0.5 + 0.22 * math.cos(angle)), size * (cy + 0.2 * math.sin(angle))))
    return [points]


def shoot(page, path: Path) -> None:
    wait_idle(page, settle_ms=SETTLE_MS)
    if exceptions(page):
        raise RuntimeError(f"{path.name}: the page shows an exception: {exceptions(page)[0]}")
    page.screenshot(path=str(path))
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    server, url = start_server()
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            _, page = new_page(browser)
            open_app(page, url)
            started = press(page, "Train")
            if not wait_until(lambda: run_ended(page) or exceptions(page), 900):
                raise RuntimeError("the default run did not end")
            print(f"trained the default run in {time.monotonic() - started:.1f} s")
            shoot(page, args.out / "train.png")

            go_to(page, "Evaluate")
            shoot(page, args.out / "evaluate.png")

            go_to(page, "Draw")
            draw(page, three(CANVAS), "a 3")
            box = canvas_box(page)
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] + 150)  # hide the canvas toolbar
            wait_for_metric(page, "Prediction", 60_000)
            shoot(page, args.out / "draw.png")

            go_to(page, "Sweep")
            box = main_area(page).get_by_role("textbox", name="Values of learning rate, separated by commas")
            box.fill("0.1, 0.4, 1, 4, 10")
            box.press("Enter")
            press(page, "Run sweep")
            main_area(page).get_by_text(re.compile(r"(\d+) of \1 runs ended")).wait_for(timeout=600_000)
            main_area(page).get_by_role("heading", name="Results").wait_for(timeout=60_000)
            page.set_viewport_size({"width": 1400, "height": 1700})
            shoot(page, args.out / "sweep.png")
            page.set_viewport_size({"width": 1400, "height": 1000})

            go_to(page, "Inside")
            press(page, "Step 10")
            wait_for_metric(page, "Batch cost", 60_000)
            page.set_viewport_size({"width": 1400, "height": 1600})  # the step's first stages too
            shoot(page, args.out / "inside.png")
            browser.close()
    finally:
        stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
