"""Screenshots of the three pages for the README, taken in headless Chromium.

Starts the app (``tests/conftest.py``'s ``start_server``, a free port), trains the default run on
Train, then opens Evaluate, then Draw and draws a 3 with the mouse, saving each page as
``docs/train.png``, ``docs/evaluate.png`` and ``docs/draw.png``.

    python scripts/screenshots.py            # writes docs/*.png
    python scripts/screenshots.py --out /tmp/shots

The sidebar's icons are emoji: install an emoji font first (Debian: fonts-noto-color-emoji) or
they show as empty boxes.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sessions import MAIN, click_train, exceptions, open_app, run_ended, wait_until  # noqa: E402

VIEWPORT = {"width": 1400, "height": 1000}
HOVER_MS = 350  # the canvas's toolbar covers its top-right corner until the pointer has hovered


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Until no script runs (Streamlit's header shows a running icon meanwhile), then let charts draw."""
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stStatusWidgetRunningIcon']\")",
                           timeout=timeout_ms)
    page.wait_for_timeout(1500)


def go_to(page, title: str) -> None:
    """Switch page with the sidebar's link (a new URL would open a new session, without the model)."""
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
    page.locator(MAIN).get_by_role("heading", name=title).wait_for(timeout=60_000)
    wait_idle(page)


def three(size: float) -> list[list[tuple[float, float]]]:
    """A 3 as one stroke: two bowls opening left, in a box of side ``size`` (canvas pixels)."""
    points = []
    for cy, start, end in ((0.3, -160, 90), (0.72, -90, 160)):
        for step in range(25):
            angle = math.radians(start + (end - start) * step / 24)
            points.append((size * (0.5 + 0.22 * math.cos(angle)), size * (cy + 0.2 * math.sin(angle))))
    return [points]


def draw(page, strokes) -> None:
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(HOVER_MS)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] + 150)  # hide the canvas toolbar


def shoot(page, path: Path) -> None:
    if exceptions(page):
        raise RuntimeError(f"{path.name}: the page shows an exception: {exceptions(page)[0]}")
    page.screenshot(path=str(path))
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_server

    server, url = start_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport=VIEWPORT).new_page()
            open_app(page, url)
            started = click_train(page)
            if not wait_until(lambda: run_ended(page) or exceptions(page), 900):
                raise RuntimeError("the default run did not end")
            print(f"trained the default run in {time.monotonic() - started:.1f} s")
            wait_idle(page)
            shoot(page, args.out / "train.png")

            go_to(page, "Evaluate")
            shoot(page, args.out / "evaluate.png")

            go_to(page, "Draw")
            draw(page, three(280))
            page.locator(MAIN).locator("[data-testid='stMetric']").filter(has_text="Prediction").wait_for(
                timeout=60_000)
            wait_idle(page)
            shoot(page, args.out / "draw.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
