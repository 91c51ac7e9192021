"""What a full-size data set of a session's own costs the server, and that it is freed when the session
ends (``python -m benchmarks.dataset_memory``; issue 32: at most +60 MB over a session on MNIST).

Starts the app (``tests/browser.py``'s server, with the checkout's .streamlit/config.toml, so its session
TTL, and a temporary folder of its own, whose shared copies of data sets are measured). Session A, on
MNIST, trains the default run and opens Evaluate: the reference. Session B uploads on the Data page a
full-size data set (MNIST's 60,000 + 10,000 images, their labels shifted by one so it has another key,
as an .npz written with np.savez_compressed, under 50 MB), trains one run on it (``--epochs``) and opens
Evaluate. Printed, with the load average: the server's RSS (and the RSS and PSS of the server and its
training workers together, and the size of the shared copies' folders) fresh, with A alone, after B's
upload, after B's run and Evaluate, and each ``--every`` seconds after B's tab closed, up to ``--after``
seconds (past the TTL and the memory janitor's look, ui.server.memory_janitor); then whether B's shared
copy is gone. Run it from the repository's root.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.browser import (ROOT, go_to, launch_chromium, main_area, new_page, open_app, press, rss_mb, start_server,
                           stop_server, tree_memory_mb, wait_for_metric, wait_idle)

# What holds a session's data set once the session has ended: a ``sitecustomize`` module on the server's
# PYTHONPATH (instrumentation of this benchmark only; the app is unchanged) answers a request file with the
# data sets other than MNIST still alive after a full collection, and what refers to them (two levels).
PROBE = """
import gc, json, os, sys, threading, time
def _name(o):
    t = type(o).__name__
    if isinstance(o, dict):
        keys = [k for k in list(o)[:8] if isinstance(k, str)]
        return f"dict{keys}"
    return t
def _answer(path=os.environ["DATASET_MEMORY_PROBE"]):
    while True:
        time.sleep(0.2)
        if os.path.exists(path + ".request"):
            os.remove(path + ".request")
            gc.collect()
            found = []
            for obj in gc.get_objects():
                if type(obj).__name__ == "DataSet" and not getattr(obj, "is_mnist", True):
                    holders = []
                    for r in gc.get_referrers(obj):
                        if r is found or type(r).__name__ == "frame":
                            continue
                        up = [_name(u) for u in gc.get_referrers(r)[:6] if type(u).__name__ not in ("frame", "list")]
                        holders.append(f"{_name(r)} <- {up}")
                    found.append({"name": getattr(obj, "name", "?"), "holders": holders[:12]})
            with open(path + ".tmp", "w") as out:
                json.dump(found, out)
            os.replace(path + ".tmp", path)
if "streamlit" in " ".join(sys.argv):
    threading.Thread(target=_answer, daemon=True).start()
"""


def live_data_sets(folder: Path, timeout: float = 30.0):
    answer = folder / "found.json"
    answer.unlink(missing_ok=True)
    (folder / "found.json.request").touch()
    deadline = time.monotonic() + timeout
    while not answer.exists():
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)
    return json.loads(answer.read_text())


TIMEOUT_MS = 1_800_000  # the machine may be loaded: events are waited on, not timed
UPLOAD_MS = 600_000  # a refused upload (the page says why) is reported, not waited on for half an hour


def full_size_npz(folder: Path) -> Path:
    """MNIST's four arrays with every label shifted by one (class k is named after digit k+1 mod 10):
    a data set as large as MNIST with another key."""
    from nn_core import load_mnist

    mnist = load_mnist()
    path = folder / "shifted.npz"
    np.savez_compressed(path, x=mnist.train_images.reshape(-1, 28, 28), y=(mnist.train_labels + 1) % 10,
                        x_test=mnist.test_images.reshape(-1, 28, 28), y_test=(mnist.test_labels + 1) % 10,
                        classes=np.array([str((k - 1) % 10) for k in range(10)]))
    return path


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def shared_copies(tmp: Path) -> dict[str, float]:
    """The server's shared data set folders (nn_core.backends, prefix nn-lab-data-) and their sizes in MB."""
    return {p.name: folder_mb(p) for p in sorted(tmp.glob("nn-lab-data-*")) if p.is_dir()}


def snapshot(pid: int, tmp: Path, settle: float = 2.0) -> dict:
    time.sleep(settle)
    rss, pss, processes = tree_memory_mb(pid)
    return {"rss": rss_mb(pid), "tree_rss": rss, "tree_pss": pss, "processes": processes,
            "shared": shared_copies(tmp), "load": os.getloadavg()}


def line(label: str, s: dict, reference: dict | None = None) -> str:
    delta = f" ({s['rss'] - reference['rss']:+.0f} MB over A alone)" if reference else ""
    shared = ", ".join(f"{name} {mb:.0f} MB" for name, mb in s["shared"].items()) or "none"
    return (f"{label}: server RSS {s['rss']:.0f} MB{delta}; server + {s['processes'] - 1} workers RSS "
            f"{s['tree_rss']:.0f} MB, PSS {s['tree_pss']:.0f} MB; shared data set folders: {shared}; "
            f"load {' '.join(f'{x:.2f}' for x in s['load'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="session B's run on the uploaded data set")
    parser.add_argument("--after", type=int, default=40, help="seconds to watch after B's tab closed")
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--probe", action="store_true",
                        help="also report the data sets besides MNIST alive in the server after B ended")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="dataset-memory-"))
    upload = full_size_npz(work)
    server_tmp = work / "server-tmp"
    server_tmp.mkdir()
    upload_mb = upload.stat().st_size / 2**20
    print(f"upload: {upload.name}, {upload_mb:.1f} MB (np.savez_compressed)", flush=True)
    env, probe = {"TMPDIR": str(server_tmp)}, work / "probe"
    if args.probe:
        probe.mkdir()
        (probe / "sitecustomize.py").write_text(PROBE)
        env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(probe), os.environ.get("PYTHONPATH")])),
                   DATASET_MEMORY_PROBE=str(probe / "found.json"))
    server, url = start_server(env)
    pid, rows = server.pid, []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context_a, a = new_page(browser)
            open_app(a, url, timeout_ms=TIMEOUT_MS)
            rows.append(("fresh (A's first page loaded MNIST)", snapshot(pid, server_tmp)))
            press(a, "Train")
            wait_for_metric(a, "Test accuracy", TIMEOUT_MS)
            go_to(a, "Evaluate", timeout_ms=TIMEOUT_MS)
            wait_idle(a, TIMEOUT_MS, settle_ms=1000)
            alone = snapshot(pid, server_tmp)
            rows.append(("A alone (default run trained, Evaluate open)", alone))
            print(line(*rows[-1]), flush=True)

            context_b, b = new_page(browser)
            open_app(b, f"{url}/?epochs={args.epochs}", timeout_ms=TIMEOUT_MS)
            go_to(b, "Data", timeout_ms=TIMEOUT_MS)
            main_area(b).locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
            try:
                main_area(b).get_by_text("Now using shifted").wait_for(timeout=UPLOAD_MS)
            except PlaywrightError:
                raise SystemExit(f"the upload was not taken; the page shows: {main_area(b).inner_text()[-800:]!r}")
            wait_idle(b, TIMEOUT_MS)
            rows.append(("B uploaded the full-size data set (Data page)", snapshot(pid, server_tmp)))
            print(line(*rows[-1], alone), flush=True)
            go_to(b, "Train", timeout_ms=TIMEOUT_MS)
            press(b, "Train")
            wait_for_metric(b, "Test accuracy", TIMEOUT_MS)
            rows.append((f"B's run ({args.epochs} epoch(s)) ended", snapshot(pid, server_tmp)))
            print(line(*rows[-1], alone), flush=True)
            go_to(b, "Evaluate", timeout_ms=TIMEOUT_MS)
            wait_idle(b, TIMEOUT_MS, settle_ms=1000)
            rows.append(("B's Evaluate open", snapshot(pid, server_tmp)))
            print(line(*rows[-1], alone), flush=True)

            context_b.close()
            closed = time.monotonic()
            for seconds in range(args.every, args.after + 1, args.every):
                time.sleep(max(0.0, closed + seconds - time.monotonic()))
                rows.append((f"{seconds} s after B's tab closed", snapshot(pid, server_tmp, settle=0)))
                print(line(*rows[-1], alone), flush=True)
            held = live_data_sets(probe) if args.probe else "not asked (--probe)"
            context_a.close()
            browser.close()
    finally:
        stop_server(server)
        shutil.rmtree(work, ignore_errors=True)  # the upload, the probe and the server's temporary folder
    print(f"\napp: {ROOT}; A: the default run on MNIST + Evaluate; B: {upload_mb:.1f} MB .npz "
          f"of 60,000 + 10,000 images uploaded, {args.epochs} epoch(s) + Evaluate, then its tab closed")
    for label, s in rows:
        print(line(label, s, alone if s is not alone and label != rows[0][0] else None))
    last = rows[-1][1]
    print(f"B's data set costs the server {max(r[1]['rss'] for r in rows[2:]) - alone['rss']:+.0f} MB at most "
          f"over A alone; after B ended {last['rss'] - alone['rss']:+.0f} MB; its shared copy "
          f"{'is gone' if not last['shared'] else 'is still there: ' + ', '.join(last['shared'])}")
    print(f"data sets besides MNIST alive in the server after B ended (and what holds them): {held}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
