"""Two users train at once on one server: each gets its own, correct run, and Stop still works.

Session A trains the post's run (for more epochs); session B, opened with other settings in its link, trains a
small network meanwhile, then starts again and stops that run while A is still training. Each run
is deterministic (same settings and seed, same weights), so the accuracy each page shows must be
exactly what ``nn_core`` computes for that session's own settings here: a mix-up of state between
the two sessions (shared buffers, a model in a cache) would show up as a wrong figure.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from nn_core import Hyperparams, Trainer
from nn_core.runs import TRAIN_SAMPLE
from tests.browser import (exceptions, is_training, main_area, new_page, open_app, outcome, press, run_ended,
                           shown_accuracy, wait_until)

# A: the post's run for 40 epochs instead of 9, long enough to outlast both of B's runs and B's Stop
# (Stop lands after the chunk in flight, up to 1.2 s, and the page polls once a second).
A_QUERY = "?epochs=40"
A_SETTINGS = Hyperparams(epochs=40)
# B: half A's width for 20 epochs, about a quarter of A's time (the two train side by side on two
# workers), so B's first run ends well before A's and its second run outlasts its Stop.
B_QUERY = "?hidden=32&epochs=20&seed=7"
B_SETTINGS = Hyperparams(hidden_units=32, epochs=20, seed=7)
TIMEOUT = 300  # seconds for a run: ~6 s on an idle 2-core machine, far more when others share it


def final_test_accuracy(mnist, hparams: Hyperparams) -> float:
    # evaluated on the app's sample of the training set after each epoch (the training and the test
    # figures are the same; evaluating all 60,000 training images every epoch took most of this test)
    trainer = Trainer(mnist, hparams, train_sample=TRAIN_SAMPLE)
    while not trainer.finished:
        trainer.run(max_batches=1000)
    return trainer.epochs[-1].test_accuracy


@pytest.fixture
def two_pages(browser):
    opened = [new_page(browser) for _ in range(2)]
    yield [page for _, page in opened]
    for context, _ in opened:
        context.close()


@pytest.fixture
def expected(mnist):
    """nn_core's own final test accuracy for A's and for B's settings, computed here in a thread while
    the pages train (the test waits on the server meanwhile): futures, (A's, B's)."""
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool.submit(final_test_accuracy, mnist, A_SETTINGS), pool.submit(final_test_accuracy, mnist, B_SETTINGS)
    pool.shutdown(cancel_futures=True)  # after a failure: the one computing still ends, the other never starts


def test_two_sessions_train_at_once_each_with_its_own_result_and_stop_works(app_url, two_pages, expected):
    a, b = two_pages
    open_app(a, app_url + A_QUERY)
    open_app(b, app_url + B_QUERY)

    press(a, "Train")
    press(b, "Train")
    assert wait_until(lambda: run_ended(b) or exceptions(b), TIMEOUT), "B's run never ended"
    assert outcome(b) == "finished" and not exceptions(b), exceptions(b)
    b_accuracy = shown_accuracy(b)
    assert is_training(a), "A ended before B: the two runs did not overlap"

    # B trains again and stops while A is still training.
    press(b, "Train")
    assert wait_until(lambda: is_training(b), 60), "B's second run did not start"
    press(b, "Stop")
    assert wait_until(lambda: (outcome(b) == "stopped" and not is_training(b)) or exceptions(b), 60), \
        f"Stop did not take: {outcome(b)}, {exceptions(b)}"
    assert is_training(a), "A ended before B's Stop took effect: cannot tell Stop works while another run trains"
    # The page numbers runs per session: B's stopped run is its second, so A's run is not in B's history.
    assert "Run #2 stopped" in main_area(b).inner_text()

    assert wait_until(lambda: run_ended(a) or exceptions(a), TIMEOUT), "A's run never ended"
    assert outcome(a) == "finished", exceptions(a)
    assert "Run #1 finished" in main_area(a).inner_text()
    assert exceptions(a) == [] and exceptions(b) == []

    # Each page shows exactly its own settings' result, as nn_core computes it alone.
    expected_a, expected_b = (future.result() for future in expected)
    assert f"{shown_accuracy(a):.2%}" == f"{expected_a:.2%}" and expected_a >= 0.97
    assert f"{b_accuracy:.2%}" == f"{expected_b:.2%}"
