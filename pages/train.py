"""Train page: pick settings, press Train, watch the costs fall live, keep every run of the session."""

import streamlit as st

from ui import datasets, server
from ui.export import train_export
from ui.lr_find import lr_find_section
from ui.history import history_section, model_files_section
from ui.links import read_settings_from_link, write_settings_to_link
from ui.runs import where_runs_train
from ui.settings import settings_form
from ui.text import plain
from ui.training import training_panel

st.title("Train")
server.mnist()  # load once per server, with a spinner the first time
data = datasets.current()
if data.is_mnist:
    st.caption("A 784-H-10 network (or deeper, up to four hidden layers: 784-H-H-H-H-10), trained from scratch with "
               "NumPy on the 60,000 MNIST training images and scored on the 10,000 test images. The defaults are "
               "the seed post's run.")
else:
    C = data.n_classes
    st.caption(f"A 784-H-{C} network (or deeper, up to four hidden layers: 784-H-H-H-H-{C}), trained from scratch "
               f"with NumPy on the {len(data.train_images):,} training images of {plain(data.name, 40)} "
               f"({C} classes) and scored on its {len(data.test_images):,} test images (the Data page chooses).")
where, problem = where_runs_train()
if problem:
    st.warning(plain(problem, limit=400))

for problem in read_settings_from_link():  # shown once, when the link is opened
    st.warning(f"Ignored a setting in the link: {plain(problem)}.")

settings_column, panel_column = st.columns([1, 2.4], gap="large")
with settings_column:
    hparams = settings_form()
    st.caption(where)
    lr_find_section(hparams)
write_settings_to_link(hparams)
panel = panel_column.container()
with panel_column:
    train_export()  # the shown run as code, under its result

st.divider()
history_section()
model_files_section()

# The training panel is drawn last, into its place above (see training_panel).
with panel:
    training_panel(hparams)
