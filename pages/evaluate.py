"""Evaluate page: how the active model does on the 10,000 test images, where it goes wrong (from a
confusion cell straight to the images behind it), what its hidden units learned, and a map of its last
hidden layer over the run's epochs."""

import streamlit as st

from nn_core.reading import training_set
from ui.export import active_export
from ui.evaluate import headline, model_diagnostics, report_and_curves, show_hidden_units, where_it_goes_wrong
from ui.health import health_section
from ui.hidden_map import hidden_map_section
from ui.runs import network_summary, require_model, training_summary
from ui.state import lab

st.title("Evaluate")
run = require_model()
if run is None:
    st.stop()

hp = run.hparams
trained = "uploaded model" if run.status == "uploaded" else f"{len(run.epochs)} of {hp.epochs} epochs"
if run.best_epoch:  # early stopping kept an earlier epoch's parameters than the last
    trained += f", the model kept from epoch {run.best_epoch}"
st.caption(f"Active model: run #{lab().active + 1} ({run.status}) — {network_summary(hp)}; {training_summary(hp)}; "
           f"{trained}. Trained on {training_set(hp)}.")
active_export()
cache = model_diagnostics(run)
diagnostics = cache["diagnostics"]
headline(diagnostics)

st.subheader("Where it goes wrong")
where_it_goes_wrong(diagnostics)

report_and_curves(run, diagnostics)
if run.epochs:  # an uploaded model, or one stopped in its first epoch, has no per-epoch figures (said above)
    health_section(run.epochs, hp)

st.subheader("What the hidden units learned")
show_hidden_units(run, cache)

st.subheader("A map of the hidden layer")
hidden_map_section(run)
