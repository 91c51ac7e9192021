"""AppTest tests of classroom exercises (#24): the link codec, hidden pages and settings, locks, limits,
hostile links and the verdict after real runs (on a 2,000-image subset of MNIST).

AppTest's ``switch_page`` runs a page's script by itself, without ``streamlit_app.py`` around it (its
registry after such a run is the ``pages/`` folder's): what the router does on every page (the banner,
leaving hidden pages out) is checked on the first run here, and on other pages in Chromium
(tests/test_exercise_browser.py)."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import SETTINGS, Hyperparams, LocalBackend, Mnist
from ui import exercise as ex
from ui.links import parse_link_value
from ui.state import Lab, setting_key
from ui.text import WORD_JOINER

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SUBSET = 2000
TIMEOUT = 60
HOSTILE_TITLE = "**bold** <b>tag</b> [link](https://evil.example) https://bare.example ![i](https://x.example/i)"
HOSTILE_TEXT = "# Heading\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n- item `code` _em_ www.example.com"


@pytest.fixture
def open_app(mnist):
    """A new session of the app opened at a link, its runs trained on the first SUBSET training images."""
    small = Mnist(mnist.train_images[:SUBSET], mnist.train_labels[:SUBSET], mnist.test_images, mnist.test_labels)

    def open_(query: dict | None = None, page: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["lab"] = Lab(backend=LocalBackend(small))
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at
    return open_


def widgets(at: AppTest) -> dict:
    """Train's settings widgets by URL key."""
    return {w.key.removeprefix("train_"): w for w in (*at.select_slider, *at.slider, *at.number_input, *at.selectbox)
            if w.key and w.key.removeprefix("train_") in ex.SETTING_KEYS}


def another_value(setting):
    """A valid value of ``setting`` other than its default (what a lock would fix)."""
    if setting.choices:
        return next(choice for choice in setting.choices if choice != setting.default)
    if setting.slider is None:
        return setting.default + 1
    if setting.step_slider:
        low, high, step = setting.slider
        return parse_link_value(setting, setting.format(setting.default + step if setting.default + step <= high
                                                          else setting.default - step))
    return next(value for value in setting.slider if value != setting.default)


def warnings(at: AppTest) -> list[str]:
    """The warnings as they read (the page escapes every Markdown character of text from a link and
    breaks addresses with word joiners)."""
    return [re.sub(r"\\(.)", r"\1", w.value).replace(WORD_JOINER, "") for w in at.warning]


def train(at: AppTest, **values) -> AppTest:
    for key, value in values.items():
        widgets(at)[key].set_value(value)
    at.run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


def verdict_text(at: AppTest) -> str:
    """The verdict in Train's result (a success for "Goal reached", else an info)."""
    found = [m.value for m in (*at.success, *at.info) if re.match("Goal reached|Not |Diverged|This run", m.value)]
    assert found, [m.value for m in (*at.success, *at.info)]
    return found[-1]


# --- the codec ---------------------------------------------------------------------------------

def test_links_round_trip():
    built = ex.Exercise("Title: 50% & more", "Line one\nline two, with a comma", ("learning_rate", "momentum"),
                        ("sweep", "exercise"), {"hidden_units": 32, "activation": "relu", "dropout": 0.25}, 90.5,
                        {"hidden_units": 128, "epochs": 5})
    for exercise, hparams in [(built, Hyperparams(hidden_units=32, learning_rate=0.5)), *ex.builtin_exercises()]:
        params = dict(parse_qsl(ex.query(exercise, hparams), keep_blank_values=True))
        again, notices = ex.parse(params)
        assert again == exercise and notices == []
        assert ex.link_length(params) <= ex.MAX_LINK
        assert {k: v for k, v in params.items() if not k.startswith(ex.PREFIX)} == ex.settings_params(hparams)
    assert ex.parse({"hidden": "64"}) == (None, [])  # a settings link is no exercise


def test_page_names_match_the_navigation(open_app):
    at = open_app()
    registered = {Path(str(info["script_path"])).stem for info in at._registered_pages.values()}
    assert registered == set(ex.PAGES)


# --- hidden pages and settings -----------------------------------------------------------------

HIDEABLE = [name for name in ex.PAGES if name != ex.UNHIDEABLE]


def test_each_hidden_page_is_out_of_the_navigation(open_app):
    at = open_app({ex.HIDE_PAGE: ",".join(HIDEABLE), ex.TITLE: "Pages"})
    for name in HIDEABLE:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{name}.py")
    assert at.text[0].value == "Exercise: Pages" and at.title[0].value == "Train"


def test_a_hidden_page_leaves_the_others(open_app):
    at = open_app({ex.HIDE_PAGE: "sweep"})
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/sweep.py")
    for name in ex.PAGES:
        if name != "sweep":
            at.switch_page(f"pages/{name}.py")  # registered


def test_train_cannot_be_hidden(open_app):
    at = open_app({ex.HIDE_PAGE: "train,draw"})
    assert any("The Train page stays" in w for w in warnings(at))
    assert at.session_state["lab"].exercise.hidden_pages == ("draw",)
    assert at.title[0].value == "Train"


HALF = len(SETTINGS) // 2


@pytest.mark.parametrize("hidden", [SETTINGS[:HALF], SETTINGS[HALF:], SETTINGS], ids=["first-half", "second-half", "all"])
def test_each_hidden_or_locked_setting(open_app, hidden):
    """Each setting hidden (its link value kept for the runs) or locked (disabled at the lock's value,
    over the link's own value for it), the form's note naming the locked ones."""
    locked = [s for s in SETTINGS if s not in hidden]
    query = {ex.HIDE: ",".join(s.url_key for s in hidden),
             **{s.url_key: s.format(another_value(s)) for s in hidden},
             **{s.url_key: s.format(s.default) for s in locked}}
    if locked:
        query[ex.LOCK] = ",".join(f"{s.url_key}:{s.format(another_value(s))}" for s in locked)
    at = open_app(query)
    shown = widgets(at)
    assert set(shown) == {s.url_key for s in locked}
    for setting in SETTINGS:
        assert at.session_state[setting_key(setting.url_key)] == another_value(setting), setting.url_key
    for setting in locked:
        assert shown[setting.url_key].disabled and shown[setting.url_key].value == another_value(setting)
    notes = [c.value for c in at.caption if c.value.startswith("The exercise fixes")]
    assert len(notes) == (1 if locked else 0)
    for setting in locked:
        assert f"{setting.label} (" in notes[0]
    at.switch_page("pages/evaluate.py").run()  # another page and back: still so
    at.switch_page("pages/train.py").run()
    assert {key: (w.disabled, w.value) for key, w in widgets(at).items()} == {
        s.url_key: (True, another_value(s)) for s in locked}


def test_a_locked_setting_trains_at_its_value(open_app):
    at = open_app({ex.LOCK: "hidden:32,epochs:1", ex.TARGET: "50"})
    train(at)
    run = at.session_state["lab"].runs[-1]
    assert (run.hparams.hidden_units, run.hparams.epochs) == (32, 1)


def test_largest_values_are_the_sliders_range(open_app):
    at = open_app({ex.MAX_HIDDEN: "32", ex.MAX_EPOCHS: "4", "hidden": "128", "epochs": "9"})
    shown = widgets(at)
    assert shown["hidden"].options == ["16", "24", "32"] and shown["hidden"].value == 32  # the link's 128 cut
    assert shown["epochs"].max == 4 and shown["epochs"].value == 4
    assert any("hidden units at most 32" in c.value for c in at.caption)


# --- hostile links -----------------------------------------------------------------------------

WARMED = []  # the first run of a process imports the pages' modules: done once before any measure


def traced(open_, query: dict) -> tuple[AppTest, float]:
    """The app opened at ``query``, and tracemalloc's peak over its first run (bytes)."""
    if not WARMED:
        open_()
        WARMED.append(True)
    tracemalloc.start()
    try:
        at = open_(query)
        return at, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_markdown_and_html_show_as_typed(open_app):
    at, peak = traced(open_app, {ex.TITLE: HOSTILE_TITLE, ex.TEXT: HOSTILE_TEXT, ex.TARGET: "90"})
    print(f"Markdown and HTML: tracemalloc peak {peak / 1e6:.1f} MB")
    assert peak < 5e6
    assert [t.value for t in at.text[:2]] == [f"Exercise: {HOSTILE_TITLE}", HOSTILE_TEXT]
    for element in (*at.markdown, *at.caption, *at.warning, *at.info, *at.title):
        assert "evil.example" not in element.value and "<script>" not in element.value


@pytest.mark.parametrize("size", [100_000, ex.MAX_LINK])
def test_a_long_link_is_refused(open_app, size):
    hostile = "<b>" * (size // 3)
    # The same link without an exercise: what Streamlit itself costs (each settings write sends the whole query)
    _, baseline = traced(open_app, {"title": "x", "text": hostile})
    at, peak = traced(open_app, {ex.TITLE: "x", ex.TEXT: hostile})
    tracemalloc.start()
    ex.parse({ex.TITLE: "x", ex.TEXT: hostile})
    parse_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{size:,}-character link: tracemalloc peak {peak / 1e6:.1f} MB over the app's first run, "
          f"{baseline / 1e6:.1f} MB for the same link without an exercise; parse alone {parse_peak / 1e3:.0f} kB")
    assert at.session_state["lab"].exercise is None
    refused = [w for w in warnings(at) if "an exercise link may have at most 2,000" in w]
    assert len(refused) == 1 and re.match(r"This exercise link is (at least )?[\d,]+ characters long", refused[0])
    assert not [key for key in at.query_params if key.startswith(ex.PREFIX)]  # gone from the address bar
    assert not [t for t in at.text if "<b>" in t.value]
    assert parse_peak < 100_000 and peak < baseline + 2e6


def test_text_longer_than_its_bound_is_cut(open_app):
    at = open_app({ex.TITLE: "T" * 150, ex.TEXT: "i" * 1200})
    # under 2,000 characters in all, but over the title's and instructions' own bounds
    assert at.text[0].value == "Exercise: " + "T" * ex.MAX_TITLE
    assert at.text[1].value == "i" * ex.MAX_INSTRUCTIONS
    assert any("cut to its first 100 characters" in w for w in warnings(at))


def test_unknown_keys_are_ignored_with_one_notice(open_app):
    at, peak = traced(open_app, {ex.TITLE: "Known", "colour": "red", "ex_colour": "blue", ex.HIDE: "lr,wings",
                                 ex.HIDE_PAGE: "nowhere", "hidden": "32"})
    print(f"unknown keys: tracemalloc peak {peak / 1e6:.1f} MB")
    assert peak < 5e6
    notices = [w for w in warnings(at) if "does not know" in w]
    assert len(notices) == 1
    for name in ("colour", "ex_colour", "wings", "nowhere"):
        assert name in notices[0]
    assert at.text[0].value == "Exercise: Known" and "lr" not in widgets(at)
    assert widgets(at)["hidden"].value == 32  # the settings still come through
    at.switch_page("pages/evaluate.py").run()
    assert not [w for w in warnings(at) if "does not know" in w]  # once


def test_a_lock_out_of_range_is_refused(open_app):
    locks = {"hidden": "9999", "lr": "-1", "act": "softmax", "epochs": "nan", "beta": None, "seed": "9" * 100,
             "batch": "100"}  # 100: in range, not one of the slider's values
    at, peak = traced(open_app, {ex.TITLE: "Still opens",
                                 ex.LOCK: ",".join(k if v is None else f"{k}:{v}" for k, v in locks.items()) + ",layers:2"})
    print(f"out-of-range locks: tracemalloc peak {peak / 1e6:.1f} MB")
    refused = [w for w in warnings(at) if "is not locked" in w]
    assert len(refused) == len(locks)
    for key in locks:
        setting = ex.SETTING_KEYS[key]
        assert sum(w.startswith(f"{setting.label} is not locked") and "It stays free" in w for w in refused) == 1
        assert not widgets(at)[key].disabled and widgets(at)[key].value == setting.default
    assert "must be an integer in [1, 512], got 9999" in refused[0]
    assert at.text[0].value == "Exercise: Still opens"
    assert widgets(at)["layers"].disabled and widgets(at)["layers"].value == 2  # the valid lock holds
    assert peak < 5e6


# --- the verdict -------------------------------------------------------------------------------

def test_the_verdict_after_each_run(open_app):
    at = open_app({ex.TARGET: "50", ex.LOCK: "epochs:1"})
    train(at)
    assert verdict_text(at).startswith("Goal reached:")
    at = open_app({ex.TARGET: "99.9", ex.LOCK: "epochs:1"})
    train(at)
    accuracy = at.session_state["lab"].scores[0].accuracy * 100
    text = verdict_text(at)
    assert text.startswith("Not reached yet:") and f"{99.9 - accuracy:.2f} percentage points below" in text
    train(at, lr=1000.0)
    assert "diverged" in verdict_text(at)


def test_rescue_with_the_learning_rate_alone(open_app):
    exercise, hparams = ex.builtin_exercises()[1]
    at = open_app(dict(parse_qsl(ex.query(exercise, hparams))))
    assert "n" not in widgets(at) and widgets(at)["epochs"].disabled
    train(at)
    assert verdict_text(at).startswith("Not yet: first make a run diverge")
    train(at, lr=1000.0)
    assert verdict_text(at).startswith("Diverged.")
    train(at, lr=4.0, batch=64)  # two changes: not a rescue by the learning rate alone
    assert "besides the learning rate this run changed batch size" in verdict_text(at)
    train(at, lr=1000.0, batch=128)
    train(at, lr=2.0)
    assert verdict_text(at).startswith("Goal reached: run #4 diverged at learning rate 1000")


def test_find_the_initialisation_that_never_learns(open_app):
    exercise, hparams = ex.builtin_exercises()[2]
    at = open_app(dict(parse_qsl(ex.query(exercise, hparams))))
    train(at)
    assert verdict_text(at).startswith("Not this one: lecun")
    train(at, init="zeros")
    text = verdict_text(at)
    lecun, zeros = (at.session_state["lab"].scores[i].accuracy for i in (0, 1))
    assert zeros < ex.NEVER_LEARNS_BELOW <= lecun or zeros < lecun - 0.05
    assert text.startswith("Goal reached: from zeros") and f"({lecun:.2%})" in text


# --- the Exercise page and the other pages with settings ----------------------------------------

def test_the_exercise_page_builds_the_link(open_app):
    at = open_app(page="pages/exercise.py")
    at.text_input(key="exercise_title").input("Lesson 1").run()
    at.text_area(key="exercise_text").input("Reach 90%.\n**Not bold**").run()
    at.multiselect(key="exercise_hide").select("learning_rate").select("page:sweep").run()
    at.multiselect(key="exercise_lock").select("hidden_units").run()
    at.number_input(key="exercise_target").set_value(90.0).run()
    link = at.code[0].value
    params = dict(parse_qsl(urlsplit(link).query))
    exercise, notices = ex.parse(params)
    assert notices == [] and exercise == ex.Exercise("Lesson 1", "Reach 90%.\n**Not bold**", ("learning_rate",),
                                                     ("sweep",), {"hidden_units": 64}, 90.0)
    assert len(at.code) == 4  # and the three built-in exercises
    at.text_area(key="exercise_text").input("é" * 999).run()  # 999 characters, 5,994 in the link
    assert any("more than the 2,000" in e.value for e in at.error)


def test_sweep_and_compare_keep_the_exercise(open_app):
    at = open_app({ex.HIDE: "lr", ex.LOCK: "hidden:32", ex.MAX_EPOCHS: "2"}, page="pages/sweep.py")
    options = at.multiselect(key="sweep_varied").options
    assert "Learning rate" not in options and "Hidden units" not in options and "Momentum (beta)" in options
    assert at.slider(key="sweep_epochs").max == 2
    at.multiselect(key="sweep_varied").set_value(["epochs"]).run()
    at.text_input(key="sweep_values_epochs").input("1, 2, 3").run()
    assert any("epochs may be at most 2 in this exercise" in e.value for e in at.error)
    at.switch_page("pages/compare.py").run()
    assert any("hidden units is fixed at 32 by the exercise" in e.value.replace("\\", "")
               or "learning rate is hidden by the exercise" in e.value.replace("\\", "") for e in at.error)
    assert at.button(key="compare_start").disabled
