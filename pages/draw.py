"""Draw page (placeholder until its issue lands)."""

import streamlit as st

st.title("Draw")
st.write("Coming soon.")
