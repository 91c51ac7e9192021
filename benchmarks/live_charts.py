"""What one default run on the Train page costs the browser, against what it costs training; and how
soon its result shows (``python -m benchmarks.live_charts``, from the repository's root).

For each app checkout given (``--app DIR``, default this one; give two to compare two commits side by
side on the same machine at the same time, e.g. a ``git worktree`` of the commit before a change), a
server is started and warmed with one default run, then ``--repeat`` sessions (new browser contexts,
one after another) each press Train with the defaults. Per run:

- renderer CPU-s: user+system CPU time of headless Chromium's renderer processes (psutil) from the
  click until the result is shown (the "Test accuracy" metric, the run's outcome, Stop disabled);
  "browser" adds Chromium's other processes (browser, GPU, network);
- worker CPU-s: the same for the server's training workers (its child processes), and the server's
  own process;
- click-to-result: seconds from the click on Train to the page showing the result (checked by the
  page itself every 50 ms, ``tests.browser.RUN_END_WATCH``);
- the accuracy shown.

It prints each run and the medians, per app. The machine is shared (2 cores): read the ratios side
by side rather than absolute figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from tests.browser import (ROOT, launch_chromium, new_page, open_app, press, run_end_time, shown_accuracy,
                           start_server, stop_server, wait_until, watch_run_end)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:  # ended meanwhile
            continue
    return total


class Browser:
    """The processes of the headless Chromium this script launched (children of its Playwright driver)."""

    def __init__(self):
        self.me = psutil.Process()

    def processes(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        """(renderers, all of Chromium's processes)."""
        chromium, renderers = [], []
        for process in self.me.children(recursive=True):
            try:
                name, cmdline = process.name(), process.cmdline()
            except psutil.Error:
                continue
            if "chrom" in name.lower() or any("chrom" in part for part in cmdline[:1]):
                chromium.append(process)
                if "--type=renderer" in cmdline:
                    renderers.append(process)
        return renderers, chromium


class Snapshot:
    """CPU seconds so far of each renderer, each of Chromium's processes, the server and its workers."""

    def __init__(self, browser: Browser, server: psutil.Process):
        renderers, chromium = browser.processes()
        processes = {"renderer": renderers, "browser": chromium, "server": [server],
                     "workers": server.children(recursive=True)}
        self.seconds = {kind: {p.pid: cpu_seconds([p]) for p in group} for kind, group in processes.items()}

    def since(self, before: "Snapshot") -> dict[str, float]:
        """CPU seconds spent since ``before``, by kind: a process started meanwhile counts whole."""
        return {kind: sum(seconds - before.seconds[kind].get(pid, 0.0) for pid, seconds in now.items())
                for kind, now in self.seconds.items()}


def one_run(browser_processes: Browser, browser, url: str, server: psutil.Process) -> dict:
    context, page = new_page(browser)
    try:
        open_app(page, url)
        page.wait_for_timeout(1000)  # the page's own loading (Plotly included) is not the run's
        watch_run_end(page)
        before = Snapshot(browser_processes, server)
        clicked = time.time()
        press(page, "Train")
        if not wait_until(lambda: run_end_time(page) is not None, 300):
            raise RuntimeError("the run did not end within 300 s")
        ended = run_end_time(page)
        spent = Snapshot(browser_processes, server).since(before)
        return {"click_to_result": ended - clicked, "accuracy": shown_accuracy(page), **spent}
    finally:
        context.close()


def measure(app: Path, repeat: int, browser, browser_processes: Browser) -> list[dict]:
    process, url = start_server(root=app)
    try:
        server = psutil.Process(process.pid)
        one_run(browser_processes, browser, url, server)  # warm: workers started, data mapped, pages cached
        rows = []
        for _ in range(repeat):
            rows.append(one_run(browser_processes, browser, url, server))
            row = rows[-1]
            print(f"  {app}: click-to-result {row['click_to_result']:.2f} s, renderer {row['renderer']:.2f} "
                  f"CPU-s (all Chromium {row['browser']:.2f}), workers {row['workers']:.2f} CPU-s, "
                  f"server {row['server']:.2f} CPU-s, renderer/workers {row['renderer'] / row['workers']:.2f}, "
                  f"accuracy {row['accuracy']:.2%}", flush=True)
        return rows
    finally:
        stop_server(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, action="append",
                        help="a checkout of the app to measure (repeatable; default: this repository)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the apps this many times (each round: --repeat runs per app)")
    args = parser.parse_args()
    apps = [path.resolve() for path in args.app or [ROOT]]
    results: dict[Path, list[dict]] = {app: [] for app in apps}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        processes = Browser()
        for _ in range(args.rounds):
            for app in apps:
                results[app] += measure(app, args.repeat, browser, processes)
        browser.close()
    for app, rows in results.items():
        def median(key):
            return statistics.median(row[key] for row in rows)
        accuracies = ", ".join(sorted({f"{row['accuracy']:.2%}" for row in rows}))
        print(f"{app} (median of {len(rows)}): click-to-result {median('click_to_result'):.2f} s; renderer "
              f"{median('renderer'):.2f} CPU-s (all Chromium {median('browser'):.2f}) against workers "
              f"{median('workers'):.2f} CPU-s: {statistics.median(r['renderer'] / r['workers'] for r in rows):.2f}x; "
              f"server {median('server'):.2f} CPU-s; accuracies {accuracies}")


if __name__ == "__main__":
    main()
