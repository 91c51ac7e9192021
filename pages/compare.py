"""Compare page: a few variants of Train's settings trained at once, watched together as they learn."""

import streamlit as st

from ui import compare as cmp
from ui import exercise
from ui.settings import train_settings

st.title("Compare")
st.caption("Variants of Train's current settings, each trained at once as a run of its own. Pick a preset or edit "
           f"the table: {cmp.MIN_VARIANTS} to {cmp.MAX_VARIANTS} rows, one variant each (add or delete rows at "
           "the table's edge).")

train = train_settings()
preset = cmp.preset_choice()
table = cmp.variants_table(train)
checked = exercise.check_variants(cmp.check_table(table), train)  # an exercise's locks, limits and hidden settings

cmp.compare_panel(checked, preset.name)
cmp.results_section()
