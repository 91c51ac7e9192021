"""Shared page state: what Evaluate and Draw say while a run started on Train is paused."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nn_core import Hyperparams, Mnist, Trainer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("page", ["pages/evaluate.py", "pages/draw.py"])
def test_a_paused_run_is_announced_not_lost(mnist, page):
    small = Mnist(mnist.train_images[:1000], mnist.train_labels[:1000], mnist.test_images[:500],
                  mnist.test_labels[:500])
    trainer = Trainer(small, Hyperparams(epochs=3))
    trainer.run(max_batches=10)  # epoch 2 of 3 after 8 batches per epoch
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.session_state["trainer"] = trainer
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert any("paused at epoch 2 of 3" in info.value for info in at.info)
    assert at.session_state["trainer"] is trainer and not trainer.finished
