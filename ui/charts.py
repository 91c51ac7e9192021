"""The charts' names as the modules that predate the split read them (``from .charts import X``,
``charts.sweep_line_figure``): ui/training.py, ui/health.py, ui/sweep.py and ui/compare.py, whose live
view was rewritten while the charts moved. New code imports the page's module (ui/charts_train.py,
ui/charts_evaluate.py, ui/charts_sweep.py) or ui/charts_common.py; once those four import them too,
this module goes.
"""

from __future__ import annotations

__all__ = ["LAYOUT", "PLOT_CONFIG", "log_axis", "probability_figure", "selected_points", "smoothed_batch_costs",
           "tick_label", "sweep_heatmap_figure", "sweep_line_figure", "sweep_parallel_figure", "accuracy_figure",
           "best_epoch", "mark_changes", "runs_test_cost_figure", "training_cost_figure"]

from .charts_common import (LAYOUT, PLOT_CONFIG, log_axis, probability_figure, selected_points,
                            smoothed_batch_costs, tick_label)
from .charts_sweep import sweep_heatmap_figure, sweep_line_figure, sweep_parallel_figure
from .charts_train import (accuracy_figure, best_epoch, mark_changes, runs_test_cost_figure,
                           training_cost_figure)
