"""Inside page: one training step in the seed post's equations, layer by layer, with the network's real
numbers and the chosen optimizer's own update."""

import streamlit as st

from ui import inside as ins
from ui.links import read_settings_from_link
from ui.runs import TRAIN_PAGE
from ui.state import INSIDE_UNITS_PAGE, INSIDE_UNITS_PER_PAGE
from ui.text import plain
from ui.units import unit_page

st.title("Inside")
st.caption("One mini-batch step of the real training loop, stage by stage: the forward pass through each "
           "layer, the cross-entropy, the backward pass back through each layer and the optimizer's update, "
           "each equation beside the matrices it produced. This run is this page's own; Train's runs are "
           "untouched.")
for problem in read_settings_from_link():  # shown once, when the link is opened
    st.warning(f"Ignored a setting in the link: {plain(problem)}.")

ins.source_choice()
inside = ins.current()
if inside is None:
    st.info("No active model yet in this session: train one first, or start from a fresh model.")
    st.page_link(TRAIN_PAGE, label="Go to Train", icon="🏋️")
    st.stop()
ins.describe(inside)
ins.controls(inside)
ins.headline(inside)
step = inside.run.last
if step is None:
    st.info("Press **Step** to train one batch and see every matrix it computed.")
    st.stop()

st.subheader("The batch")
image = ins.batch_section(step)

st.subheader("Hidden units shown")
units = unit_page(step.before.hidden_units, INSIDE_UNITS_PER_PAGE, INSIDE_UNITS_PAGE)

st.subheader("Forward pass and cost")
ins.forward_section(step, units, image)

st.subheader("Backward pass")
ins.backward_section(step, units)

st.subheader(f"The update: {step.optimizer}")
ins.optimizer_section(inside)

st.subheader("Each unit's weights, before and after the step")
ins.weights_section(step, units)
