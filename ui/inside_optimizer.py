"""The Inside page's optimizer section: the chosen optimizer's formula (in the post's notation, as LaTeX),
worked with the real numbers of a few weights, and their last steps charted. What each optimizer is
(its words, its state arrays, its beta's name) is read from ``nn_core.optim.REGISTRY``; only the LaTeX
of its formula, which the registry's plain-text formula does not give, is kept here.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from nn_core.inside import Step, corrections, kind_symbols, kinds, numbers
from nn_core.optim import ADAM_BETA2, EPSILON, REGISTRY

from .charts_common import PLOT_CONFIG
from .inside_charts import chosen_weights_figure, norms_figure

INSIDE_WEIGHT = "inside_weight"  # the weight whose update is worked with its numbers (a label of chosen_labels)


UPDATE_TEX = {  # each optimizer's formula, element by element (the post's notation, dW its gradient)
    "sgd": (r"\Delta = \alpha\, dW, \qquad W \leftarrow W - \Delta",),
    "momentum": (r"V \leftarrow \beta V + (1 - \beta)\, dW", r"\Delta = \alpha V, \qquad W \leftarrow W - \Delta"),
    "nesterov": (r"V \leftarrow \beta V + (1 - \beta)\, dW",
                 r"\Delta = \alpha \big(\beta V + (1 - \beta)\, dW\big), \qquad W \leftarrow W - \Delta"
                 r" \qquad \text{(look-ahead: the velocity of the next step, were its gradient the same)}"),
    "rmsprop": (r"S \leftarrow \beta S + (1 - \beta)\, dW^2",
                r"\Delta = \alpha \frac{dW}{\sqrt{S} + \varepsilon}, \qquad W \leftarrow W - \Delta"),
    "adam": (r"M \leftarrow \beta_1 M + (1 - \beta_1)\, dW, \qquad V \leftarrow \beta_2 V + (1 - \beta_2)\, dW^2",
             r"\hat M = \frac{M}{1 - \beta_1^{\,t}}, \quad \hat V = \frac{V}{1 - \beta_2^{\,t}}, \qquad "
             r"\Delta = \alpha \frac{\hat M}{\sqrt{\hat V} + \varepsilon}, \qquad W \leftarrow W - \Delta"),
}
STEP_TEX = {  # the update of W1 in the weights section
    "sgd": r"\alpha\, dW_1", "momentum": r"\alpha V_{dW_1}",
    "nesterov": r"\alpha \big(\beta V_{dW_1} + (1 - \beta)\, dW_1\big)",
    "rmsprop": r"\alpha\, dW_1 / (\sqrt{S_{dW_1}} + \varepsilon)",
    "adam": r"\alpha \hat M_{dW_1} / (\sqrt{\hat V_{dW_1}} + \varepsilon)",
}
STEP_WORDS = {
    "sgd": "the step's gradient times α, nothing more",
    "momentum": "the step's gradient, smoothed by momentum",
    "nesterov": "momentum's velocity, looking one step ahead",
    "rmsprop": "the gradient divided by each weight's own recent gradient size, so every weight moves about α",
    "adam": "momentum's average divided by each weight's own recent gradient size, both bias-corrected",
}


def optimizer_settings(hp) -> str:
    """The optimizer and the numbers its formula uses, as text (its words, its beta's name and its
    epsilon from ``nn_core.optim.REGISTRY``; a second beta where it corrects its moments' bias: Adam)."""
    info = REGISTRY[hp.optimizer]
    if info.beta is None:
        return f"{info.title} ({info.name}) · learning rate α = {hp.learning_rate:g}"
    betas = f"{info.beta} = {hp.momentum:g}" + (f", β2 = {ADAM_BETA2:g}" if info.corrections is not None else "")
    epsilon = f", ε = {EPSILON:g}" if info.epsilon else ""
    return f"{info.name} · learning rate α = {hp.learning_rate:g} · {betas}{epsilon}"


def _state(optimizer: str) -> list[tuple[str, str]]:
    """The optimizer's state arrays as (symbol, meaning), from the registry."""
    return [(array.symbol, array.meaning) for array in REGISTRY[optimizer].state]


def tex_number(x: float) -> str:
    """A number for an equation: 4 significant digits, powers of ten for very small or large ones."""
    x = float(x)
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.3e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def operand(x: float) -> str:
    """A number substituted into a formula: negative ones in parentheses."""
    text = tex_number(x)
    return f"({text})" if float(x) < 0 or r"\times" in text else text


def chosen_labels(step: Step) -> list[str]:
    return [f"{name}[{row},{column}]" for name, row, column in step.chosen]


def worked(step: Step, hp, n: dict, i: int) -> list[str]:
    """The optimizer's formula for weight ``i`` with its numbers substituted, line by line (LaTeX)."""
    v = {name: values[i] for name, values in n.items()}
    a, b, g = step_rate(step, hp), hp.momentum, operand(v["dW"])
    lines = []
    if step.optimizer in ("momentum", "nesterov"):
        lines.append(rf"V = \beta V + (1 - \beta)\, dW = {b:g} \cdot {operand(v['V before'])} + {1 - b:.4g} \cdot {g}"
                     rf" = {tex_number(v['V'])}")
    if step.optimizer == "momentum":
        lines.append(rf"\Delta = \alpha V = {a:g} \cdot {operand(v['V'])} = {tex_number(v['Δ'])}")
    elif step.optimizer == "nesterov":
        lines.append(rf"\beta V + (1 - \beta)\, dW = {b:g} \cdot {operand(v['V'])} + {1 - b:.4g} \cdot {g} = "
                     rf"{tex_number(v['look-ahead'])} \ \text{{(look-ahead)}}")
        lines.append(rf"\Delta = \alpha \cdot \text{{look-ahead}} = {a:g} \cdot {operand(v['look-ahead'])} = "
                     rf"{tex_number(v['Δ'])}")
    elif step.optimizer == "sgd":
        lines.append(rf"\Delta = \alpha\, dW = {a:g} \cdot {g} = {tex_number(v['Δ'])}")
    elif step.optimizer == "rmsprop":
        lines.append(rf"S = \beta S + (1 - \beta)\, dW^2 = {b:g} \cdot {operand(v['S before'])} + {1 - b:.4g} \cdot "
                     rf"{g}^2 = {tex_number(v['S'])}")
        lines.append(rf"\Delta = \alpha \frac{{dW}}{{\sqrt{{S}} + \varepsilon}} = {a:g} \cdot \frac{{{g}}}"
                     rf"{{{tex_number(v['√S + ε'])}}} = {tex_number(v['Δ'])}")
    elif step.optimizer == "adam":
        t = step.adam_steps
        first_fix, second_fix = corrections(hp, t)
        lines.append(rf"M = \beta_1 M + (1 - \beta_1)\, dW = {b:g} \cdot {operand(v['M before'])} + {1 - b:.4g} \cdot "
                     rf"{g} = {tex_number(v['M'])}")
        lines.append(rf"V = \beta_2 V + (1 - \beta_2)\, dW^2 = {ADAM_BETA2:g} \cdot {operand(v['V before'])} + "
                     rf"{1 - ADAM_BETA2:.4g} \cdot {g}^2 = {tex_number(v['V'])}")
        lines.append(rf"\hat M = \frac{{M}}{{1 - \beta_1^{{\,{t}}}}} = \frac{{{tex_number(v['M'])}}}"
                     rf"{{{tex_number(first_fix)}}} = {tex_number(v['M̂'])}")
        lines.append(rf"\hat V = \frac{{V}}{{1 - \beta_2^{{\,{t}}}}} = \frac{{{tex_number(v['V'])}}}"
                     rf"{{{tex_number(second_fix)}}} = {tex_number(v['V̂'])}")
        lines.append(rf"\Delta = \alpha \frac{{\hat M}}{{\sqrt{{\hat V}} + \varepsilon}} = {a:g} \cdot "
                     rf"\frac{{{operand(v['M̂'])}}}{{{tex_number(v['√V̂ + ε'])}}} = {tex_number(v['Δ'])}")
    lines.append(rf"W \leftarrow W - \Delta = {tex_number(v['W'])} - {operand(v['Δ'])} = {tex_number(v['W after'])}")
    return lines


def step_rate(step: Step, hp) -> float:
    """The learning rate this step used: the schedule's (or a changed one), else the settings'."""
    return hp.learning_rate if step.learning_rate is None else step.learning_rate


def schedule_note(step: Step, hp) -> str:
    """" · this step's rate α = 2.31 (cosine schedule)", where a schedule moves the rate."""
    if hp.schedule == "constant":
        return ""
    return f" · this step's rate α = {step_rate(step, hp):.4g} ({hp.schedule} schedule, from {hp.learning_rate:g})"


def optimizer_section(inside) -> None:
    """The formula, its worked numbers and the followed weights' last steps (``inside``: the page's ``Inside``)."""
    hp, step = inside.run.hparams, inside.run.last
    for line in UPDATE_TEX[step.optimizer]:
        st.latex(line)
    st.caption(f"{optimizer_settings(hp)}{schedule_note(step, hp)}. Element by element, the same for every weight and bias of every layer"
               + "".join(f"; {symbol} is the {meaning}" for symbol, meaning in _state(step.optimizer)) + ".")
    if step.optimizer == "adam":
        t = step.adam_steps
        first_fix, second_fix = corrections(hp, t)
        st.latex(rf"t = {t}: \quad 1 - \beta_1^{{\,t}} = 1 - {hp.momentum:g}^{{{t}}} = {tex_number(first_fix)}, \qquad "
                 rf"1 - \beta_2^{{\,t}} = 1 - {ADAM_BETA2:g}^{{{t}}} = {tex_number(second_fix)}")
        st.caption("M and V start at zero, so early on they are too small; dividing by 1 − β^t scales them back "
                   "(the corrections tend to 1 as t grows; V's, with β2 = 0.999, takes thousands of steps).")
    n, labels = numbers(step, hp), chosen_labels(step)
    if st.session_state.get(INSIDE_WEIGHT) not in labels:  # chosen in a network of another shape
        st.session_state.pop(INSIDE_WEIGHT, None)
    chosen = st.selectbox("Weight to work through", labels, key=INSIDE_WEIGHT,
                          help="One of the weights the charts below follow: W1[pixel, unit], a deeper layer's "
                               "W[unit, unit], the output layer's W[unit, digit].")
    for line in worked(step, hp, n, labels.index(chosen)):
        st.latex(line)
    st.dataframe(pd.DataFrame(n, index=pd.Index(labels, name="weight")), width="stretch",
                 column_config={name: st.column_config.NumberColumn(name, format="%.4g") for name in n})
    st.caption("The followed weights' numbers in this step: the weight W and its gradient dW, the optimizer's "
               "state before and after, what it derives from them, the update Δ subtracted and W after. The state, "
               "Δ and W are the trainer's own float32 values; the derived ones are worked from them.")
    steps, norms, values = inside.run.history_arrays()
    run_kinds, symbols = kinds(step.optimizer), kind_symbols(step.optimizer)
    st.plotly_chart(norms_figure(steps, norms, run_kinds, symbols), config=PLOT_CONFIG, key="inside_chart_norms")
    st.plotly_chart(chosen_weights_figure(steps, values, labels, run_kinds, symbols), config=PLOT_CONFIG,
                    key="inside_chart_weights")
    lines = {"gradient": "dotted: the batch's gradient dW", "update": "dashed: the update Δ actually subtracted"}
    states = "; ".join(f"solid: {symbol}, the {meaning}" for symbol, meaning in _state(step.optimizer))
    st.caption(f"The last {len(steps)} steps (at most {inside.run.history.maxlen}). Layer l is W_l and b_l (the last "
               f"is the output layer); the weights are W1[pixel, unit], W_l[unit, unit] and the output's [unit, "
               f"digit]. {lines['gradient']}; {states + '; ' if states else ''}{lines['update']}.")
