"""The Inside page in headless Chromium against a live server: Step, Step 10 and Reset, read from the
"Batch cost" metric and checked against nn_core's own default run; and two hidden layers with Adam, opened
by a link, with every layer's charts and the worked numbers drawn."""

from __future__ import annotations

import re

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


def test_two_layers_with_adam_from_a_link_in_chromium(page, app_url, mnist):
    """Hidden layers 2 and Adam, set by a link: Step's cost is nn_core's run's, and the second layer's dW, the
    worked numbers and the per-layer charts are drawn."""
    hp = Hyperparams(layers=2, optimizer="adam", learning_rate=0.001)
    reference_run = Trainer(mnist, hp)
    reference_run.run(max_batches=1)
    page.goto(f"{app_url}/inside?layers=2&opt=adam&lr=0.001")
    cost = wait_for_metric(page, "Batch cost")
    press(page, "Step")
    expect(cost).to_have_text(f"{reference_run.batch_costs[0]:.4f}", timeout=RERUN_TIMEOUT_MS)
    main = main_area(page)
    # the optimizer's line, anchored: the network's summary above it can hold the same words (a strict-mode
    # violation in CI, two elements for one locator)
    expect(main.get_by_text(re.compile(r"^adam · learning rate α = 0\.001"))).to_be_visible()
    charts = main.locator("[data-testid='stPlotlyChart'] .js-plotly-plot")
    # 7 forward, 12 backward, 2 of the optimizer (the first page of a session also loads Plotly's script)
    expect(charts).to_have_count(21, timeout=4 * RERUN_TIMEOUT_MS)
    charts.nth(20).scroll_into_view_if_needed()
    expect(charts.nth(20)).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    titles = charts.evaluate_all("plots => plots.map(plot => plot.layout.title.text.replace(/<[^>]*>/g, ''))")
    for title in ("Z2", "A3 = softmax(Z3)", "dW2", "dW3", "dA2", "Norms over the last steps, per layer",
                  "A few weights over the last steps"):
        assert title in titles
    expect(main.locator("[data-testid='stDataFrame']")).to_have_count(1)
    expect(main.locator(".katex-mathml annotation", has_text=r"1 - 0.9^{1} = 0.1").first).to_be_attached()
    assert exceptions(page) == []
