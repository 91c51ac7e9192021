"""What one default run on the Train page costs the browser, against what it costs training; and how
soon its result shows (``python -m benchmarks.live_charts``, from the repository's root).

For each app checkout given (``--app DIR``, default this one; give two to compare two commits side by
side on the same machine at the same time, e.g. a ``git worktree`` of the commit before a change), a
server is started and warmed with one default run; then ``--repeat`` times, each app in turn, a new
session (browser context) presses Train with the defaults. Per run:

- renderer CPU-s: user+system CPU time of headless Chromium's renderer processes (psutil) from the
  click until the result is shown (the "Test accuracy" metric, the run's outcome, Stop disabled);
  "browser" adds Chromium's other processes (browser, GPU, network);
- worker CPU-s: the same for the server's training workers (its child processes), and the server's
  own process;
- click-to-metric: seconds from the click on Train to the "Test accuracy" metric first showing (checked
  by the page itself every 50 ms); click-to-settled: to the page done with the run (the outcome, the
  metric and Stop disabled again, after the full-page rerun: ``tests.browser.RUN_END_WATCH``);
- the accuracy shown.

``--sessions 2`` measures, after the solo runs, each app's click-to-result with two sessions pressing
Train at the same moment (each its own browser context), and prints each session's against the
app's solo median (with ``--evaluate``, one more session, a model trained first, opens Evaluate just
after their clicks: the seconds until its first chart shows). With two apps given, the last lines are the second app's medians over the first's
(e.g. ``--app /work/main --app .``: new over old).

``--compare`` also races Compare's default preset (four variants at once) and prints the same CPU split.

``--one-core`` pins each server (and so the training workers it starts, one for its one core) to CPU 0
and Chromium to CPU 1, as on Community Cloud's smallest box, and samples the server's and its workers'
memory (PSS) every 0.2 s while sessions train at once: the peak is printed with each run. (A CPU
affinity, not a cgroup: the server gets one core, and its memory is measured, not limited.)

``--live-units both`` runs each app twice, with the first layer's live units on Train and without them
(``NN_LAB_LIVE_UNITS=0`` in that server's environment), taking turns, and prints the ratios of the
renderer's and the server's CPU with them to without.

It prints each run (with the load average at its end) and the medians, per app. The machine is shared
(2 cores): read the ratios side by side rather than absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from tests.browser import (ROOT, go_to, launch_chromium, main_area, new_page, open_app, press, wait_idle, run_end_time, shown_accuracy,
                           start_server, stop_server, tree_memory_mb, wait_for_metric, wait_until, watch_run_end)


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


# When the "Test accuracy" metric first shows (time.time() seconds), checked by the page every 50 ms
# (textContent, which needs no layout: the watcher should cost the renderer next to nothing).
METRIC_WATCH = """() => {
    window.nnMetricShown = null;
    const timer = setInterval(() => {
        const shown = [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stMetric']")]
            .some(m => m.textContent.includes("Test accuracy") && /\\d%/.test(m.textContent));
        if (shown) { window.nnMetricShown = Date.now() / 1000; clearInterval(timer); }
    }, 50);
}"""


def one_run(browser_processes: Browser, browser, url: str, server: psutil.Process) -> dict:
    context, page = new_page(browser)
    try:
        open_app(page, url)
        page.wait_for_timeout(1000)  # the page's own loading (Plotly included) is not the run's
        watch_run_end(page)
        page.evaluate(METRIC_WATCH)
        before = Snapshot(browser_processes, server)
        clicked = time.time()
        press(page, "Train")
        if not wait_until(lambda: run_end_time(page) is not None, 300):
            raise RuntimeError("the run did not end within 300 s")
        ended = run_end_time(page)
        spent = Snapshot(browser_processes, server).since(before)
        return {"click_to_result": ended - clicked, "click_to_metric": page.evaluate("window.nnMetricShown") - clicked,
                "accuracy": shown_accuracy(page), **spent}
    finally:
        context.close()


class PeakMemory:
    """The highest PSS of a server and its workers, sampled every 0.2 s in a thread while in a ``with``."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def __enter__(self):
        def sample():
            while not self.done.wait(0.2):
                self.peak = max(self.peak, tree_memory_mb(self.pid)[1])
        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def pin_chromium(browser_processes: "Browser", cpu: int) -> None:
    """Chromium's processes (and the renderers they start after) on ``cpu`` alone."""
    for process in browser_processes.processes()[1]:
        try:
            process.cpu_affinity([cpu])
        except psutil.Error:
            continue


def compare_run(browser_processes: Browser, browser, url: str, server: psutil.Process) -> dict:
    """Compare's default preset (the post's three changes: four variants at once): the CPU each part spent
    from the click on Start until every variant has ended and the results are drawn."""
    context, page = new_page(browser)
    try:
        open_app(page, url)
        go_to(page, "Compare")
        page.wait_for_timeout(1000)  # the page's own loading (Plotly included) is not the runs'
        before = Snapshot(browser_processes, server)
        clicked = time.time()
        press(page, "Start")
        main_area(page).get_by_text("4 of 4 variants ended").wait_for(timeout=600_000)
        main_area(page).get_by_role("heading", name="Results").wait_for(timeout=120_000)
        wait_idle(page)
        spent = Snapshot(browser_processes, server).since(before)
        return {"click_to_result": time.time() - clicked, **spent}
    finally:
        context.close()


def evaluate_seconds(page) -> float:
    """From a click on the sidebar's Evaluate to its first chart drawn (the confusion matrix's plot)."""
    clicked = time.monotonic()
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Evaluate").click()
    main_area(page).locator(".js-plotly-plot").first.wait_for(timeout=300_000)
    return time.monotonic() - clicked


def together(browser, url: str, server: psutil.Process, sessions: int, evaluate: bool = False) -> list[dict]:
    """``sessions`` new sessions press Train at once; each one's click-to-metric and click-to-settled, and
    the server's and its workers' peak memory meanwhile (``peak_pss``). ``evaluate``: one more session,
    with a model trained before (one epoch), opens Evaluate just after the clicks; seconds until its first
    chart shows (``evaluate``, in the first row)."""
    opened = [new_page(browser) for _ in range(sessions)]
    watcher = new_page(browser) if evaluate else None
    try:
        if watcher is not None:
            open_app(watcher[1], url + "/?epochs=1")
            press(watcher[1], "Train")
            wait_for_metric(watcher[1], "Test accuracy", 300_000)
            wait_idle(watcher[1])
        for _, page in opened:
            open_app(page, url)
        opened[0][1].wait_for_timeout(1000)
        for _, page in opened:
            watch_run_end(page)
            page.evaluate(METRIC_WATCH)
        clicked = []
        with PeakMemory(server.pid) as memory:
            for _, page in opened:  # one after the other as fast as the driver can: within a few ms
                clicked.append(time.time())
                page.get_by_role("button", name="Train", exact=True).first.click()
            seconds = evaluate_seconds(watcher[1]) if watcher is not None else None
            training = sum(run_end_time(page) is None for _, page in opened)  # still training then
            if not wait_until(lambda: all(run_end_time(page) is not None for _, page in opened), 600):
                raise RuntimeError("the runs did not end within 600 s")
        rows = [{"click_to_result": run_end_time(page) - at, "click_to_metric": page.evaluate("window.nnMetricShown") - at,
                 "accuracy": shown_accuracy(page), "peak_pss": memory.peak} for (_, page), at in zip(opened, clicked)]
        if seconds is not None:
            rows[0] |= {"evaluate": seconds, "training_meanwhile": training}
        return rows
    finally:
        for context, _ in opened + ([watcher] if watcher is not None else []):
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, action="append",
                        help="a checkout of the app to measure (repeatable; default: this repository)")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per app (default 5)")
    parser.add_argument("--live-units", choices=("on", "off", "both"), default="on",
                        help="Train's live hidden units: on (default), off, or both side by side")
    parser.add_argument("--sessions", type=int, default=1, choices=(1, 2, 3, 4),
                        help="also measure this many sessions pressing Train at once (default 1: solo only)")
    parser.add_argument("--compare", action="store_true",
                        help="also race Compare's four default variants, --repeat times per app")
    parser.add_argument("--evaluate", action="store_true",
                        help="with --sessions: one more session opens Evaluate while they train (its first chart's time)")
    parser.add_argument("--one-core", action="store_true",
                        help="the server and its workers on CPU 0 alone, Chromium on CPU 1 (Community Cloud's smallest)")
    args = parser.parse_args()
    apps = [path.resolve() for path in args.app or [ROOT]]
    modes = {"on": ["1"], "off": ["0"], "both": ["1", "0"]}[args.live_units]
    # one server per app and mode, all at once; the runs take turns
    servers = {f"{app}{'' if args.live_units == 'on' else ' units ' + ('on' if mode == '1' else 'off')}":
               start_server({"NN_LAB_LIVE_UNITS": mode}, root=app) for app in apps for mode in modes}
    if args.one_core:  # before any page: the workers, started by the first, inherit the server's one CPU
        for process, _ in servers.values():
            psutil.Process(process.pid).cpu_affinity([0])
    results: dict[str, list[dict]] = {label: [] for label in servers}
    many: dict[str, list[list[dict]]] = {label: [] for label in servers}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            processes = Browser()
            if args.one_core:
                pin_chromium(processes, 1)
            for app, (process, url) in servers.items():  # warm: workers started, data mapped, pages cached
                one_run(processes, browser, url, psutil.Process(process.pid))
            for _ in range(args.repeat):
                for app, (process, url) in servers.items():
                    row = one_run(processes, browser, url, psutil.Process(process.pid))
                    row["load"] = os.getloadavg()[0]
                    results[app].append(row)
                    print(f"  {app}: click-to-metric {row['click_to_metric']:.2f} s, click-to-settled "
                          f"{row['click_to_result']:.2f} s, renderer {row['renderer']:.2f} CPU-s (all Chromium "
                          f"{row['browser']:.2f}), workers {row['workers']:.2f} CPU-s, server {row['server']:.2f} "
                          f"CPU-s, renderer/workers {row['renderer'] / row['workers']:.2f}, accuracy "
                          f"{row['accuracy']:.2%}, load average {row['load']:.2f}", flush=True)
            if args.compare:
                for _ in range(args.repeat):
                    for app, (process, url) in servers.items():
                        row = compare_run(processes, browser, url, psutil.Process(process.pid))
                        print(f"  {app}: Compare's four variants: click to results {row['click_to_result']:.2f} s, "
                              f"renderer {row['renderer']:.2f} CPU-s, workers {row['workers']:.2f} CPU-s, server "
                              f"{row['server']:.2f} CPU-s: renderer/workers {row['renderer'] / row['workers']:.2f}, "
                              f"server/workers {row['server'] / row['workers']:.2f}, load average "
                              f"{os.getloadavg()[0]:.2f}", flush=True)
            if args.sessions > 1:
                for _ in range(args.repeat):
                    for app, (process, url) in servers.items():
                        if args.one_core:
                            pin_chromium(processes, 1)
                        rows = together(browser, url, psutil.Process(process.pid), args.sessions, args.evaluate)
                        load = os.getloadavg()[0]
                        for row in rows:
                            row["load"] = load
                        many[app].append(rows)
                        metric = ", ".join(f"{r['click_to_metric']:.2f}" for r in rows)
                        settled = ", ".join(f"{r['click_to_result']:.2f}" for r in rows)
                        accuracy = ", ".join(f"{r['accuracy']:.2%}" for r in rows)
                        print(f"  {app}: {args.sessions} sessions at once: click-to-metric {metric} s, "
                              f"click-to-settled {settled} s, accuracy {accuracy}, server and workers' peak PSS "
                              f"{rows[0]['peak_pss']:.0f} MB, load average {load:.2f}", flush=True)
                        if "evaluate" in rows[0]:
                            print(f"  {app}: Evaluate opened while {rows[0]['training_meanwhile']} of them trained: its "
                                  f"first chart {rows[0]['evaluate']:.2f} s after the click", flush=True)
            browser.close()
    finally:
        for process, _ in servers.values():
            stop_server(process)
    for app, rows in results.items():
        def median(key):
            return statistics.median(row[key] for row in rows)
        accuracies = ", ".join(sorted({f"{row['accuracy']:.2%}" for row in rows}))
        print(f"{app} (median of {len(rows)}): click-to-metric {median('click_to_metric'):.2f} s, click-to-settled "
              f"{median('click_to_result'):.2f} s; renderer {median('renderer'):.2f} CPU-s (all Chromium "
              f"{median('browser'):.2f}) against workers {median('workers'):.2f} CPU-s: "
              f"{statistics.median(r['renderer'] / r['workers'] for r in rows):.2f}x; server "
              f"{median('server'):.2f} CPU-s: {statistics.median(r['server'] / r['workers'] for r in rows):.2f}x the "
              f"workers'; accuracy {accuracies}; load average {median('load'):.2f}")
        if many[app]:
            solo = median("click_to_metric")
            slowest = [max(r["click_to_metric"] for r in rows) for rows in many[app]]
            print(f"{app}: {args.sessions} sessions at once: the slower's click-to-metric median "
                  f"{statistics.median(slowest):.2f} s, {statistics.median(slowest) / solo:.2f}x solo "
                  f"({solo:.2f} s); peak PSS median {statistics.median(r[0]['peak_pss'] for r in many[app]):.0f} MB; "
                  f"load average {statistics.median(r[0]['load'] for r in many[app]):.2f}")
    if len(apps) == 2 and args.live_units != "both":  # the second app's figures over the first's
        first, second = (results[str(app)] for app in apps)
        for kind in ("renderer", "server", "workers", "click_to_metric", "click_to_result"):
            a, b = statistics.median(r[kind] for r in first), statistics.median(r[kind] for r in second)
            print(f"{apps[1].name} / {apps[0].name}: {kind} median {b:.2f} / {a:.2f} = {b / a:.2f}x")
        for kind, ratio in (("renderer/workers", "renderer"), ("server/workers", "server")):
            a = statistics.median(r[ratio] / r["workers"] for r in first)
            b = statistics.median(r[ratio] / r["workers"] for r in second)
            print(f"{apps[1].name} / {apps[0].name}: {kind} {b:.2f} / {a:.2f} = {b / a:.2f}x")
        if many[str(apps[0])] and many[str(apps[1])]:
            a = statistics.median(max(r["click_to_metric"] for r in rows) for rows in many[str(apps[0])])
            b = statistics.median(max(r["click_to_metric"] for r in rows) for rows in many[str(apps[1])])
            print(f"{apps[1].name} / {apps[0].name}: {args.sessions} sessions, the slower's click-to-metric "
                  f"{b:.2f} / {a:.2f} = {b / a:.2f}x")
    if args.live_units == "both":  # each app with its units against without, runs paired by turn
        for app in apps:
            on, off = results[f"{app} units on"], results[f"{app} units off"]
            for kind in ("renderer", "browser", "server", "workers", "click_to_metric"):
                ratios = [a[kind] / b[kind] for a, b in zip(on, off) if b[kind] > 0]
                print(f"{app}: {kind} with live units / without: median {statistics.median(ratios):.2f}x "
                      f"(runs: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
