"""Train's "Find the learning rate": the range test (``nn_core.lr_find``) on the form's settings, drawn
live, its suggestion in one sentence, and a button that moves the learning-rate slider to it.

It runs in the script itself (well under a second here; a second or two on a small cloud box, with a
progress bar): a click anywhere, its own Stop included, ends it at the chart's next update, and what it
measured so far stays. It trains its own network: the session's model and history are untouched.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from nn_core import Hyperparams, lr_find
from nn_core.settings import BY_NAME, LEARNING_RATES

from . import datasets
from .state import lab, setting_key

KEY = "lrfind_result"  # {"settings": Hyperparams, "steps": [Step], "ended": bool}
DRAW_EVERY = 16  # batches between live redraws of the chart
SLIDER_KEY = setting_key(BY_NAME["learning_rate"].url_key)
CONFIG = {"displayModeBar": False}  # its toolbar would cover the slider's label


def nearest_slider_rate(rate: float) -> float:
    """The learning-rate slider's value nearest ``rate`` on a log scale (the slider offers only its own)."""
    return min(LEARNING_RATES, key=lambda value: abs(math.log(value / rate)))


def use_rate(rate: float) -> None:
    """on_click of "Use this rate": before the script runs, so the slider is drawn with it."""
    st.session_state[SLIDER_KEY] = rate


def figure(steps: list, current_lr: float, suggestion: lr_find.Suggestion | None) -> go.Figure:
    """Cost against rate on a log axis: the raw batch costs faint, the smoothed cost a line, the slider's
    rate and the suggested one marked."""
    lrs = [s.learning_rate for s in steps]
    fig = go.Figure()
    fig.add_scatter(x=lrs, y=[s.cost for s in steps], mode="markers", name="batch cost",
                    marker={"size": 4, "color": "rgba(99, 110, 250, 0.3)"})
    fig.add_scatter(x=lrs, y=[s.smoothed for s in steps], mode="lines", name="smoothed",
                    line={"color": "#636efa", "width": 2})
    # lines with their labels as annotations: a log axis takes an annotation's x as log10 of the rate
    marks = [(current_lr, f"slider {current_lr:g}", "gray", "dot", 1.0, "bottom")]
    if suggestion is not None:
        marks.append((suggestion.learning_rate, f"suggested {suggestion.learning_rate:g}", "#00a65a", "solid", 0.0,
                      "bottom"))
    for rate, text, colour, dash, y, anchor in marks:
        fig.add_vline(x=rate, line={"dash": dash, "color": colour})
        fig.add_annotation(x=math.log10(rate), y=y, xref="x", yref="paper", text=text, showarrow=False,
                           xanchor="right", yanchor=anchor, font={"color": colour, "size": 11})
    low, high = min(lrs + [current_lr]), max(lrs + [current_lr])
    fig.update_xaxes(type="log", title="learning rate", range=[math.log10(low) - 0.1, math.log10(high) + 0.1])
    finite = [s.smoothed for s in steps if math.isfinite(s.smoothed)]
    top = min(max(finite, default=3.0), 2 * finite[0]) * 1.3 if finite else None
    fig.update_yaxes(title="cost", range=[0, top] if top else None)
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False)
    return fig


def _run(hparams: Hyperparams, chart, bar) -> None:
    """The test, drawn every DRAW_EVERY batches; its steps kept in the session as they come."""
    record = {"settings": hparams, "steps": [], "ended": False}
    st.session_state[KEY] = record
    stop = st.empty()  # gone once the test ends
    stop.button("Stop", key="lrfind_stop", help="Ends the test here; what it measured so far stays.")
    data = datasets.current()
    for step in lr_find.steps(data, hparams):
        record["steps"].append(step)
        if step.step % DRAW_EVERY == 0:
            bar.progress(min(step.step / lr_find.STEPS, 1.0), text=f"Range test: batch {step.step}, "
                         f"learning rate {step.learning_rate:.3g}")
            chart.plotly_chart(figure(record["steps"], hparams.learning_rate, None), key=None, config=CONFIG)
    record["ended"] = True
    bar.empty()
    stop.empty()


def lr_find_section(hparams: Hyperparams) -> None:
    """The button, and the last test's chart, suggestion and "Use this rate"."""
    training = lab().current is not None
    started = st.button("Find the learning rate", key="lrfind_start", disabled=training,
                        help="The learning-rate range test (Smith, 2015): a fresh copy of this network trained "
                             "for a fraction of an epoch at a rate multiplied at every batch, from 0.00001 up "
                             "to where the cost explodes. Your model and runs are not touched.")
    place = st.container(key="lrfind_chart")
    chart, bar = place.empty(), place.empty()
    if started:
        _run(hparams, chart, bar)
    record = st.session_state.get(KEY)
    if record is None or not record["steps"]:
        return
    steps = record["steps"]
    suggestion = lr_find.suggest(steps)
    chart.plotly_chart(figure(steps, hparams.learning_rate, suggestion), key=None, config=CONFIG)
    share = lr_find.epochs_fraction(len(steps), record["settings"], data=datasets.current())
    ended = "" if record["ended"] else " (stopped)"
    st.caption(f"{len(steps)} batches{ended}, {share:.0%} of an epoch of these settings.")
    if suggestion is None:
        st.caption("No suggestion: the cost has not yet fallen and turned up again.")
        return
    nearest = nearest_slider_rate(suggestion.learning_rate)
    st.caption(suggestion.rule + ("" if nearest == suggestion.learning_rate
                                  else f" The slider's nearest value is {nearest:g}."))
    st.button(f"Use this rate ({nearest:g})", key="lrfind_use", on_click=use_rate, args=(nearest,),
              disabled=training or nearest == hparams.learning_rate)
