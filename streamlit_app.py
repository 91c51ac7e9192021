"""MNIST neural-network lab: a frame around its pages (Train, Evaluate, Draw, Sweep, Compare, Inside).

Streamlit runs this file as ``__main__``. The training workers are spawned processes, and spawn
imports the parent's main script in each of them under the name ``__mp_main__``: the guard keeps a
worker from importing Streamlit and building the app (about 60 MB per worker).
"""

if __name__ == "__main__":
    # pandas fully imported before any session builds a Plotly figure: Plotly checks values against
    # sys.modules["pandas"], and while another session's thread is still importing it, that half-made
    # module raises "partially initialized module 'pandas' has no attribute 'Series'" (plotly.py#2433).
    # An import statement waits for a concurrent import to finish. (Streamlit depends on pandas.)
    import pandas  # noqa: F401
    import streamlit as st

    from ui.phone import phone_fixes
    from ui.server import one_blas_thread

    one_blas_thread()

    st.set_page_config(page_title="MNIST neural-network lab", page_icon="🔢", layout="wide")

    page = st.navigation([
        st.Page("pages/train.py", title="Train", icon="🏋️", default=True),
        st.Page("pages/evaluate.py", title="Evaluate", icon="🔍"),
        st.Page("pages/draw.py", title="Draw", icon="✏️"),
        st.Page("pages/sweep.py", title="Sweep", icon="🧪"),
        st.Page("pages/compare.py", title="Compare", icon="⚖️"),
        st.Page("pages/inside.py", title="Inside", icon="🔬"),
    ])
    phone_fixes()
    page.run()
