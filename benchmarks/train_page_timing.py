"""Train page, measured in headless Chromium against a live server (``python -m benchmarks.train_page_timing``).

Prints, per repetition and as medians:
- press-to-metric: seconds from clicking Train (default settings) to the "Test accuracy" metric;
- the same run's "Training time" metric (time in gradient steps only) and test accuracy;
- bare: the same default run with ``nn_core.Trainer`` alone in this process, for the ratio;
- stop: seconds from clicking Stop (during a 50-epoch run) to the "stopped by you" message;
- warm: the same press-to-metric for a second session's default run, the workers started;
- the server's RSS (VmRSS, and the peak VmHWM) from /proc: after MNIST is loaded, and after each run;
  and the whole tree's (server and training workers) RSS and PSS after the runs.

Each repetition uses a fresh server and browser context. The machine is shared, so read the ratio
(page / bare, measured side by side) rather than the absolute seconds. Run it from the repository's root.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

from playwright.sync_api import sync_playwright

from tests.browser import (launch_chromium, main_area, metric_value, new_page, open_app, press, rss_mb, start_server,
                           stop_server, tree_memory_mb, wait_for_metric)


def bare_run_seconds() -> float:
    from nn_core import Hyperparams, Trainer, load_mnist

    data = load_mnist().read_only()
    start = time.perf_counter()
    trainer = Trainer(data, Hyperparams())
    while not trainer.finished:
        trainer.run(max_batches=10_000)
    return time.perf_counter() - start


def one_repetition(browser) -> dict:
    process, url = start_server()
    try:
        context, page = new_page(browser)
        open_app(page, url)
        loaded = rss_mb(process.pid)
        started = press(page, "Train")
        wait_for_metric(page, "Test accuracy", 300_000)
        press_to_metric = time.monotonic() - started
        accuracy = metric_value(page, "Test accuracy").inner_text()
        train_time = float(metric_value(page, "Training time").inner_text().removesuffix(" s"))
        after_one, hwm_one = rss_mb(process.pid), rss_mb(process.pid, "VmHWM")
        context.close()

        context, page = new_page(browser)
        open_app(page, url)
        started = press(page, "Train")
        wait_for_metric(page, "Test accuracy", 300_000)
        warm = time.monotonic() - started
        context.close()

        context, page = new_page(browser)
        open_app(page, f"{url}/?epochs=50")
        press(page, "Train")
        main_area(page).locator("[data-testid='stProgress']").filter(
            has_text=re.compile(r"Epoch [3-9]/50")).wait_for(timeout=300_000)
        started = press(page, "Stop")
        main_area(page).get_by_text("stopped by you").wait_for(timeout=60_000)
        stop = time.monotonic() - started
        after_two = rss_mb(process.pid)
        tree_rss, tree_pss, processes = tree_memory_mb(process.pid)
        context.close()
    finally:
        stop_server(process)
    return {"press_to_metric": press_to_metric, "warm": warm, "tree_rss": tree_rss, "tree_pss": tree_pss,
            "processes": processes, "train_time": train_time, "accuracy": accuracy, "stop": stop,
            "rss_loaded": loaded, "rss_one_run": after_one, "hwm_one_run": hwm_one, "rss_two_runs": after_two}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for repetition in range(args.repeat):
            row = one_repetition(browser)
            row["bare"] = bare_run_seconds()
            rows.append(row)
            print(f"run {repetition + 1}: press-to-metric {row['press_to_metric']:.2f} s, warm {row['warm']:.2f} s "
                  f"(training time metric "
                  f"{row['train_time']:.1f} s, {row['accuracy']}), bare Trainer {row['bare']:.2f} s, "
                  f"ratio {row['press_to_metric'] / row['bare']:.2f}; Stop->message {row['stop']:.2f} s; "
                  f"RSS {row['rss_loaded']:.0f} MB loaded, {row['rss_one_run']:.0f} MB after one run "
                  f"(peak {row['hwm_one_run']:.0f}), {row['rss_two_runs']:.0f} MB after three sessions' runs; "
                  f"server and workers ({row['processes']} processes): RSS {row['tree_rss']:.0f} MB, "
                  f"PSS {row['tree_pss']:.0f} MB",
                  flush=True)
        browser.close()

    def median(key):
        return statistics.median(row[key] for row in rows)
    print(f"median of {len(rows)}: press-to-metric {median('press_to_metric'):.2f} s, warm {median('warm'):.2f} s, "
          f"bare {median('bare'):.2f} s, "
          f"ratio {statistics.median(r['press_to_metric'] / r['bare'] for r in rows):.2f}; "
          f"Stop->message {median('stop'):.2f} s; RSS after one run {median('rss_one_run'):.0f} MB "
          f"(after load {median('rss_loaded'):.0f} MB); server and workers PSS {median('tree_pss'):.0f} MB")


if __name__ == "__main__":
    main()
