"""MNIST neural-network lab: a frame around three pages (Train, Evaluate, Draw)."""

import streamlit as st

st.set_page_config(page_title="MNIST neural-network lab", page_icon="🔢", layout="wide")

page = st.navigation([
    st.Page("pages/train.py", title="Train", icon="🏋️", default=True),
    st.Page("pages/evaluate.py", title="Evaluate", icon="🔍"),
    st.Page("pages/draw.py", title="Draw", icon="✏️"),
])
page.run()
