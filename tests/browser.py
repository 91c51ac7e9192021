"""The app in headless Chromium: the one support module of the browser tests, the benchmarks and
the screenshot script.

- a live server: ``start_server`` (``streamlit run streamlit_app.py`` on a free port), ``stop_server``,
  and its memory, ``rss_mb``;
- Debian's Chromium through Playwright: ``launch_chromium``, and ``new_page`` (a new browser context,
  so a new Streamlit session, at ``VIEWPORT``);
- the pages as a user drives them: the main area (``MAIN``: not the header, which has Streamlit's own
  Stop), the Train page's buttons, metrics and outcome, a page switch with the sidebar's link, and
  the Draw page's canvas drawn with the mouse.

Playwright timeouts are in milliseconds (``timeout_ms``); ``wait_until`` polls in seconds.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.digit_strokes import CANVAS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
MAIN = "[data-testid='stMain']"  # the app's own area (the header has Streamlit's own Stop)
HOVER_MS = 350  # the canvas's toolbar covers its top-right corner until the pointer has hovered
TOOLBAR_ZONE = (150, 40)  # the corner it covers: width and height in canvas pixels (with a margin)


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env_extra: dict | None = None, root: Path | str = ROOT) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run streamlit_app.py`` on a free port; return (process, base URL). ``root``: the
    checkout whose app runs (a benchmark may compare another commit's, side by side)."""
    port = free_port()
    env = {**os.environ, **(env_extra or {})}
    log = tempfile.TemporaryFile()  # a file, not a pipe: a pipe nobody reads blocks a chatty server
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"streamlit did not start: {server_log(process)}")


def server_log(process: subprocess.Popen, characters: int = 3000) -> str:
    """The end of what a server started by ``start_server`` has printed."""
    process.log.seek(0)
    return process.log.read().decode(errors="replace")[-characters:]


def stop_server(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Terminate the server; kill it if it has not exited within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB (VmRSS now, or VmHWM: its peak), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB -> MB
    raise RuntimeError(f"no {field} for process {pid}")


def tree_memory_mb(pid: int) -> tuple[float, float, int]:
    """(RSS, PSS, processes) of a process and all its descendants (the server and its training
    workers), in MB. PSS counts a page shared by n processes as 1/n in each: its sum is what the
    tree really occupies."""
    import psutil

    processes = [psutil.Process(pid)]
    processes += processes[0].children(recursive=True)
    rss = pss = 0.0
    for process in processes:
        try:
            rss += process.memory_info().rss
            pss += process.memory_full_info().pss
        except psutil.Error:  # ended meanwhile
            continue
    return rss / 2**20, pss / 2**20, len(processes)


# --- the browser ------------------------------------------------------------------------------

def launch_chromium(playwright):
    """Debian's Chromium, headless (Playwright's own browser download is not used)."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def new_page(browser):
    """A new browser context (its own Streamlit session) at VIEWPORT, and its page: (context, page)."""
    context = browser.new_context(viewport=VIEWPORT)
    return context, context.new_page()


RUNNING_ICON = "[data-testid='stStatusWidgetRunningIcon']"  # in Streamlit's header while a script runs


def main_area(page):
    return page.locator(MAIN)


def wait_idle(page, timeout_ms: float = 120_000, settle_ms: float = 0) -> None:
    """Until no script runs (Streamlit's header shows a running icon meanwhile), then ``settle_ms`` more."""
    page.wait_for_function(f"() => !document.querySelector(\"{RUNNING_ICON}\")",
                           timeout=timeout_ms)
    if settle_ms:
        page.wait_for_timeout(settle_ms)


def open_list(page, opener, option, timeout_ms: float) -> None:
    """Click ``opener`` (a select box or multiselect) until its list shows ``option``, three tries: a click
    that lands while the page reruns, or on a box that still has the focus, can leave the list closed."""
    for _ in range(3):
        wait_idle(page)
        opener.click()
        try:
            option.wait_for(timeout=timeout_ms)
            return
        except PlaywrightError:
            page.keyboard.press("Escape")


def open_app(page, url: str, timeout_ms: float = 120_000) -> None:
    """Load the app (its default page is Train) and wait until its Train button is usable."""
    page.goto(url)
    main_area(page).get_by_role("button", name="Train", exact=True).wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def page_state(page) -> str:
    """What the page shows, for a test's message: its address, the main area's headings, whether a
    script runs, and Streamlit's connection status."""
    try:
        headings = main_area(page).get_by_role("heading").all_inner_texts()[:4]
        running = page.locator(RUNNING_ICON).count() > 0
        status = page.locator("[data-testid='stStatusWidget']").all_inner_texts()
        return f"address {page.url}, headings {headings}, script running: {running}, status {status}"
    except PlaywrightError as error:
        return f"(the page could not be read: {error})"


def go_to(page, title: str, timeout_ms: float = 120_000, tries: int = 3) -> None:
    """Switch page with the sidebar's link (a new URL would open a new session, without the model)
    and wait until the page's script has run.

    A page switch has been seen lost in a loaded CI run (the heading did not come within 120 s, while
    the same test passes alone), as if a rerun of the old page's fragment, sent by the browser with
    the old page's address in the same instant, had replaced the switch. So, as a user would, the
    link is clicked again once the old page is idle and still shown, up to ``tries`` times; each miss
    is printed with what the page showed (pytest shows it with a failure)."""
    link = page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title)
    heading = main_area(page).get_by_role("heading", name=title)
    for attempt in range(1, tries + 1):
        link.click()
        try:
            heading.wait_for(timeout=timeout_ms / tries)
            break
        except PlaywrightError:
            state = page_state(page)
            print(f"go_to({title!r}), try {attempt} of {tries}: no heading after {timeout_ms / tries / 1000:.0f} s; "
                  f"{state}", flush=True)
            if attempt == tries:
                raise AssertionError(f"the page {title!r} did not open in {tries} clicks; {state}") from None
            wait_idle(page, timeout_ms)
    wait_idle(page, timeout_ms)


def press(page, name: str) -> float:
    """Press the main area's button ``name``; return when it was pressed (time.monotonic)."""
    main_area(page).get_by_role("button", name=name, exact=True).click()
    return time.monotonic()


def exceptions(page) -> list[str]:
    """The text of every exception element on the page (first lines: the error and where)."""
    return [text[:600] for text in page.locator("[data-testid='stException']").all_inner_texts()]


def wait_until(condition, timeout: float) -> bool:
    """Poll ``condition`` every 50 ms; whether it came true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- metrics and the Train page's run ----------------------------------------------------------

def metric(page, label: str):
    """The main area's metric(s) whose text contains ``label``."""
    return main_area(page).locator("[data-testid='stMetric']").filter(has_text=label)


def metric_value(page, label: str):
    return metric(page, label).locator("[data-testid='stMetricValue']")


def wait_for_metric(page, label: str, timeout_ms: float = 120_000):
    """The metric's value element once shown; on timeout, fail with what the page shows instead."""
    value = metric_value(page, label)
    try:
        value.wait_for(timeout=timeout_ms)
    except PlaywrightError:
        text = main_area(page).inner_text()
        shown = text if len(text) <= 3000 else f"{text[:1500]} [...] {text[-1500:]}"
        raise AssertionError(f"no {label!r} metric after {timeout_ms / 1000:.0f} s ({page_state(page)}); "
                             f"the page shows: {shown!r}") from None
    return value


def is_training(page) -> bool:
    """True while this session's run is going (the page's own Stop button is enabled)."""
    stop = main_area(page).get_by_role("button", name="Stop", exact=True)
    return stop.count() > 0 and stop.first.is_enabled()


def shown_accuracy(page) -> float | None:
    """The "Test accuracy" metric as a fraction, or None while it is not on the page."""
    value = metric_value(page, "Test accuracy")
    if value.count() == 0:
        return None
    match = re.search(r"(\d+(?:\.\d+)?)\s*%", value.first.inner_text())
    return float(match.group(1)) / 100 if match else None


def outcome(page) -> str | None:
    """How the page says the last run ended: "finished", "stopped", "diverged", or None."""
    for alert in main_area(page).locator("[data-testid='stAlert']").all_inner_texts():
        match = re.search(r"Run #\d+ (finished|stopped|diverged)", alert)
        if match:
            return match.group(1)
    return None


# A run has ended on the page: Stop disabled again, the outcome and the metric shown. (While the
# page redraws after a run, the outcome appears before the metric and the buttons.)
RUN_ENDED = """() => {
    const main = document.querySelector("%s");
    if (!main) return false;
    const stop = [...main.querySelectorAll("button")].find(button => button.innerText.trim() === "Stop");
    const said = [...main.querySelectorAll("[data-testid='stAlert']")]
        .some(alert => /Run #\\d+ (finished|stopped|diverged)/.test(alert.innerText));
    const scored = [...main.querySelectorAll("[data-testid='stMetric']")]
        .some(m => m.innerText.includes("Test accuracy") && /\\d%%/.test(m.innerText));
    return !!stop && stop.disabled && said && scored;
}""" % MAIN

# The same condition, checked by the page itself every 50 ms: the time it first holds is kept in the
# page, so a driver busy with other pages still learns when each run ended there.
RUN_END_WATCH = """() => {
    if (window.nnRunEnded !== undefined) return;
    window.nnRunEnded = null;
    const ended = %s;
    const timer = setInterval(() => {
        if (ended()) { window.nnRunEnded = Date.now() / 1000; clearInterval(timer); }
    }, 50);
}""" % RUN_ENDED


def run_ended(page) -> bool:
    """The page is done with a run (``RUN_ENDED``)."""
    return page.evaluate(RUN_ENDED)


def watch_run_end(page) -> None:
    """Before a click on Train: have the page note the (wall-clock) time its run has ended."""
    page.evaluate(RUN_END_WATCH)


def run_end_time(page) -> float | None:
    """When the watched page's run ended (time.time() seconds), or None while it has not."""
    return page.evaluate("() => window.nnRunEnded")


# --- the Draw page's canvas ------------------------------------------------------------------

# True when the topmost element at (x, y), looking inside shadow roots, is the live drawing canvas
# (not a canvas on its way out after a Clear, nor something laid over it).
CANVAS_AT_POINT = """([x, y]) => {
    let el = document.elementFromPoint(x, y);
    while (el && el.shadowRoot) {
        const inner = el.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === el) break;
        el = inner;
    }
    return !!el && el.matches("canvas.upper-canvas") && !el.dataset.cleared;
}"""


def canvas_box(page) -> dict:
    """The live canvas's box, in view (a click further down the page may have scrolled it away) and
    once it has stopped moving (the layout settles after a rerun)."""
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_have_count(1, timeout=30_000)  # the old canvas is gone after a Clear
    for _ in range(3):
        box = _settled_box(page, canvas)
        if 0 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"]:
            break
        try:
            canvas.scroll_into_view_if_needed(timeout=5_000)
        except PlaywrightError:  # replaced by a new canvas meanwhile: measure that one
            pass
    assert round(box["width"]) == CANVAS and round(box["height"]) == CANVAS
    return box


def _settled_box(page, canvas) -> dict:
    box = canvas.bounding_box()
    for _ in range(50):
        page.wait_for_timeout(100)
        settled, box = box, canvas.bounding_box()
        if box == settled:
            break
    return box


def near_toolbar(point) -> bool:
    """Whether a canvas point lies where the canvas's toolbar sits until the pointer has hovered."""
    return point[0] > CANVAS - TOOLBAR_ZONE[0] and point[1] < TOOLBAR_ZONE[1]


def draw(page, strokes, name: str = "the drawing") -> float:
    """Draw the strokes (canvas pixels) with the mouse; return the monotonic time of the last mouse-up.

    Before each mouse-down the pointer hovers at the stroke's start (HOVER_MS where the toolbar lies
    until hovered), and the live canvas must be the element under it there (``name`` says what was
    drawn if it is not)."""
    box = canvas_box(page)
    for stroke in strokes:
        for attempt in range(3):
            x, y = box["x"] + stroke[0][0], box["y"] + stroke[0][1]
            page.mouse.move(x, y)
            page.wait_for_timeout(HOVER_MS if near_toolbar(stroke[0]) or attempt else 20)
            if page.evaluate(CANVAS_AT_POINT, [x, y]):
                break
            box = canvas_box(page)  # the layout moved under the pointer: measure again
        else:
            raise AssertionError(f"the canvas is not under the pointer at the start of a stroke of {name}")
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()
        released = time.monotonic()
    return released


def prediction_metric(page):
    return metric(page, "Prediction")


def read_prediction(page, strokes: int) -> tuple[int, float]:
    """(digit, server ms) once the page has read all ``strokes`` strokes (see ``reading``)."""
    value, server_ms = reading(page, strokes)
    return int(value), server_ms


def reading(page, strokes: int) -> tuple[str, float]:
    """(the Prediction metric's text: a digit or a drawn class's name, server ms) once the page has read
    all ``strokes`` strokes.

    Polled every animation frame, so the time of its return is within a frame of the update.
    """
    pattern = rf"\b{strokes} {'stroke' if strokes == 1 else 'strokes'}, read in [\d.]+ ms"
    page.wait_for_function(
        """pattern => Array.from(document.querySelectorAll("[data-testid='stCaptionContainer']"))
                           .some(caption => new RegExp(pattern).test(caption.innerText))""",
        arg=pattern, polling="raf", timeout=30_000)
    caption = page.get_by_text(re.compile(pattern))
    server_ms = float(re.search(r"read in ([\d.]+) ms", caption.inner_text()).group(1))
    return metric_value(page, "Prediction").inner_text(), server_ms


def clear(page) -> None:
    """Press Clear and wait for the new, empty canvas (not the old one still on its way out)."""
    press_for_new_canvas(page, "Clear", exact=False)  # its name includes its icon's


def press_for_new_canvas(page, button: str, exact: bool = True) -> None:
    """Press a main-area button that replaces the canvas with an empty one (Clear, a label button),
    and wait until the new canvas is the only one (the old one lingers for a moment after a rerun)."""
    page.locator("canvas.upper-canvas").evaluate_all("cs => cs.forEach(c => c.dataset.cleared = '1')")
    main_area(page).get_by_role("button", name=button, exact=exact).click()
    page.get_by_text("The canvas is empty").wait_for(timeout=30_000)
    expect(prediction_metric(page)).to_have_count(0)
    expect(page.locator("canvas.upper-canvas:not([data-cleared])")).to_have_count(1, timeout=30_000)
    expect(page.locator("canvas.upper-canvas")).to_have_count(1, timeout=30_000)
