"""The server's memory once every visitor has gone (``python -m benchmarks.session_memory``; issue 29).

Starts the app (``tests/browser.py``'s server on a free port, with the checkout's own
.streamlit/config.toml, so its session TTL) and opens ``--sessions`` Chromium sessions one after
another; each trains a run of ``--hidden`` units for ``--epochs`` epochs (from a link) and opens
Evaluate (its confusion matrix, units and PCA map of the hidden layer). Then every tab is closed.
Printed: the server's RSS fresh (the first page loaded, so with the data), with the sessions open,
its peak (VmHWM), and each ``--every`` seconds after the last tab closed, up to ``--after`` seconds;
then the same for a second wave of sessions (``--waves``).
``--root`` runs another checkout's app (e.g. an older commit extracted with ``git archive``), to
compare. Run it from the repository's root.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from playwright.sync_api import sync_playwright

from benchmarks.sessions import live_objects, probe_env
from tests.browser import (ROOT, go_to, launch_chromium, new_page, open_app, press, rss_mb, start_server, stop_server,
                           wait_for_metric, wait_idle)


def settled_rss(pid: int, seconds: float = 2.0) -> float:
    time.sleep(seconds)
    return rss_mb(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--after", type=int, default=45, help="seconds to watch after the last tab closed")
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--waves", type=int, default=2,
                        help="waves of sessions, one after the other: a second wave that ends where the first "
                             "did shows ended sessions leave nothing behind (the first wave also imports the "
                             "pages' libraries, for good)")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose app runs")
    args = parser.parse_args(argv)

    probe = tempfile.mkdtemp(prefix="session-memory-")  # the server answers with its live objects' counts
    server, url = start_server(probe_env(probe), root=args.root)
    pid = server.pid
    waves = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for wave in range(args.waves):
                contexts = []
                for n in range(args.sessions):
                    context, page = new_page(browser)
                    contexts.append(context)
                    open_app(page, f"{url}/?hidden={args.hidden}&epochs={args.epochs}", timeout_ms=600_000)
                    if wave == 0 and n == 0:
                        fresh = settled_rss(pid)
                    press(page, "Train")
                    wait_for_metric(page, "Test accuracy", timeout_ms=1_800_000)
                    go_to(page, "Evaluate", timeout_ms=600_000)
                    wait_idle(page, 600_000, settle_ms=1000)
                    print(f"wave {wave + 1}, session {n + 1}: trained and evaluated; server RSS {rss_mb(pid):.0f} MB",
                          flush=True)
                open_rss, peak = settled_rss(pid), rss_mb(pid, "VmHWM")
                for context in contexts:
                    context.close()
                closed = time.monotonic()
                after = {}
                for seconds in range(args.every, args.after + 1, args.every):
                    time.sleep(max(0.0, closed + seconds - time.monotonic()))
                    after[seconds] = rss_mb(pid)
                waves.append((open_rss, peak, after, live_objects(probe)))
            browser.close()
    finally:
        stop_server(server)
    print(f"\napp: {args.root}; waves of {args.sessions} sessions of {args.hidden} units x {args.epochs} epochs "
          "+ Evaluate")
    print(f"server RSS fresh (the first page loaded the data) {fresh:.0f} MB")
    for wave, (open_rss, peak, after, live) in enumerate(waves, 1):
        print(f"wave {wave}: sessions open {open_rss:.0f} MB, peak so far {peak:.0f} MB; after the last tab closed: "
              + ", ".join(f"{s} s {mb:.0f} MB" for s, mb in after.items()) + f"; then live in the server: {live}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
