"""#23 in headless Chromium, one session: the first layer's units change on Train while a run trains,
its epoch slider replays them after, and Evaluate's map of the hidden layer draws, names a point on
hover and shows its image on a click."""

from __future__ import annotations

import re

from playwright.sync_api import Error as PlaywrightError

from tests.browser import exceptions, go_to, main_area, new_page, open_app, press, run_end_time, wait_idle, wait_until, \
    watch_run_end

UNITS_IMAGE = ".st-key-train_units [data-testid='stImage'] img"  # a finished run's replay
LIVE_UNITS = ".st-key-train_live .nn-live-units"  # the live view's canvas (ui/liveview.js) and its caption
LIVE_PIXELS = "(s) => { const c = document.querySelector(s + ' canvas'); return c && c.width ? c.toDataURL() : null; }"

# Evaluate's map: the plotly.js plot with one trace per digit, and a point's place on the page.
# The centre of the 0s' point farthest from every other point on the map: a click there selects the very
# point the hover names (on a crowded spot the click went to an overlapping point of another trace).
MAP_POINT = """(index) => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p =>
        p.data && p.data.length === 10 && p.data.every((t, d) => t.name === String(d)));
    if (!plot) return null;
    const centre = p => { const b = p.getBoundingClientRect(); return {x: b.left + b.width / 2, y: b.top + b.height / 2}; };
    const traces = [...plot.querySelectorAll('.scatterlayer .trace')];
    const zeros = traces[0] ? [...traces[0].querySelectorAll('path.point')] : [];
    if (zeros.length <= index) return null;
    plot.scrollIntoView({block: 'center'});
    const all = traces.flatMap(t => [...t.querySelectorAll('path.point')].map(centre));
    let best = null, room = -1;
    for (const point of zeros.map(centre)) {
        const nearest = Math.min(...all.filter(q => q !== point && (q.x !== point.x || q.y !== point.y))
            .map(q => Math.hypot(q.x - point.x, q.y - point.y)));
        if (nearest > room) { room = nearest; best = point; }
    }
    return best;
}"""


def units_src(page) -> str | None:
    image = page.locator(UNITS_IMAGE)
    return image.first.get_attribute("src") if image.count() else None


def test_live_units_replay_and_the_hidden_layers_map(browser, page, app_url):
    """Once more in a fresh session if the first fails (it failed once in a full CI run, where its
    traceback was not kept; it passed alone and in the full run before): twice wrong fails."""
    try:
        see_it_learn(page, app_url)
    except (AssertionError, PlaywrightError) as first:
        print(f"first attempt failed, trying a fresh session: {first!r}"[:2000])
        context, again = new_page(browser)
        try:
            see_it_learn(again, app_url)
        finally:
            context.close()


def see_it_learn(page, app_url):
    # 64 units on 5,000 images for 20 epochs: several seconds of training, so several live updates
    open_app(page, f"{app_url}/?epochs=20&train_size=5000")
    watch_run_end(page)
    press(page, "Train")
    seen = []

    def two_live_images():
        src = page.evaluate(LIVE_PIXELS, LIVE_UNITS)
        if src and src not in seen and run_end_time(page) is None:
            seen.append(src)
        return len(seen) >= 2

    assert wait_until(two_live_images, 120), (seen, main_area(page).inner_text()[-800:])
    assert run_end_time(page) is None  # both taken while it trained
    caption = main_area(page).locator(f"{LIVE_UNITS} .nn-live-caption").first.inner_text()
    assert "live: epoch" in caption

    assert wait_until(lambda: run_end_time(page) is not None, 180)
    wait_idle(page, settle_ms=300)
    slider = main_area(page).get_by_role("slider", name=re.compile("Replay the hidden units"))
    assert slider.get_attribute("aria-valuetext") in ("epoch 20", "20")
    after = units_src(page)
    slider.focus()
    page.keyboard.press("Home")  # to epoch 0: the units before training
    assert wait_until(lambda: units_src(page) not in (None, after), 30)
    wait_idle(page)
    assert "before training" in main_area(page).locator(".st-key-train_units").inner_text()
    assert not exceptions(page)

    go_to(page, "Evaluate")
    main_area(page).get_by_role("heading", name="A map of the hidden layer").scroll_into_view_if_needed()
    assert wait_until(lambda: page.evaluate(MAP_POINT, 0) is not None, 60)
    wait_idle(page, settle_ms=500)
    point = page.evaluate(MAP_POINT, 3)
    page.mouse.move(point["x"] - 30, point["y"] - 30)
    page.mouse.move(point["x"], point["y"], steps=5)
    hover = page.locator("g.hovertext")
    assert wait_until(lambda: hover.count() > 0, 10)
    named = re.search(r"test image #(\d+)a (\d), read as (\d)", hover.first.text_content())
    assert named, hover.first.text_content()  # a 0's point, or the nearest one drawn over it
    index, label, read = named.groups()
    verdict = "read right" if read == label else f"misread as {read}"
    shown = main_area(page).get_by_text(f"Test image #{index}: a {label}, {verdict}")
    for _ in range(3):  # a click that lands while the section reruns can be lost: clicked again
        page.mouse.click(point["x"], point["y"])
        if wait_until(lambda: shown.count() > 0, 20):
            break
    else:
        page.screenshot(path="/tmp/see_it_learn_failed.png")
        raise AssertionError(f"no image after clicking test image #{index}: {main_area(page).inner_text()[-600:]!r}")
    assert not exceptions(page)
