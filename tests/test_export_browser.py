"""Chromium: after a run on Train, "Download as Python" gives the run's script, its first lines naming
the run's settings."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import exceptions, main_area, open_app, press, wait_for_metric

TRAINING_TIMEOUT_MS = 120_000  # one epoch of 32 units takes about a second alone; the machine is shared
RERUN_TIMEOUT_MS = 30_000  # the page reruns in full after showing a result: the buttons come with it


def test_download_as_python_after_a_run_names_its_settings(page, app_url):
    open_app(page, f"{app_url}/?hidden=32&epochs=1&lr=2")
    press(page, "Train")
    wait_for_metric(page, "Test accuracy", TRAINING_TIMEOUT_MS)
    button = main_area(page).get_by_role("button", name="Download as Python")
    expect(button).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename == "run-1.py"
    head = open(download.value.path(), encoding="utf-8").read().splitlines()[:6]
    assert head[0].startswith("MNIST, a 784-32-10 sigmoid network trained with momentum", 3)
    settings = " ".join(head)
    for words in ("hidden_units=32", "learning_rate=2 ", "epochs=1 ", "seed=138", "batch_size=128"):
        assert words in settings, (words, head)
    expect(main_area(page).get_by_role("button", name="Download as notebook")).to_be_visible()
    assert exceptions(page) == []
