"""The server's memory once every visitor has gone (``python -m benchmarks.session_memory``; issue 29).

Starts the app (``tests/browser.py``'s server on a free port, with the checkout's own
.streamlit/config.toml, so its session TTL) and opens ``--sessions`` Chromium sessions one after
another; each trains a run of ``--hidden`` units for ``--epochs`` epochs (from a link) and opens
Evaluate (its confusion matrix, units and PCA map of the hidden layer). ``--heavy`` runs the issue's
five sessions instead (benchmarks.heavy_sessions: a 512-unit 50-epoch run, Compare's Overfitting
preset, three t-SNE maps of 5,000 images). Then every tab is closed.
Printed: the server's RSS fresh (the first page loaded, so with the data), with the sessions open,
its peak (VmHWM), and each ``--every`` seconds after the last tab closed, up to ``--after`` seconds,
with the load average (the machine's, over 1 minute) at each; then the same for a second wave of
sessions (``--waves``), and the live sessions, runs and models left in the server after each wave.
``--root`` runs another checkout's app (e.g. an older commit extracted with ``git archive``), to
compare. Run it from the repository's root.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from playwright.sync_api import sync_playwright

from benchmarks.heavy_sessions import heavy_wave
from benchmarks.sessions import live_objects, probe_env
from tests.browser import (ROOT, go_to, launch_chromium, new_page, open_app, press, rss_mb, start_server, stop_server,
                           wait_for_metric, wait_idle)


def load() -> float:
    return os.getloadavg()[0]


def settled_rss(pid: int, seconds: float = 2.0) -> float:
    time.sleep(seconds)
    return rss_mb(pid)


def light_wave(browser, url: str, args, report) -> list:
    """``--sessions`` sessions, one after another: each trains and opens Evaluate. The contexts, open."""
    contexts = []
    for n in range(args.sessions):
        context, page = new_page(browser)
        contexts.append(context)
        open_app(page, f"{url}/?hidden={args.hidden}&epochs={args.epochs}", timeout_ms=600_000)
        press(page, "Train")
        wait_for_metric(page, "Test accuracy", timeout_ms=1_800_000)
        go_to(page, "Evaluate", timeout_ms=600_000)
        wait_idle(page, 600_000, settle_ms=1000)
        report(f"session {n + 1}: trained and evaluated")
    return contexts


def watch_after_close(pid: int, args) -> dict[int, tuple[float, float]]:
    """RSS and load average each ``--every`` seconds after the tabs closed (now), up to ``--after``."""
    closed, after = time.monotonic(), {}
    for seconds in range(args.every, args.after + 1, args.every):
        time.sleep(max(0.0, closed + seconds - time.monotonic()))
        after[seconds] = (rss_mb(pid), load())
    return after


def run_waves(url: str, pid: int, args, probe: str) -> list[tuple]:
    """Each wave's (RSS with its sessions open, peak so far, load then, RSS after close, live objects)."""
    waves = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context, page = new_page(browser)
        open_app(page, url, timeout_ms=600_000)
        context.close()
        waves.append(settled_rss(pid))  # fresh: the first page loaded the data
        for wave in range(args.waves):
            def report(what: str) -> None:
                print(f"wave {wave + 1}, {what}; server RSS {rss_mb(pid):.0f} MB, load {load():.1f}", flush=True)

            contexts = (heavy_wave(lambda: new_page(browser), url, report) if args.heavy
                        else light_wave(browser, url, args, report))
            open_rss, peak, busy = settled_rss(pid), rss_mb(pid, "VmHWM"), load()
            for context in contexts:
                context.close()
            waves.append((open_rss, peak, busy, watch_after_close(pid, args), live_objects(probe)))
        browser.close()
    return waves


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--heavy", action="store_true", help="the issue's five heavy sessions (each wave)")
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
    try:
        fresh, *waves = run_waves(url, server.pid, args, probe)
    finally:
        stop_server(server)
    what = ("the issue's five heavy sessions" if args.heavy
            else f"{args.sessions} sessions of {args.hidden} units x {args.epochs} epochs + Evaluate")
    print(f"\napp: {args.root}; waves of {what}")
    print(f"server RSS fresh (the first page loaded the data) {fresh:.0f} MB")
    for wave, (open_rss, peak, busy, after, live) in enumerate(waves, 1):
        print(f"wave {wave}: sessions open {open_rss:.0f} MB, peak so far {peak:.0f} MB (load {busy:.1f}); "
              "after the last tab closed: " + ", ".join(f"{s} s {mb:.0f} MB (load {la:.1f})"
                                                         for s, (mb, la) in after.items())
              + f"; then live in the server: {live}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
