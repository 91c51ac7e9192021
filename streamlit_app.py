"""MNIST neural-network lab: a frame around its pages (Data, Train, Evaluate, Draw, Sweep, Compare, Inside,
Exercise), the session's data set in the sidebar, and the exercise a link may set on top of every page.

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

    from ui import datasets, exercise
    from ui.phone import phone_fixes
    from ui.server import memory_janitor, one_blas_thread

    one_blas_thread()
    memory_janitor()  # an ended session's memory goes back to the system

    st.set_page_config(page_title="MNIST neural-network lab", page_icon="🔢", layout="wide")

    # An exercise's link (ui/exercise.py) is read before the navigation: the pages it hides are left
    # out, so they are neither in the sidebar nor reachable by their address.
    exercise.read_exercise_from_link()
    pages = {
        "data": st.Page("pages/data.py", title="Data", icon="🗂️"),
        "train": st.Page("pages/train.py", title="Train", icon="🏋️", default=True),
        "evaluate": st.Page("pages/evaluate.py", title="Evaluate", icon="🔍"),
        "draw": st.Page("pages/draw.py", title="Draw", icon="✏️"),
        "sweep": st.Page("pages/sweep.py", title="Sweep", icon="🧪"),
        "compare": st.Page("pages/compare.py", title="Compare", icon="⚖️"),
        "inside": st.Page("pages/inside.py", title="Inside", icon="🔬"),
        "exercise": st.Page("pages/exercise.py", title="Exercise", icon="🎓"),
    }
    assert list(pages) == list(exercise.PAGES)
    page = st.navigation([page for name, page in pages.items() if name not in exercise.hidden_pages()])
    phone_fixes()
    datasets.sidebar()  # which data set every page trains and evaluates on, its classes and sizes
    exercise.enforce()  # the locked settings at their values, on any page that reads Train's settings
    exercise.write_exercise_to_link()
    exercise.exercise_banner()
    page.run()
