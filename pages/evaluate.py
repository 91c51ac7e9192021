"""Evaluate page (placeholder until its issue lands)."""

import streamlit as st

st.title("Evaluate")
st.write("Coming soon.")
