"""Train page (placeholder until its issue lands)."""

import streamlit as st

st.title("Train")
st.write("Coming soon.")
