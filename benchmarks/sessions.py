"""Many users on one server: browser sessions train with defaults; server memory and run times.

Starts the app and drives headless Chromium through Playwright the way the tests do (with
``tests/browser.py``: a server on a free port), each session a new browser context (so a new
Streamlit session) that presses Train with the default settings inside the main area and waits
for the run's outcome and its "Test accuracy" metric.

1. Memory: the server's RSS (VmRSS of the streamlit process, from /proc) idle, after the first
   page loaded the data, then after each session's trained model, sessions one after another (so
   each run's time is that of a run alone).
2. Ending sessions: every context is closed; once Streamlit has dropped the disconnected sessions
   (after ``--ttl`` seconds) RSS again, then a second wave of as many sessions trains: if ended
   sessions freed their memory, the second wave reuses it instead of adding as much again.
3. Concurrency: ``--concurrent`` sessions press Train at once, plus one more that presses Stop
   mid-run. Each run must end "finished" with accuracy >= 97%, the Stop must take effect while
   the others train, and no page may show an exception.

    python -m benchmarks.sessions --sessions 1 4 8 --concurrent 4   # from the repository's root

Exit status 0 when every check passed, 1 otherwise. Times are wall-clock from the click on Train
to the run's outcome on the page (training, the per-epoch evaluations and the page's reruns).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import (exceptions, is_training, launch_chromium, new_page, open_app, outcome, press, rss_mb,
                           run_end_time, shown_accuracy, start_server, stop_server, tree_memory_mb, wait_for_metric,
                           wait_until, watch_run_end)

MIN_ACCURACY = 0.97  # the default run reaches ~97.6%
RUN_TIMEOUT = 900.0  # seconds for one run, however crowded the machine


def press_train(page) -> float:
    """Click Train on a page that notes when its run ends (see ``wait_runs``); the click's wall time."""
    watch_run_end(page)
    press(page, "Train")
    return time.time()


def wait_runs(pages: list, started: list[float], timeout: float = RUN_TIMEOUT) -> list[float | None]:
    """Poll the pages until every run has ended (or shows an exception); each run's seconds from
    its click (``press_train``'s wall time), None for a run that did not end within ``timeout``.

    Each page notes the time its run ended itself: this driver visits the pages one at a time, and
    meanwhile waits on other sessions (Stop, Evaluate), which would otherwise count in every run."""
    ended: list[float | None] = [None] * len(pages)
    deadline = time.monotonic() + timeout
    while None in ended and time.monotonic() < deadline:
        for i, page in enumerate(pages):
            if ended[i] is None and (run_end_time(page) is not None or exceptions(page)):
                ended[i] = run_end_time(page) or time.time()
        time.sleep(0.1)
    return [None if end is None else end - start for end, start in zip(ended, started)]


# --- the server's memory ----------------------------------------------------------------------

def settled_rss(pid: int, seconds: float = 1.0) -> float:
    """RSS after a short pause (the server finishes sending and freeing after a run)."""
    time.sleep(seconds)
    return rss_mb(pid)


# Counting live objects inside the server: a ``sitecustomize`` module put on the server's
# PYTHONPATH (instrumentation of this benchmark only; the app is unchanged) answers each request
# file with the number of live objects of a few types, after a full garbage collection. Only the
# server answers: its training workers inherit its environment, and so the probe, too.
PROBE = """
import faulthandler, gc, json, os, signal, sys, threading, time
def _answer(path=os.environ["SESSIONS_BENCHMARK_PROBE"], kinds=("AppSession", "Lab", "RunResult", "Trainer", "Model", "EpochStats")):
    while True:
        time.sleep(0.2)
        if os.path.exists(path + ".request"):
            os.remove(path + ".request")
            gc.collect()
            counts = dict.fromkeys(kinds, 0)
            for obj in gc.get_objects():
                if type(obj).__name__ in counts:
                    counts[type(obj).__name__] += 1
            with open(path + ".tmp", "w") as out:
                json.dump(counts, out)
            os.replace(path + ".tmp", path)
if "streamlit" in " ".join(sys.argv):
    faulthandler.register(signal.SIGUSR1, file=open(os.environ["SESSIONS_BENCHMARK_PROBE"] + ".stacks", "w"))
    threading.Thread(target=_answer, daemon=True).start()
"""


def probe_env(folder: str) -> dict:
    Path(folder, "sitecustomize.py").write_text(PROBE)
    path = os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "SESSIONS_BENCHMARK_PROBE": str(Path(folder, "counts.json"))}


def live_objects(folder: str, timeout: float = 30.0) -> dict | None:
    """Live AppSession (Streamlit sessions, open or kept for reconnection), Lab (a session's state,
    ui.state), RunResult, Trainer, Model and EpochStats objects in the server process (not its
    workers), or None if the probe did not answer."""
    answer = Path(folder, "counts.json")
    answer.unlink(missing_ok=True)
    Path(folder, "counts.json.request").touch()
    if not wait_until(answer.exists, timeout):
        return None
    return json.loads(answer.read_text())


# --- the benchmark ----------------------------------------------------------------------------

@dataclass
class Run:
    session: int
    seconds: float | None  # None: did not end in time
    outcome: str | None
    accuracy: float | None
    errors: list[str]

    @classmethod
    def read(cls, session: int, page, seconds: float | None) -> "Run":
        return cls(session, seconds, outcome(page), shown_accuracy(page), exceptions(page))

    @property
    def correct(self) -> bool:
        return (self.seconds is not None and self.outcome == "finished" and not self.errors
                and self.accuracy is not None and self.accuracy >= MIN_ACCURACY)

    def describe(self) -> str:
        took = "did not end" if self.seconds is None else f"{self.seconds:5.1f} s"
        accuracy = "no accuracy shown" if self.accuracy is None else f"accuracy {self.accuracy:.2%}"
        problem = "" if self.correct else f"  WRONG (outcome {self.outcome}) " + " | ".join(self.errors)
        return f"{took}, {accuracy}{problem}"


def train_one_after_another(browser, url: str, pid: int, count: int, wave: str) -> tuple[list[Run], dict]:
    """``count`` new sessions, each trains once, in turn; RSS after each. Contexts stay open."""
    contexts, runs, rss = [], [], {}
    for n in range(1, count + 1):
        context, page = new_page(browser)
        contexts.append(context)
        open_app(page, url)
        if n == 1 and wave == "first":
            rss["data"] = settled_rss(pid)
            print(f"first page open, data loaded             RSS {rss['data']:7.1f} MB", flush=True)
        [seconds] = wait_runs([page], [press_train(page)])
        runs.append(Run.read(n, page, seconds))
        rss[n] = settled_rss(pid)
        print(f"{wave} wave, session {n:2d}: {runs[-1].describe():32s} RSS {rss[n]:7.1f} MB", flush=True)
    rss["contexts"] = contexts
    return runs, rss


def close_and_expire(browser, url: str, pid: int, contexts: list, ttl: int) -> float:
    """Close the sessions' tabs and wait until Streamlit has dropped them; the RSS then."""
    for context in contexts:
        context.close()
    # A closed session is kept ``ttl`` seconds for a reload to resume it. Expired sessions are
    # dropped when the next disconnect writes to Streamlit's session store, so make one.
    time.sleep(ttl + 1)
    context, page = new_page(browser)
    open_app(page, url)
    context.close()
    return settled_rss(pid, 2.0)


def train_at_once(browser, url: str, pid: int, concurrent: int, stop_after: float) -> tuple[list[Run], dict]:
    """``concurrent`` sessions train at once while one more starts a run and stops it, and another,
    holding a model already, opens its Evaluate page (timed from the click to its metric)."""
    contexts, pages = [], []
    for _ in range(concurrent + 2):
        context, page = new_page(browser)
        contexts.append(context)
        pages.append(page)
    trainers, stopper, evaluator = pages[:concurrent], pages[concurrent], pages[concurrent + 1]
    open_app(evaluator, f"{url}/?epochs=1")
    press(evaluator, "Train")
    wait_for_metric(evaluator, "Test accuracy", RUN_TIMEOUT * 1000)
    for page in trainers + [stopper]:
        open_app(page, url)
    started = [press_train(page) for page in trainers]
    stop_started = press(stopper, "Train")

    # The extra session presses Stop mid-run, while the others train.
    stop: dict = {"ok": False}
    if wait_until(lambda: is_training(stopper), RUN_TIMEOUT):
        time.sleep(max(0.0, stop_after - (time.monotonic() - stop_started)))
        stop["others_training"] = sum(is_training(page) for page in trainers)
        pressed = press(stopper, "Stop")
        stop["pressed_after"] = pressed - stop_started
        ended = wait_until(lambda: (outcome(stopper) is not None and not is_training(stopper))
                           or bool(exceptions(stopper)), RUN_TIMEOUT)
        stop["took"] = time.monotonic() - pressed if ended else None
        stop["outcome"], stop["errors"] = outcome(stopper), exceptions(stopper)
        stop["ok"] = ended and stop["outcome"] == "stopped" and not stop["errors"] and stop["others_training"] > 0

    # Meanwhile another visitor looks at their model.
    stop["training_meanwhile"] = sum(is_training(page) for page in trainers)
    clicked = time.monotonic()
    evaluator.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Evaluate").click()
    wait_for_metric(evaluator, "Mistakes", RUN_TIMEOUT * 1000)
    stop["evaluate_seconds"] = time.monotonic() - clicked

    seconds = wait_runs(trainers, started)
    runs = [Run.read(i + 1, page, s) for i, (page, s) in enumerate(zip(trainers, seconds))]
    stop["rss"] = settled_rss(pid)
    stop["tree_rss"], stop["tree_pss"], stop["processes"] = tree_memory_mb(pid)
    for context in contexts:
        context.close()
    return runs, stop


def median(values: list[float | None]) -> str:
    done = [v for v in values if v is not None]
    if not done:
        return "no run ended"
    return f"median {statistics.median(done):.1f} s (min {min(done):.1f}, max {max(done):.1f}, {len(done)} runs)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8],
                        help="session counts to report RSS at (sessions train one after another)")
    parser.add_argument("--concurrent", type=int, nargs="+", default=[2, 4],
                        help="sessions training at once in the concurrency checks, one check per count (0 to skip)")
    parser.add_argument("--stop-after", type=float, default=1.5,
                        help="seconds into its run at which the extra session presses Stop")
    parser.add_argument("--ttl", type=int, default=5,
                        help="server.disconnectedSessionTTL for this server, so closed sessions expire soon")
    parser.add_argument("--no-second-wave", action="store_true",
                        help="skip training a second wave of sessions after the first ended")
    args = parser.parse_args(argv)
    counts = sorted(set(args.sessions))
    concurrent = [n for n in args.concurrent if n > 0]
    if counts[0] < 1 or min(args.concurrent) < 0:
        parser.error("--sessions must be positive, --concurrent non-negative")

    probe = tempfile.TemporaryDirectory(prefix="sessions-benchmark-")
    server, url = start_server({"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(args.ttl),
                                **probe_env(probe.name)})
    pid = server.pid
    failures: list[str] = []
    rss: dict = {}
    objects: dict = {}
    alone, second, checks = [], [], []  # checks: (runs at once, the extra sessions' figures)

    def count_objects(when: str) -> None:
        objects[when] = live_objects(probe.name)
        print(f"  live objects in the server {when}: {objects[when]}", flush=True)

    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            print(f"# memory: {counts[-1]} sessions train one after another ({url}, server pid {pid})")
            rss["idle"] = settled_rss(pid)
            print(f"server idle (no session yet)             RSS {rss['idle']:7.1f} MB", flush=True)
            alone, rss["first"] = train_one_after_another(browser, url, pid, counts[-1], "first")
            rss["data"] = rss["first"].pop("data")
            count_objects(f"with {counts[-1]} sessions open")
            rss["closed"] = close_and_expire(browser, url, pid, rss["first"].pop("contexts"), args.ttl)
            print(f"all sessions closed and dropped           RSS {rss['closed']:7.1f} MB", flush=True)
            count_objects("after they closed and were dropped")
            if not args.no_second_wave:
                second, rss["second"] = train_one_after_another(browser, url, pid, counts[-1], "second")
                rss["second_closed"] = close_and_expire(browser, url, pid, rss["second"].pop("contexts"), args.ttl)
                print(f"second wave closed and dropped            RSS {rss['second_closed']:7.1f} MB", flush=True)
                count_objects("after the second wave closed and was dropped")
            failures += [f"session {r.session} (alone): {r.describe()}" for r in alone + second if not r.correct]
            for when, found in objects.items():
                if "dropped" in when and (found is None or found["RunResult"] or found["Trainer"]):
                    failures.append(f"sessions' runs still alive {when}: {found}")

            for count in concurrent:
                print(f"\n# concurrency: {count} sessions train at once, one more presses Stop, another opens "
                      "Evaluate", flush=True)
                together, stop = train_at_once(browser, url, pid, count, args.stop_after)
                checks.append((together, stop))
                for run in together:
                    print(f"session {run.session:2d}: {run.describe()}")
                if "took" in stop:
                    took = "never" if stop["took"] is None else f"{stop['took']:.2f} s later"
                    print(f"Stop pressed {stop['pressed_after']:.1f} s into a run, {stop['others_training']} other "
                          f"runs training: the run ended '{stop['outcome']}' {took}"
                          + ("" if stop["ok"] else "  FAILED " + " | ".join(stop["errors"])))
                print(f"Evaluate rendered in {stop['evaluate_seconds']:.2f} s while {stop['training_meanwhile']} runs "
                      f"trained; server and workers ({stop['processes']} processes): RSS {stop['tree_rss']:.0f} MB, "
                      f"PSS {stop['tree_pss']:.0f} MB", flush=True)
                failures += [f"session {r.session} (at once): {r.describe()}" for r in together if not r.correct]
                if not stop["ok"]:
                    failures.append(f"Stop while others train failed: {stop}")
            browser.close()
        rss["peak"] = rss_mb(pid, "VmHWM")
    except BaseException:
        # Say where the server's threads were, in case it hung (faulthandler, set up by the probe).
        os.kill(pid, signal.SIGUSR1)
        time.sleep(1)
        print("server thread stacks:\n" + Path(probe.name, "counts.json.stacks").read_text()[-6000:], file=sys.stderr)
        raise
    finally:
        stop_server(server)
        probe.cleanup()

    first = rss["first"]
    print("\n# summary (RSS of the streamlit server process)")
    print(f"idle {rss['idle']:.1f} MB; with the data loaded {rss['data']:.1f} MB; peak {rss['peak']:.1f} MB")
    for n in counts:
        line = f"{n:2d} sessions, each holding a default model: {first[n]:7.1f} MB (+{first[n] - rss['data']:.1f} MB"
        if n > 1:
            line += f"; sessions 2-{n}: {(first[n] - first[1]) / (n - 1):+.1f} MB each"
        print(line + ")")
    print("  (session 1 also pays one-time costs: modules first imported by a run, e.g. pyarrow"
          " for the run table, Plotly's validators)")
    print(f"after all {counts[-1]} sessions closed and dropped: {rss['closed']:.1f} MB")
    if second:
        n = counts[-1]
        print(f"a second wave of {n} sessions, each holding a model: {rss['second'][n]:.1f} MB "
              f"({rss['second'][n] - first[n]:+.1f} MB vs the first wave's {n}: "
              f"{(rss['second'][n] - rss['closed']) / n:+.1f} MB per session over the closed server); "
              f"closed again: {rss['second_closed']:.1f} MB")
    for when, found in objects.items():
        print(f"live objects {when}: {found}")
    solo = [r.seconds for r in alone + second if r.seconds is not None]
    print(f"time per run, one session at a time: {median(solo)}")
    for together, stop in checks:
        times = [r.seconds for r in together]
        slowest = max((t for t in times if t is not None), default=None)
        ratio = f"; slowest {slowest / statistics.median(solo):.2f}x the solo median" if slowest and solo else ""
        print(f"time per run, {len(together)} sessions at once: {median(times)}{ratio};"
              f" {sum(r.correct for r in together)} of {len(together)} correct;"
              f" Evaluate meanwhile {stop['evaluate_seconds']:.2f} s")
    for failure in failures:
        print("FAIL:", failure)
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
