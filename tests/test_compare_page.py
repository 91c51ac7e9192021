"""The Compare page through AppTest: every preset fills the table, a comparison trains its variants
on a 2,000-image subset (one diverging while the others go on), Stop ends them all keeping what each
trained, a variant becomes the active model, and a bad table (a value out of range, an empty cell,
an empty table, 7 rows, two rows with one name) says why and starts nothing.

The table's rows live in ``compare_table`` (a preset fills them; the editor shows them and returns its
edits): a test writes the rows it wants there, as an edit would, and the page reads them back through
the editor."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, LocalBackend, Mnist, RunStatus
from ui import compare as cmp
from ui.liveview import shown
from ui.state import COMPARE_RUN, COMPARE_TABLE, Lab

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
SUBSET = 2000
# Small, quick variants: a 2,000-image subset, one epoch of 16 units (a run takes ~0.1 s).
QUICK = Hyperparams(hidden_units=16, epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def subset(mnist):
    return Mnist(mnist.train_images[:SUBSET], mnist.train_labels[:SUBSET], mnist.test_images, mnist.test_labels)


@pytest.fixture
def compare_page(subset):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lab"] = Lab(backend=LocalBackend(subset))
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compare"
    return at


def set_rows(at: AppTest, variants: list[tuple[str, Hyperparams]] | list[dict]) -> AppTest:
    """Put these rows in the table, as edits would, and rerun."""
    rows = variants if not variants or isinstance(variants[0], dict) else cmp.table_rows(variants)
    at.session_state[COMPARE_TABLE] = rows
    return at.run()


def errors(at: AppTest) -> list[str]:
    """The page's error messages as they read (they are escaped, to show user text literally)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def live_figures(at: AppTest) -> dict[str, dict]:
    """The figures Compare's live view shows now, by chart (named by the keys its charts once had)."""
    return shown("compare_live", at.session_state)


def run_to_end(at: AppTest) -> cmp.Comparison:
    at.button(key="compare_start").click().run()  # AppTest follows the fragment's reruns to the end
    assert not at.exception, at.exception
    comparison = at.session_state[COMPARE_RUN]
    assert comparison.finished
    return comparison


@pytest.mark.parametrize("preset", [p.name for p in cmp.PRESETS])
def test_each_preset_fills_the_table(compare_page, preset):
    at = compare_page
    at.selectbox(key="compare_preset").set_value(preset).run()
    assert not at.exception and errors(at) == []
    rows = at.session_state[COMPARE_TABLE]
    names, variants = cmp.parse_table(pd.DataFrame(rows))  # valid, as the page found
    assert not at.button(key="compare_start").disabled
    settings = [{k: getattr(hp, k) for k in ("batch_size", "optimizer", "init", "learning_rate", "momentum",
                                              "layers", "seed", "epochs")} for hp in variants]
    if preset == "The post's three changes":
        assert len(rows) == 4 and all(hp.seed == 138 and hp.epochs == 9 for hp in variants)
        part_1 = {"batch_size": 60_000, "optimizer": "sgd", "init": "normal", "learning_rate": 1.0}
        assert settings[0].items() >= part_1.items()
        assert settings[1].items() >= (part_1 | {"batch_size": 128}).items()
        assert settings[2].items() >= (part_1 | {"batch_size": 128, "optimizer": "momentum", "momentum": 0.9,
                                                 "learning_rate": 4.0}).items()
        assert variants[3] == Hyperparams()  # the post's run, Train's default
    elif preset == "Optimizers":
        assert [(hp.optimizer, hp.learning_rate) for hp in variants] == [
            ("sgd", 1.0), ("momentum", 4.0), ("nesterov", 4.0), ("rmsprop", 0.003), ("adam", 0.003)]
    elif preset == "Initialisations":
        assert [hp.init for hp in variants] == ["zeros", "normal", "lecun", "he"]
    elif preset == "Depth":
        assert [hp.layers for hp in variants] == [1, 2, 3, 4]
    elif preset == "Schedules":  # the post's run under each schedule, on the same batches (one seed)
        assert [hp.schedule for hp in variants] == ["constant", "step", "cosine", "one-cycle"]
        assert variants[0] == Hyperparams()
        assert all(hp.__class__(**{**hp.as_dict(), "schedule": "constant"}) == Hyperparams() for hp in variants)
    else:
        first = variants[0]
        assert (first.train_size, first.hidden_units, first.epochs, first.learning_rate) == (1000, 512, 50, 1.0)
        assert [(hp.dropout, hp.l2, hp.augment, hp.early_stop) for hp in variants] == [
            (0, 0, "off", 0), (0.5, 0, "off", 0), (0, 0.001, "off", 0), (0, 0, "on", 0), (0, 0, "off", 5)]
        assert all(hp.train_size == 1000 and hp.hidden_units == 512 for hp in variants)
    assert len(set(names)) == len(names)


def test_presets_follow_trains_settings_except_the_posts(compare_page):
    at = compare_page
    at.session_state["train_act"] = "tanh"  # Train's activation slider
    at.selectbox(key="compare_preset").set_value("Depth").run()
    assert {row["activation"] for row in at.session_state[COMPARE_TABLE]} == {"tanh"}
    at.selectbox(key="compare_preset").set_value("The post's three changes").run()
    assert {row["activation"] for row in at.session_state[COMPARE_TABLE]} == {"sigmoid"}


def test_a_diverging_variant_says_so_and_the_others_go_on_then_one_is_adopted(compare_page):
    too_fast, wider = (Hyperparams(**(QUICK.as_dict() | change)) for change in ({"learning_rate": 1000.0},
                                                                                 {"hidden_units": 32}))
    at = set_rows(compare_page, [("steady", QUICK), ("too fast", too_fast), ("wider", wider)])
    comparison = run_to_end(at)
    assert [r.status for r in comparison.results] == [RunStatus.DONE, RunStatus.DIVERGED, RunStatus.DONE]
    texts = [p.proto.text for p in at.get("progress")]
    assert any("too fast" in t and "diverged at epoch 1" in t and "the others go on" in t for t in texts)
    assert all(len(r.epochs) == 1 for r in (comparison.results[0], comparison.results[2]))  # trained to the end
    # the results table and its CSV: Variant, the settings that differ, status and the test figures
    header = cmp.results_csv(comparison).decode().splitlines()[0]
    assert header == "Variant,learning_rate,hidden_units,status,test_accuracy,test_cost,train_seconds"
    csv_rows = pd.read_csv(pd.io.common.BytesIO(cmp.results_csv(comparison)))
    assert list(csv_rows["Variant"]) == ["steady", "too fast", "wider"]
    assert list(csv_rows["status"]) == ["done", "diverged", "done"] and csv_rows["test_accuracy"].isna()[1]
    assert csv_rows["test_accuracy"][0] > 0.5
    assert any("Download results" == b.proto.label for b in at.get("download_button"))
    sentences = [m.value for m in at.markdown if "changed" in m.value]
    assert len(sentences) == 2 and "diverged" in sentences[0] and "learning rate 4 → 1000" in sentences[0]
    assert "hidden units 16 → 32" in sentences[1] and "test accuracy" in sentences[1]
    # the three live charts hold a line per variant in its colour, the diverged one marked
    figures = live_figures(at)
    accuracy = figures["compare_live_accuracy"]["data"]
    assert [t["name"] for t in accuracy] == ["steady", "too fast", "wider"]
    assert [t["line"]["color"] for t in accuracy] == list(cmp.COLOURS[:3])
    batch = figures["compare_live_batch_cost"]["data"]
    assert any(t.get("marker", {}).get("symbol") == "x" for t in batch)
    assert max(batch[0]["x"]) == pytest.approx(SUBSET, rel=0.05)  # one epoch of the subset's images
    # adopt a variant: it joins Train's history and becomes active; a diverged one joins but is not active
    at.selectbox(key="compare_pick").set_value(2).run()
    at.button(key="compare_adopt").click().run()
    lab = at.session_state["lab"]
    assert len(lab.runs) == 1 and lab.active == 0 and lab.runs[0] is comparison.results[2]
    assert any("now the active model" in s.value for s in at.success)
    at.selectbox(key="compare_pick").set_value(1).run()
    at.button(key="compare_adopt").click().run()
    assert len(lab.runs) == 2 and lab.active == 0 and any("diverged" in w.value for w in at.warning)
    at.switch_page("pages/evaluate.py").run()  # Evaluate uses the adopted variant
    assert not at.exception, at.exception


def test_stop_ends_every_variant_and_keeps_what_each_trained(compare_page, subset):
    """Stop's handler on variants part-way through (AppTest follows a fragment's reruns to the end, so
    it cannot press Stop mid-run; tests/test_compare_browser.py presses the button itself)."""
    at = set_rows(compare_page, [(f"v{k}", Hyperparams(**(QUICK.as_dict() | {"epochs": 50, "seed": k})))
                                 for k in range(3)])
    names, variants = cmp.parse_table(pd.DataFrame(at.session_state[COMPARE_TABLE]))
    comparison = cmp.Comparison(names, variants, None)
    comparison.start(at.session_state["lab"].backend)
    comparison.advance(0.6, subset.test_images, subset.test_labels)  # some training, as the page's polls do
    assert not comparison.finished
    at.session_state[COMPARE_RUN] = comparison
    comparison.stop()  # what Stop does
    at.run()
    assert not at.exception, at.exception
    assert comparison.finished and comparison.stopped
    assert all(r.status == RunStatus.STOPPED for r in comparison.results)
    assert all(0 < len(r.batch_costs) < r.batches_per_epoch * 50 for r in comparison.results)
    assert all(score is not None and score[1] > 0.1 for score in comparison.scores)  # the models trained so far
    assert any("stopped" in m.value for m in at.markdown)
    assert [row["status"] for row in cmp.result_rows(comparison)] == ["stopped"] * 3
    assert not at.button(key="compare_start").disabled and at.button(key="compare_stop").disabled


@pytest.mark.parametrize("rows, message", [
    ([("fast", Hyperparams(learning_rate=5000.0)), ("slow", Hyperparams())],
     "Row 1 (fast): learning rate must be a number in [1e-06, 1000], got 5000.0"),
    ([("a", Hyperparams()), ("b", Hyperparams(batch_size=0))], "Row 2 (b): batch size must be an integer"),
    ([], "The table is empty"),
    ([(f"v{k}", Hyperparams(seed=k)) for k in range(7)], "The table has 7 variants; a comparison takes 2 to 6"),
    ([("only", Hyperparams())], "The table has 1 variant;"),
    ([("same", Hyperparams()), ("same", Hyperparams(seed=1))], "Rows 1 and 2 are both named"),
])
def test_a_bad_table_says_why_and_starts_nothing(compare_page, rows, message):
    at = set_rows(compare_page, rows)
    assert any(message in e for e in errors(at)), errors(at)
    assert at.button(key="compare_start").disabled
    at.run()
    assert COMPARE_RUN not in at.session_state and not at.exception


def test_empty_cells_and_bad_choices_are_named(compare_page):
    rows = cmp.table_rows([("a", Hyperparams()), ("b", Hyperparams())])
    rows[1]["momentum"] = None
    at = set_rows(compare_page, rows)
    assert any("Row 2 (b): momentum (beta) is empty" in e for e in errors(at)), errors(at)
    rows[1]["momentum"], rows[0]["init"] = 0.9, "banana"
    at = set_rows(at, rows)
    assert any("Row 1 (a): initialisation must be one of lecun" in e for e in errors(at)), errors(at)
    assert COMPARE_RUN not in at.session_state


def test_a_name_is_shown_as_text_and_a_huge_comparison_is_refused(compare_page):
    at = set_rows(compare_page, [("**bold** [link](http://x)", QUICK), ("b", QUICK)])
    caption = next(c.value for c in at.caption if "see the same batches" in c.value)
    assert r"\*\*bold\*\* \[link\]\(http\:\/\/" + "\u2060" + r"x\)" in caption  # escaped, and no autolink
    at = set_rows(at, [("<b>tag</b>", QUICK), ("b", QUICK)])
    run_to_end(at)
    names = [trace["name"] for trace in live_figures(at)["compare_live_accuracy"]["data"]]
    assert names[0] == "&lt;b&gt;tag&lt;/b&gt;"  # Plotly shows the entities as the typed text, not bold
    huge = Hyperparams(hidden_units=512, layers=4, batch_size=1, epochs=50)
    at = set_rows(at, [("a", huge), ("b", huge)])
    assert any("more than the 300 s" in e for e in errors(at)) and at.button(key="compare_start").disabled


def test_parse_table_reads_the_editors_floats_and_names_empty_rows():
    frame = pd.DataFrame(cmp.table_rows([("", Hyperparams()), ("b", Hyperparams(layers=2))]))
    frame["batch_size"] = frame["batch_size"].astype(float)  # a column with a gap comes back as floats
    names, variants = cmp.parse_table(frame)
    assert names == ["Variant 1", "b"] and variants[0] == Hyperparams() and variants[1].layers == 2
    frame.loc[0, "batch_size"] = 128.5
    with pytest.raises(ValueError, match="batch size must be an integer"):
        cmp.parse_table(frame)


def test_batch_groups_follow_the_seeds_draws():
    names = ["a", "b", "c", "d", "e"]
    variants = [Hyperparams(), Hyperparams(learning_rate=1.0, optimizer="sgd"), Hyperparams(init="normal"),
                Hyperparams(hidden_units=32), Hyperparams(batch_size=256)]
    assert cmp.batch_groups(names, variants) == [["a", "b", "c"]]  # width and batch size change the batches
