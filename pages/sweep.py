"""Sweep page: vary one or two settings over a grid, train every point, see what each setting does."""

import streamlit as st

from nn_core import SETTINGS
from nn_core.settings import BY_NAME
from nn_core.sweep import MAX_SEEDS, grid, grid_size
from ui import exercise
from ui import sweep as sw
from ui.links import read_settings_from_link
from ui.settings import train_settings
from ui.state import SWEEP_EPOCHS, SWEEP_SEEDS, SWEEP_VARIED, sweep_values_key
from ui.text import plain

st.title("Sweep")
st.caption("Vary one or two settings, each run on a worker of its own; every other setting is Train's "
           "current one. Several seeds per point show how much of a difference is chance.")
for problem in read_settings_from_link():  # a link opened here: its settings are Train's, here and on Train
    st.warning(f"Ignored a setting in the link: {plain(problem)}.")

base = train_settings()
labels = {s.name: s.label for s in SETTINGS if exercise.free(s.name)}  # an exercise's hidden and locked ones: not here
varied = st.multiselect("Settings to vary (one or two)", list(labels),
                        default=[name for name in ("learning_rate",) if name in labels],
                        format_func=labels.__getitem__, max_selections=2, key=SWEEP_VARIED)
values, problems = {}, []
for name in varied:
    setting = BY_NAME[name]
    preset = ", ".join(setting.format(v) for v in sw.PRESETS[name])
    text = st.text_input(f"Values of {setting.label.lower()}, separated by commas", preset, key=sweep_values_key(name),
                         help=f"{setting.help} Each must be {setting.requirement()}.")
    try:
        values[name] = sw.parse_values(name, text)
        refused = [why for value in values[name] if (why := exercise.refusal(name, value))]
        if refused:
            raise ValueError(refused[0])
    except ValueError as error:
        problems.append(str(error))
seeds_column, epochs_column = st.columns(2)
seeds = seeds_column.number_input("Seeds per point", 1, MAX_SEEDS, 2, key=SWEEP_SEEDS)
most_epochs = exercise.maximum("epochs") or BY_NAME["epochs"].high
if exercise.free("epochs"):
    epochs = epochs_column.slider("Epochs", 1, most_epochs, min(base.epochs, 3, most_epochs), key=SWEEP_EPOCHS,
                                  disabled="epochs" in varied, help="Of every run, unless epochs is varied.")
else:
    epochs = base.epochs
    epochs_column.caption(f"Epochs: {epochs}, fixed by the exercise.")
base = base.__class__(**(base.as_dict() | {"epochs": epochs}))

count = grid_size(base, values, int(seeds)) if varied and not problems else 0  # counted before it is built
planned = grid(base, values, int(seeds)) if 0 < count <= sw.room() else []
for problem in problems:
    st.error(plain(problem))
if not varied:
    st.info("Choose a setting to vary.")
elif count > sw.room():
    st.warning(sw.too_big(count))
elif planned:
    workers = sw.workers()
    st.caption(f"{len(planned)} runs on {workers} worker{'s' * (workers > 1)}: about "
               f"{sw.estimated_seconds(planned, workers, data=sw.datasets.current()):.0f} s with the workers free (from speeds measured for "
               "each setting; longer while other runs share them, shorter if runs diverge).")

sw.sweep_panel(planned, varied, ready=bool(planned) and len(planned) <= sw.room())
sw.results_section()
