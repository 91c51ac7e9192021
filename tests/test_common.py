"""Shared page state: what Evaluate and Draw say while a run started on Train is paused."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, LocalBackend, Mnist

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("page", ["pages/evaluate.py", "pages/draw.py"])
def test_a_paused_run_is_announced_not_lost(mnist, page):
    small = Mnist(mnist.train_images[:1000], mnist.train_labels[:1000], mnist.test_images[:500],
                  mnist.test_labels[:500])
    run = LocalBackend(small).start(Hyperparams(epochs=3))
    while run.progress().total_batches_done < 10:  # into epoch 2 of 3 (8 batches per epoch)
        run.poll(0.001)
    done = run.progress().total_batches_done
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.session_state["lab"].start(run)
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert any("paused at epoch 2 of 3" in info.value for info in at.info)
    assert at.session_state["lab"].current is run and not run.progress().finished
    assert run.progress().total_batches_done == done  # paused: nothing trained while away
