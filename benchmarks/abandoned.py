"""Work nobody can see any more (``python -m benchmarks.abandoned``): how long the training workers go
on after a tab with a run and a sweep going is closed.

Starts the app (``tests/browser.py``'s server on a free port) and one Chromium session: Train starts a
50-epoch run (``--hidden`` units, from a link), then the Sweep page starts its preset sweep (twelve runs
of Train's width, two at a time) while the run goes on. Then the tab is closed, and the worker
processes' CPU (psutil, every 0.5 s, the server's spawned children) is watched until it stays under 5%
of a core for 3 s: the seconds from the close to the start of that quiet are printed, with the CPU
before the close and the load average. ``--root`` runs another checkout's app (e.g. an older commit
extracted with ``git archive``), to compare. Run it from the repository's root.
"""

from __future__ import annotations

import argparse
import os
import time

import psutil
from playwright.sync_api import sync_playwright

from benchmarks.live_charts import cpu_seconds
from tests.browser import (
    ROOT,
    go_to,
    is_training,
    launch_chromium,
    main_area,
    new_page,
    open_app,
    press,
    server_log,
    start_server,
    stop_server,
)

IDLE_SHARE = 0.05  # of one core, all workers together
IDLE_SECONDS = 3.0
SAMPLE = 0.5


def workers(server_pid: int) -> list[psutil.Process]:
    """The server's training workers: its children started by multiprocessing's spawn."""
    found = []
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def share_over(processes: list[psutil.Process], seconds: float) -> float:
    """The workers' CPU, in cores, over the next ``seconds``."""
    before = cpu_seconds(processes)
    time.sleep(seconds)
    return (cpu_seconds(processes) - before) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128, help="Train's (and so the sweep's) hidden units")
    parser.add_argument("--watch", type=float, default=120.0, help="seconds to watch after the close, at most")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose app runs")
    args = parser.parse_args()
    server, url = start_server(root=args.root)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context, page = new_page(browser)
            open_app(page, f"{url}/?epochs=50&hidden={args.hidden}")
            press(page, "Train")
            deadline = time.monotonic() + 120
            while not is_training(page):
                assert time.monotonic() < deadline, "the run did not start"
                time.sleep(0.2)
            go_to(page, "Sweep")
            press(page, "Run sweep")
            progress = main_area(page).locator("[data-testid='stProgress']")
            try:
                progress.filter(has_text="training").wait_for(timeout=120_000)
            except Exception:  # say what the page shows instead
                print(page.locator("body").inner_text()[:3000])
                raise
            time.sleep(3.0)
            pool = workers(server.pid)
            busy = share_over(pool, 2.0)
            said = progress.inner_text().splitlines()[0]
            context.close()
            closed = time.monotonic()
            print(f"{len(pool)} workers, {busy:.2f} cores busy before the close (the sweep said: {said!r}); "
                  f"load {os.getloadavg()}", flush=True)
            quiet_since = None
            while time.monotonic() - closed < args.watch:
                start = time.monotonic()
                cores = share_over(pool, SAMPLE)
                if cores < IDLE_SHARE:
                    quiet_since = start if quiet_since is None else quiet_since
                    if time.monotonic() - quiet_since >= IDLE_SECONDS:
                        break
                else:
                    quiet_since = None
            browser.close()
        if quiet_since is not None and time.monotonic() - quiet_since >= IDLE_SECONDS:
            print(f"workers idle {quiet_since - closed:.1f} s after the tab closed; load {os.getloadavg()}")
        else:
            print(f"workers still busy {args.watch:.0f} s after the tab closed; load {os.getloadavg()}")
    except Exception:
        print(server_log(server))
        raise
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
