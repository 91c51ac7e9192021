"""Paging through hidden units, for every page that shows them one image each (Evaluate, Inside)."""

from __future__ import annotations

import streamlit as st

PAGED_ABOVE = 16  # networks wider than this are shown a page of units at a time


def unit_page(hidden_units: int, per_page_key: str, page_key: str) -> range:
    """The units to show: all of them up to 16, else the page chosen with a page size and a page
    number (drawn here), so H = 512 stays readable."""
    per_page, page = hidden_units, 1
    if hidden_units > PAGED_ABOVE:
        sizes = [n for n in (16, 32, 64, 128) if n < hidden_units] + ([hidden_units] if hidden_units <= 128 else [])
        size_column, page_column, _ = st.columns([2, 1, 3])
        per_page = size_column.select_slider("Units per page", options=sizes, value=min(64, sizes[-1]),
                                             key=per_page_key)
        pages = -(-hidden_units // per_page)
        if pages > 1:
            page = min(page_column.number_input(f"Page (of {pages})", 1, pages, 1, key=page_key), pages)
    first = (page - 1) * per_page
    return range(first, min(first + per_page, hidden_units))
