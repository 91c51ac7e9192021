"""The Train page's live charts in headless Chromium: one plotly.js plot per chart, drawn once and
updated in place through a default run, with the run's data, and the run's result as before; and
the run's polls redraw its panel alone, not the whole page.

The page is watched from outside the app: before the app loads, an init script wraps plotly.js's
``newPlot`` and ``react`` as soon as the page defines ``window.Plotly`` and counts their calls per
plot element; the test tags each plot element before the click and checks that the same elements
(not new ones) receive every update until the result is shown."""

from __future__ import annotations

import time

from tests.browser import (exceptions, metric_value, open_app, press, run_end_time, wait_idle, wait_until,
                           watch_run_end)

# The cost and accuracy charts: the plot element ui/livechart.js makes, in the element Streamlit marks
# with each chart's key.
CHARTS = ".st-key-train_live_cost .nn-live-chart, .st-key-train_live_accuracy .nn-live-chart"
# In the Train page's caption, drawn by every full-page run of the page and by no run of its panel alone.
PAGE_MARK = "trained from scratch with NumPy".encode()
PROGRESS_MARK = b"batches \xc2\xb7 ETA"  # in the progress bar's text, drawn by every poll of the run

COUNT_PLOTLY_CALLS = """(() => {
    window.nnCalls = [];
    let plotly;
    Object.defineProperty(window, "Plotly", {configurable: true, get: () => plotly, set(library) {
        for (const name of ["newPlot", "react"]) {
            const original = library[name];
            library[name] = function (element, ...rest) {
                element.nnCalls = element.nnCalls || {newPlot: 0, react: 0};
                element.nnCalls[name] += 1;
                window.nnCalls.push(name);
                return original.call(this, element, ...rest);
            };
        }
        plotly = library;
    }});
})()"""

# Each plot element now: whether it is one tagged before the click, its calls, and its traces' lengths.
OBSERVE = """(selector) => [...document.querySelectorAll(selector)].map(element => ({
    tag: element.nnTag === undefined ? null : element.nnTag,
    calls: element.nnCalls || null,
    points: (element.data || []).map(trace => (trace.x || []).length),
}))"""
TAGGED_CONNECTED = "() => (window.nnTagged || []).map(element => element.isConnected)"


def test_a_default_runs_live_charts_are_one_plot_each_updated_in_place(page, app_url):
    page.add_init_script(COUNT_PLOTLY_CALLS)
    sent = []  # what the server sent the browser, frame by frame
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: sent.append(payload)))
    open_app(page, app_url)
    # the empty charts are drawn before the click (plotly.js loaded from the app's server)
    assert wait_until(lambda: len([c for c in page.evaluate(OBSERVE, CHARTS) if c["calls"]]) == 2, 60), \
        page.evaluate(OBSERVE, CHARTS)
    wait_idle(page, settle_ms=500)
    page.evaluate("""(selector) => { window.nnTagged = [...document.querySelectorAll(selector)];
                                     window.nnTagged.forEach((element, i) => element.nnTag = i); }""", CHARTS)
    before = page.evaluate(OBSERVE, CHARTS)
    assert [c["calls"]["newPlot"] for c in before] == [1, 1]
    assert before[0]["points"][0] == 0  # no batch cost yet

    def count(mark: bytes) -> int:
        return sum(1 for payload in sent if isinstance(payload, bytes) and mark in payload)

    assert count(PAGE_MARK) >= 1  # the page's first run: the mark is seen where it is sent
    page_runs_before = count(PAGE_MARK)
    watch_run_end(page)
    press(page, "Train")
    observed = []
    deadline = time.monotonic() + 180
    while run_end_time(page) is None:
        assert time.monotonic() < deadline, "the run did not end within 180 s"
        observed.append((page.evaluate(OBSERVE, CHARTS), page.evaluate(TAGGED_CONNECTED)))
        time.sleep(0.1)
    assert metric_value(page, "Test accuracy").inner_text() == "97.62%"  # the default run, as before

    # Throughout the run the page showed the two tagged plots, and only them, each still attached.
    assert observed and all(connected == [True, True] for _, connected in observed)
    assert all([c["tag"] for c in charts] == [0, 1] for charts, _ in observed)
    # They received the run's data as it came: the batch-cost line grew, at most a point per pixel ...
    batch_points = [charts[0]["points"][0] for charts, _ in observed]
    width = page.evaluate(f"document.querySelector('{CHARTS}').clientWidth")
    assert max(batch_points) > 100 and max(batch_points) <= width + 1, (batch_points, width)
    # ... and each update went to Plotly.react on the same plot: newPlot once per chart, ever.
    during = observed[-1][0]
    assert [c["calls"]["newPlot"] for c in during] == [1, 1]
    reacts = [c["calls"]["react"] - b["calls"]["react"] for c, b in zip(during, before)]
    assert all(count >= 3 for count in reacts), reacts

    # The result keeps the same two plots, given the finished run (9 epochs), and nothing new is drawn.
    wait_idle(page, settle_ms=500)
    assert page.evaluate(TAGGED_CONNECTED) == [True, True]
    after = page.evaluate(OBSERVE, CHARTS)
    assert [c["tag"] for c in after] == [0, 1]
    assert [c["calls"]["newPlot"] for c in after] == [1, 1]
    assert after[1]["points"][:2] == [9, 9]  # train and test accuracy after each epoch
    assert exceptions(page) == []

    # Each poll of the run reran its panel alone: the whole page (its settings form, its history) was
    # drawn by the click on Train and by the run's end, not by every poll (14 times for a 4-epoch run
    # before d5e5cc9). Counted in what the server sent: every full-page run sends the page's caption.
    polls, page_runs = count(PROGRESS_MARK), count(PAGE_MARK) - page_runs_before
    assert polls >= 3, polls  # the run was watched poll by poll
    assert page_runs <= 3, (page_runs, polls)  # Train's click, the run's end (and at most one more)

