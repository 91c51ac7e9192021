"""Compare, timed (``python -m benchmarks.compare_timing``): the four variants of "The post's three
changes" trained at once, from Start to the last end, against the same four run one after the other
on the same machine, and the ratio (one after the other / at once).

- backend (always): ``nn_core.jobs.ProcessBackend``, the app's default backend, with the app's worker
  count (this machine's cores), driven as the page drives it (``ui.compare.Comparison``), without a
  browser: at once = the four started together; one after the other = each started when the one
  before had ended. Repetitions alternate the order of the two, on the same warmed-up workers.
- ``--browser``: the same in headless Chromium against a live server: at once = Compare's Start to
  the page's "4 of 4 variants ended"; one after the other = each variant opened on Train from a link
  and trained there (click to its "Test accuracy" metric), the four times summed.

Every variant's test accuracy is printed (they must climb to the default run's 97.62%). The machine
may be shared: the load average is printed beside each measurement; read the ratio, measured side by
side, rather than the seconds. Run it from the repository's root.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from nn_core import Hyperparams, load_mnist
from nn_core.jobs import ProcessBackend
from ui import compare as cmp

POST = cmp.BY_PRESET["The post's three changes"]
LINK_KEYS = {s.name: s.url_key for s in cmp.SETTINGS}


def variants() -> tuple[list[str], list[Hyperparams]]:
    rows = cmp.preset_variants(POST, Hyperparams())
    return [name for name, _ in rows], [hp for _, hp in rows]


def at_once(backend, data) -> tuple[float, list[float]]:
    names, hps = variants()
    comparison = cmp.Comparison(names, hps, POST.name)
    comparison.start(backend)
    while not comparison.finished:
        comparison.advance(0.5, data.test_images, data.test_labels)
    return comparison.seconds, [score[1] for score in comparison.scores]


def one_after_another(backend, data) -> tuple[float, list[float]]:
    names, hps = variants()
    start, accuracies = time.perf_counter(), []
    for name, hp in zip(names, hps):
        comparison = cmp.Comparison([name], [hp], None)
        comparison.start(backend)
        while not comparison.finished:
            comparison.advance(0.5, data.test_images, data.test_labels)
        accuracies.append(comparison.scores[0][1])
    return time.perf_counter() - start, accuracies


def _spin(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i
    return total


def parallelism(iterations: int = 10_000_000) -> float:
    """How much faster two processes do two equal pieces of pure-Python work than one process does
    both, now: about 2 on an idle 2-core machine, nearer 1 when other work holds the cores."""
    import multiprocessing

    start = time.perf_counter()
    _spin(iterations), _spin(iterations)
    alone = time.perf_counter() - start
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [1000] * 2)  # started before the clock
        start = time.perf_counter()
        pool.map(_spin, [iterations] * 2)
        return alone / (time.perf_counter() - start)


def load() -> str:
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def backend_timing(repeats: int) -> None:
    data = load_mnist().read_only()
    backend = ProcessBackend(data)
    backend.warm_up()
    print(f"backend: ProcessBackend, {backend.workers} workers, {os.cpu_count()} cores; the machine's parallelism "
          f"now (two processes against one on pure-Python work): {parallelism():.2f}x ({load()})", flush=True)
    together, apart = [], []
    try:
        for repeat in range(repeats):
            order = (at_once, one_after_another) if repeat % 2 == 0 else (one_after_another, at_once)
            for measure in order:
                seconds, accuracies = measure(backend, data)
                (together if measure is at_once else apart).append(seconds)
                shown = ", ".join(f"{a:.2%}" for a in accuracies)
                print(f"  {measure.__name__:<18} {seconds:6.1f} s  [{shown}]  ({load()})", flush=True)
    finally:
        backend.shutdown()
    once, after = statistics.median(together), statistics.median(apart)
    print(f"backend medians: at once {once:.1f} s, one after the other {after:.1f} s, ratio {after / once:.2f}; "
          f"the machine's parallelism now {parallelism():.2f}x ({load()})")


def browser_timing() -> None:
    import re

    from playwright.sync_api import sync_playwright

    from tests.browser import (go_to, launch_chromium, main_area, metric_value, new_page, open_app, press,
                               start_server, stop_server, wait_for_metric)

    names, hps = variants()
    process, url = start_server()
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context, page = new_page(browser)
            open_app(page, url)
            go_to(page, "Compare")
            started = press(page, "Start")
            main_area(page).get_by_text("4 of 4 variants ended").wait_for(timeout=600_000)
            clicked = time.monotonic() - started
            text = main_area(page).inner_text()
            on_page = float(re.search(r"([\d.]+) s from Start to the last end", text).group(1))
            accuracies = re.findall(r"test accuracy (\d+\.\d\d%)", text)[:4]
            print(f"browser, at once: {on_page:.1f} s Start to last end on the page ({clicked:.1f} s from the "
                  f"click) [{', '.join(accuracies)}] ({load()})", flush=True)
            context.close()
            total, shown = 0.0, []
            for hp in hps:
                query = "&".join(f"{LINK_KEYS[name]}={cmp.BY_NAME[name].format(value)}"
                                 for name, value in hp.as_dict().items() if value != getattr(Hyperparams(), name))
                context, page = new_page(browser)
                open_app(page, f"{url}/?{query}" if query else url)
                started = press(page, "Train")
                wait_for_metric(page, "Test accuracy", 600_000)
                total += time.monotonic() - started
                shown.append(metric_value(page, "Test accuracy").inner_text())
                context.close()
            print(f"browser, one after the other on Train: {total:.1f} s [{', '.join(shown)}] ({load()})")
            print(f"browser ratio (one after the other / at once, click to last result): {total / clicked:.2f}")
            browser.close()
    finally:
        stop_server(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of each way (backend)")
    parser.add_argument("--browser", action="store_true", help="also time both ways in headless Chromium")
    args = parser.parse_args()
    backend_timing(args.repeats)
    if args.browser:
        browser_timing()


if __name__ == "__main__":
    main()
