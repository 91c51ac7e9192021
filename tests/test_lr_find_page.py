"""AppTest of Train's "Find the learning rate": the range test drawn, its suggestion said, "Use this rate"
moving the slider, and the session's runs untouched."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from nn_core import lr_find
from ui.lr_find import KEY, nearest_slider_rate
from ui.state import setting_key

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def test_the_range_test_suggests_a_rate_and_moves_the_slider_to_it():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    at.button(key="lrfind_start").click().run()
    assert not at.exception
    record = at.session_state[KEY]
    assert record["ended"] and len(record["steps"]) > 50
    suggestion = lr_find.suggest(record["steps"])
    nearest = nearest_slider_rate(suggestion.learning_rate)
    captions = " ".join(c.value for c in at.caption)
    assert "fell fastest" in captions and f"{len(record['steps'])} batches" in captions
    use = at.button(key="lrfind_use")
    assert use.label == f"Use this rate ({nearest:g})" and not use.disabled
    use.click().run()
    assert at.session_state[setting_key("lr")] == nearest != 4.0
    assert at.session_state["lab"].current is None and not at.session_state["lab"].runs  # no run made


def test_the_slider_s_nearest_value_is_on_a_log_scale():
    assert nearest_slider_rate(2.2) == 2.0 and nearest_slider_rate(2.6) == 3.0
    assert nearest_slider_rate(0.0023) == 0.002 and nearest_slider_rate(5000) == 1000.0
