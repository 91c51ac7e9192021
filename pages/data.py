"""Data page: the data set this session trains and evaluates on, MNIST or one the user brings, with a
look at its images; every other page follows the choice."""

import streamlit as st

from ui import data_page, datasets

st.title("Data")
st.caption("Every page of this session trains, evaluates and draws on the data set chosen here: MNIST, or one "
           "you bring. Runs trained on one data set stay with it: switching puts them aside until you switch back.")
data_page.notice()
data = datasets.current()
data_page.describe(data)
data_page.choose()
data_page.upload_section()
data_page.preview(data)
