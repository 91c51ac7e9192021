"""The Inside page in headless Chromium against a live server: Step, Step 10 and Reset, read from the
"Batch cost" metric and checked against nn_core's own default run."""

from __future__ import annotations

from playwright.sync_api import expect

from nn_core import Hyperparams, Trainer
from tests.browser import exceptions, go_to, main_area, metric_value, open_app, press, wait_for_metric

RERUN_TIMEOUT_MS = 30_000  # a Step's rerun takes ~0.2 s of server time; the machine is shared


def test_step_step_10_and_reset_in_chromium(page, app_url, mnist):
    reference_run = Trainer(mnist, Hyperparams())  # the run Train's default settings start
    reference_run.run(max_batches=11)
    costs = reference_run.batch_costs
    open_app(page, app_url)
    go_to(page, "Inside")
    cost, steps = wait_for_metric(page, "Batch cost"), metric_value(page, "Step")
    expect(cost).to_have_text("—")
    press(page, "Step")
    expect(cost).to_have_text(f"{costs[0]:.4f}", timeout=RERUN_TIMEOUT_MS)
    expect(steps).to_have_text("1")
    press(page, "Step 10")
    expect(cost).to_have_text(f"{costs[10]:.4f}", timeout=RERUN_TIMEOUT_MS)
    expect(steps).to_have_text("11")
    expect(metric_value(page, "Epoch position")).to_have_text("1/9 · 11/469")
    # the step's pictures and figures are drawn: the batch, dW1 and the weight panels, and the heatmaps
    expect(main_area(page).locator("[data-testid='stImage']")).to_have_count(6, timeout=RERUN_TIMEOUT_MS)
    expect(main_area(page).locator("[data-testid='stPlotlyChart'] .js-plotly-plot").nth(10)).to_be_visible(
        timeout=RERUN_TIMEOUT_MS)
    press(page, "Reset")
    expect(cost).to_have_text("—", timeout=RERUN_TIMEOUT_MS)
    expect(steps).to_have_text("0")
    assert exceptions(page) == []
