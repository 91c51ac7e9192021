"""The Train page's live view in headless Chromium: a run's charts drawn once each (one newPlot per
chart per run), then only appended to (extendTraces, relayout) while it trains; a page switch in the
middle of the run remounts the view with the whole history, once, and it goes on appending; so does
a reconnect (the page's socket dropped mid-run: the same session, the same run); Stop gives the result.

The page is watched from outside the app: before the app loads, an init script wraps plotly.js's
``newPlot``, ``react``, ``extendTraces`` and ``relayout`` as soon as the page defines
``window.Plotly`` and counts their calls per plot element."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser import exceptions, go_to, main_area, open_app, press, wait_idle, wait_until

VIEW = ".st-key-train_live .nn-live-chart"  # ui/liveview.js's plot elements, in the view Streamlit marks by key
RUN_CHARTS = ["cost", "accuracy", "saturated", "grad_norm", "distinct_units", "weights"]
CALLS = ("newPlot", "react", "extendTraces", "relayout")
# In the Train page's caption, drawn by every full-page run of the page and by no run of its panel alone.
PAGE_MARK = "trained from scratch with NumPy".encode()

COUNT_PLOTLY_CALLS = """(() => {
    let plotly;
    Object.defineProperty(window, "Plotly", {configurable: true, get: () => plotly, set(library) {
        for (const name of %s) {
            const original = library[name];
            library[name] = function (element, ...rest) {
                element.nnCalls = element.nnCalls || {};
                element.nnCalls[name] = (element.nnCalls[name] || 0) + 1;
                return original.call(this, element, ...rest);
            };
        }
        plotly = library;
    }});
})()""" % list(CALLS)

# Each plot element now, by its chart's name: its calls and its traces' lengths.
OBSERVE = """(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map(element => [
    element.dataset.chart,
    {calls: element.nnCalls || {}, tagged: element.nnTagged === true,
     points: (element.data || []).map(trace => (trace.x || []).length)}]))"""
# The page's websockets, kept as the app's front end makes them (so a test can drop one).
KEEP_SOCKETS = """(() => {
    const add = WebSocket.prototype.addEventListener;
    window.nnSockets = [];
    WebSocket.prototype.addEventListener = function (...args) {
        if (!window.nnSockets.includes(this)) window.nnSockets.push(this);
        return add.apply(this, args);
    };
})()"""
OPEN_SOCKETS = "() => window.nnSockets.filter(socket => socket.readyState === WebSocket.OPEN).length"
COST_X = "(selector) => document.querySelector(selector + '[data-chart=cost]').data[0].x"
TAG = "(selector) => document.querySelectorAll(selector).forEach(element => element.nnTagged = true)"


def calls(chart: dict, name: str) -> int:
    return chart["calls"].get(name, 0)


def test_the_live_view_appends_and_survives_a_page_switch(page, app_url):
    page.add_init_script(COUNT_PLOTLY_CALLS)
    page.add_init_script(KEEP_SOCKETS)
    sent = []  # what the server sent the browser, frame by frame
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: sent.append(payload)))
    open_app(page, f"{app_url}/?epochs=50")  # long enough to switch pages and come back; Stop ends it
    # the empty charts are drawn before the click (plotly.js loaded from the app's server)
    assert wait_until(lambda: sorted(page.evaluate(OBSERVE, VIEW)) == ["accuracy", "cost"], 60)

    def page_runs() -> int:
        return sum(1 for payload in sent if isinstance(payload, bytes) and PAGE_MARK in payload)

    before = page_runs()
    press(page, "Train")
    # The run's view: its six charts, each drawn once, then appended to as the run trains.
    assert wait_until(lambda: (lambda v: list(v) == RUN_CHARTS and v["accuracy"]["points"][1] >= 1
                               and v["cost"]["points"][0] >= 50)(page.evaluate(OBSERVE, VIEW)), 180), \
        page.evaluate(OBSERVE, VIEW)
    page.evaluate(TAG, VIEW)
    view = page.evaluate(OBSERVE, VIEW)
    assert all(calls(view[name], "newPlot") == 1 and calls(view[name], "react") == 0 for name in RUN_CHARTS), view
    assert calls(view["cost"], "extendTraces") >= 1, view["cost"]  # new batch costs, appended (newPlot drew none)
    assert calls(view["accuracy"], "extendTraces") >= 1  # an epoch's row, appended
    assert page_runs() - before <= 2, page_runs() - before  # Train's click (and at most one more): polls rerun the panel alone
    history = view["cost"]["points"][0]
    grown = wait_until(lambda: page.evaluate(OBSERVE, VIEW)["cost"]["points"][0] > history, 60)
    assert grown, "the cost line stopped growing"
    after = page.evaluate(OBSERVE, VIEW)
    assert all(after[name]["tagged"] and calls(after[name], "newPlot") == 1 and calls(after[name], "react") == 0
               for name in RUN_CHARTS), after  # the same plots, only appended to
    history = after["cost"]["points"][0]

    # A page switch mid-run: back on Train, a new view gets the whole history once, then appends again.
    go_to(page, "Evaluate")
    go_to(page, "Train")
    assert wait_until(lambda: (lambda v: list(v) == RUN_CHARTS and v["cost"]["points"][0] > history)(
        page.evaluate(OBSERVE, VIEW)), 60), page.evaluate(OBSERVE, VIEW)
    remounted = page.evaluate(OBSERVE, VIEW)
    assert not any(remounted[name]["tagged"] for name in RUN_CHARTS)  # new plot elements
    assert main_area(page).locator("[data-testid='stProgress']").count() == 1  # still training
    points = remounted["cost"]["points"][0]
    grown = wait_until(lambda: page.evaluate(OBSERVE, VIEW)["cost"]["points"][0] > points, 60)
    assert grown, "the cost line stopped growing after the page switch"
    again = page.evaluate(OBSERVE, VIEW)
    assert all(calls(again[name], "newPlot") == 1 and calls(again[name], "react") == 0 for name in RUN_CHARTS), again
    assert calls(again["cost"], "extendTraces") >= 1

    # A reconnect mid-run: the socket dropped, the front end connects again to the same session; the view
    # has the whole history (the cost line on its grid from the start, no gap) and goes on appending.
    history = page.evaluate(OBSERVE, VIEW)["cost"]["points"][0]
    sockets = page.evaluate("() => window.nnSockets.length")
    page.evaluate("() => window.nnSockets.at(-1).close()")
    assert wait_until(lambda: page.evaluate("() => window.nnSockets.length") > sockets
                      and page.evaluate(OPEN_SOCKETS) == 1, 60), "the page did not connect again"
    assert wait_until(lambda: (lambda v: list(v) == RUN_CHARTS and v["cost"]["points"][0] > history)(
        page.evaluate(OBSERVE, VIEW)), 60), page.evaluate(OBSERVE, VIEW)
    x = page.evaluate(COST_X, VIEW)
    steps = [b - a for a, b in zip(x, x[1:])]
    # from the grid's first point (the first whose window, a tenth of an epoch, is full), with no gap
    assert x[0] < 0.1 + steps[0] and max(steps) - min(steps) < 1e-9, x[:5]
    assert main_area(page).locator("[data-testid='stProgress']").count() == 1  # the same run, still training
    points = page.evaluate(OBSERVE, VIEW)["cost"]["points"][0]
    assert wait_until(lambda: page.evaluate(OBSERVE, VIEW)["cost"]["points"][0] > points, 60), \
        "the cost line stopped growing after the reconnect"

    # Stop: the result, in the same view.
    press(page, "Stop")
    main_area(page).get_by_text("stopped by you").wait_for(timeout=60_000)
    wait_idle(page, settle_ms=300)
    result = page.evaluate(OBSERVE, VIEW)
    assert list(result)[:2] == ["cost", "accuracy"] and result["cost"]["points"][0] > 0
    assert exceptions(page) == []


# Each plot element's traces as drawn: their x and y, by chart name.
DRAWN = """(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map(element => [
    element.dataset.chart, (element.data || []).map(trace => ({name: trace.name === undefined ? null : trace.name,
        x: Array.from(trace.x || []), y: Array.from(trace.y || [])}))]))"""


def view_messages(frames: list, key: str = "train_live") -> list[dict]:
    """What the server sent the live view ``key``, message by message, read from the page's websocket
    frames (Streamlit's ForwardMsg protobufs; the element's data is its JSON)."""
    import json

    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    messages = []
    for frame in frames:
        if not isinstance(frame, bytes):
            continue
        message = ForwardMsg()
        message.ParseFromString(frame)
        if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
            continue
        element = message.delta.new_element
        if element.WhichOneof("type") == "bidi_component" and key in element.bidi_component.id:
            messages.append(json.loads(element.bidi_component.json))
    return messages


def traces(figure: dict) -> list[dict]:
    return [{"name": trace.get("name"), "x": list(trace.get("x") or []), "y": list(trace.get("y") or [])}
            for trace in figure["data"]]


@pytest.mark.parametrize("ending", ["finished", "stopped", "diverged"])
def test_a_run_ends_with_its_result_figures_whatever_ended_it(page, app_url, ending):
    """However a run ends, the view then shows the run's result figures (the page's usual figures of a
    finished, stopped or diverged run, sent whole) and nothing of the live points appended before: each
    chart's traces in the browser are those of the last complete message, point for point."""
    sent = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: sent.append(payload)))
    query = {"finished": "epochs=2", "stopped": "epochs=50", "diverged": "lr=1000"}[ending]
    open_app(page, f"{app_url}/?{query}")
    press(page, "Train")
    if ending == "stopped":  # stopped once its live charts have been appended to for a while
        assert wait_until(lambda: (lambda v: list(v) == RUN_CHARTS and v["accuracy"]["points"][1] >= 1)(
            page.evaluate(OBSERVE, VIEW)), 180), page.evaluate(OBSERVE, VIEW)
        press(page, "Stop")
    words = {"finished": "finished: 2 epochs", "stopped": "stopped by you", "diverged": "diverged"}[ending]
    main_area(page).get_by_text(words).first.wait_for(timeout=180_000)
    wait_idle(page)

    def results() -> list[dict]:
        page.evaluate("() => 0")  # (a Playwright call: the frames received meanwhile are handed over)
        return [m for m in view_messages(sent) if m.get("complete") and str(m.get("run")).startswith("result-")]

    assert wait_until(lambda: results(), 60), [m.get("run") for m in view_messages(sent)]
    last = results()[-1]
    expected = {name: traces(chart["figure"]) for name, chart in last["charts"].items()}
    assert wait_until(lambda: page.evaluate(DRAWN, VIEW) == expected, 60), \
        (sorted(page.evaluate(DRAWN, VIEW)), sorted(expected))
    drawn = page.evaluate(DRAWN, VIEW)
    assert list(drawn)[:2] == ["cost", "accuracy"]
    names = [trace["name"] for trace in drawn["cost"]]
    if ending == "diverged":
        assert "diverged" in names  # the point where it blew up
    else:
        assert "diverged" not in names and len(drawn["accuracy"][1]["y"]) >= 1  # test accuracy by epoch
    assert exceptions(page) == []


# Streamlit's front end polls a fragment with run_every through window.setInterval: the timers made with
# the poll's period are kept, so that a test can stop them as a lost poll would.
KEEP_POLL_TIMERS = """(() => {
    const make = window.setInterval;
    window.nnPollTimers = [];
    window.setInterval = function (handler, period, ...rest) {
        const id = make.call(window, handler, period, ...rest);
        if (period === %d) window.nnPollTimers.push(id);
        return id;
    };
})()"""


def test_a_run_whose_polls_stop_still_ends_with_its_result(page, app_url):
    """Should the panel's polls stop reaching the server mid-run (seen once in CI: a finished run whose
    result never came), the live view's watchdog asks for a rerun itself: the charts go on growing and
    the result comes. Here the front end's poll timers are stopped once the run is under way."""
    from ui.liveview import POLL_SECONDS

    page.add_init_script(KEEP_POLL_TIMERS % round(POLL_SECONDS * 1000))
    asked = []  # what the browser sent the server: a nudge is the element's state, in a rerun request
    page.on("websocket", lambda socket: socket.on(
        "framesent", lambda payload: asked.append(payload) if b'"nudge":"' in bytes(
            payload if isinstance(payload, bytes) else payload.encode()) else None))
    open_app(page, f"{app_url}/?epochs=30")
    press(page, "Train")
    assert wait_until(lambda: (lambda v: list(v) == RUN_CHARTS and v["cost"]["points"][0] >= 50)(
        page.evaluate(OBSERVE, VIEW)), 180), page.evaluate(OBSERVE, VIEW)
    stopped = page.evaluate("() => { window.nnPollTimers.forEach(id => clearInterval(id)); "
                            "return window.nnPollTimers.length; }")
    assert stopped >= 1  # the panel's poll was one of them
    points = page.evaluate(OBSERVE, VIEW)["cost"]["points"][0]
    assert wait_until(lambda: page.evaluate(OBSERVE, VIEW)["cost"]["points"][0] > points, 60), \
        "the cost line stopped growing when the polls stopped"
    assert asked, "the charts grew without the watchdog's nudge: the polls had not stopped"
    main_area(page).get_by_text("finished: 30 epochs").wait_for(timeout=180_000)
    assert exceptions(page) == []


def test_a_view_left_while_it_still_draws_reports_nothing_to_the_next_page(page, app_url):
    """Train's view at rest, left for Draw while plotly.js still loads and before Draw has run: the old
    page's elements stay, stale, until Draw's run arrives; the view, drawn meanwhile, sets no state then.
    (It used to report its width; Streamlit ran Train's panel for it on the Draw page, the front end failed
    on the elements landing there, and the whole app went blank: seen in CI.) Here plotly.js and the
    server's answers to the switch are held back, as a slow server and a slow network would."""
    errors, sent, held, late = [], [], [], []
    hold = {"on": False}
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/plotly.min.js", lambda route: held.append(route))

    def relay(route):  # the app's socket, through the test: what the server sends can be held back
        server = route.connect_to_server()
        route.on_message(lambda message: (sent.append(message), server.send(message)))
        server.on_message(lambda message: late.append(message) if hold["on"] else route.send(message))
        hold["socket"] = route

    page.route_web_socket(lambda url: url.endswith("/_stcore/stream"), relay)
    open_app(page, app_url)
    for _ in range(600):  # (Playwright's own waits: the route's events come in meanwhile)
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "plotly.js was never asked for"
    hold["on"] = True
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Draw").click()
    page.wait_for_timeout(500)
    switched = len(sent)
    held[0].continue_()  # plotly.js: the stale view draws
    page.wait_for_function("() => window.__nnLabPlotly !== undefined", timeout=60_000)
    page.wait_for_timeout(1500)
    hold["on"] = False
    for message in late:  # Draw's run, and anything the server did meanwhile
        hold["socket"].send(message)
    main_area(page).get_by_role("heading", name="Draw").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    expect(main_area(page).get_by_text("My own classes", exact=True)).to_be_visible()
    assert errors == [] and exceptions(page) == []
    assert len(sent) == switched, "the page left behind asked for a rerun"

