"""Switching pages at once after the app has opened: how often the next page comes up whole.

Each try opens the app (Train, a new session) in a new browser context, clicks the sidebar's Draw at
once, and checks that Draw's mode switch ("My own classes") shows within 15 s. A Chromium renderer
throttled ``--throttle`` times (Chrome's CPU throttling) makes the window in which Train's view is still
drawing when Draw arrives wider, as a slow phone or a busy machine does: there, before the live view held
its states back on its way out (ui/liveview.js, ``tell``), Streamlit ran Train's panel on the Draw page
and the whole app went blank ("'setIn' cannot be called on an ElementNode").

    python -m benchmarks.page_switch --tries 40 --throttle 6   # from the repository's root

Prints each failure (the page's state and its console errors) and the count, with the load average.
``--app DIR`` measures another checkout (e.g. a ``git archive`` of an older commit).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.browser import (ROOT, go_to, launch_chromium, main_area, new_page, open_app, page_state, start_server,
                           stop_server)


def one_try(browser, url: str, throttle: float) -> str | None:
    """None if Draw came up whole after a switch made at once, else what the page showed."""
    context, page = new_page(browser)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)[:300]))
    try:
        if throttle > 1:
            context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        open_app(page, url)
        try:
            go_to(page, "Draw")
            main_area(page).get_by_text("My own classes", exact=True).wait_for(timeout=15_000)
            return None
        except (AssertionError, PlaywrightError):
            return f"{page_state(page)}; page errors: {errors}"
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=40, help="page switches (default 40)")
    parser.add_argument("--throttle", type=float, default=6, help="Chromium's CPU slowed this many times (default 6)")
    parser.add_argument("--app", type=Path, default=ROOT, help="the checkout whose app runs (default this one)")
    args = parser.parse_args()
    if not 1 <= args.tries <= 1000 or not 1 <= args.throttle <= 20:
        parser.error("--tries is 1-1000 and --throttle 1-20")
    process, url = start_server(root=args.app.resolve())
    failed = 0
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for attempt in range(args.tries):
                problem = one_try(browser, url, args.throttle)
                if problem is not None:
                    failed += 1
                    print(f"  try {attempt + 1}: Draw not whole: {problem}", flush=True)
            browser.close()
    finally:
        stop_server(process)
    print(f"{args.app.resolve()}: Draw not whole after {failed} of {args.tries} switches made at once "
          f"(Chromium throttled {args.throttle:g}x), load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
