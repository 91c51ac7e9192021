"""The session's data set: the server's MNIST unless the user brought one (the Data page) or drew one
(Draw). What a session keeps belongs to one data set: its runs, their scores and the active model, its
sweep and comparison. Changing the data set puts them aside and brings back the ones kept for the new
data set (none for a new one), so a model is only ever evaluated, drawn on or compared on the data set
it was trained on. A session holds one data set besides MNIST: bringing another lets the previous one
go, with the runs trained on it."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import streamlit as st

from nn_core.data import DataSet

from . import server
from .state import (COMPARE_RUN, DRAW_FIELD, DRAW_FOOL_TARGET, DRAW_PERTURBATION, DRAW_WHY_DIGIT, EVALUATE_CACHE,
                    EVALUATE_CELL_FOR, EVALUATE_MAP_CACHE, EVALUATE_PREDICTED, EVALUATE_TRUE, INSIDE_RUN, Lab, lab)
from .text import plain

# What a page keeps for the model it shows: made again for the new data set's model (or none).
LR_FIND = "lrfind_result"  # ui.lr_find.KEY (which imports this module): the range test ran on the other data set
PAGE_KEYS = (EVALUATE_CACHE, EVALUATE_MAP_CACHE, EVALUATE_CELL_FOR, EVALUATE_TRUE, EVALUATE_PREDICTED, INSIDE_RUN,
             DRAW_FIELD, DRAW_PERTURBATION, DRAW_WHY_DIGIT, DRAW_FOOL_TARGET, LR_FIND)
SHELVED = ("runs", "scores", "active", "compared", "last_finished", "uploads", "sweep", "tuning", "bases")
SIDEBAR_CLASSES = 20  # class names listed in the sidebar; the count says the rest


@dataclass(eq=False)
class Shelf:
    """What a session kept for one data set while another is in use: the Lab's fields named in SHELVED,
    and the Compare page's comparison."""

    fields: dict
    comparison: object | None = None

    @property
    def runs(self) -> int:
        """The runs it keeps, each once (for the session's MAX_RUNS)."""
        kept = {id(run) for run in self.fields["runs"]}
        for holder in (self.fields["sweep"], self.comparison):
            if holder is not None:
                kept |= {id(result) for result in holder.results if result is not None}
        return len(kept)


@dataclass(eq=False)
class SessionData:
    """``Lab.dataset``: the session's data set in use (None: the server's MNIST), the one it holds besides
    MNIST (in use or not), and what it kept for the data sets not in use, by data set key."""

    data: DataSet | None = None
    own: DataSet | None = None
    shelves: dict[str, Shelf] = field(default_factory=dict)
    notice: tuple[bool, str] | None = None  # the Data page's last outcome: (done, what changed or why not)

    @property
    def shelved(self) -> int:
        return sum(shelf.runs for shelf in self.shelves.values())


def session_data(session: Lab | None = None) -> SessionData:
    session = session or lab()
    if not isinstance(session.dataset, SessionData):
        session.dataset = SessionData()
    return session.dataset


def current() -> DataSet:
    """The session's data set: its own, else the server's MNIST."""
    data = session_data().data
    return server.mnist() if data is None else data


def own() -> DataSet | None:
    """The data set besides MNIST this session holds, in use or not."""
    return session_data().own


def busy() -> str | None:
    """Why the data set cannot change now (something trains on the one in use), else None."""
    session = lab()
    if session.current is not None:
        return "A run is training (or paused) on Train or Draw: stop it or let it end first."
    if session.sweep is not None and not session.sweep.finished:
        return "A sweep is running: stop it or let it end first."
    comparison = st.session_state.get(COMPARE_RUN)
    if comparison is not None and not comparison.finished:
        return "A comparison is running: stop it or let it end first."
    return None


def use(data: DataSet) -> str:
    """Make ``data`` the session's data set (the server's MNIST for MNIST). The runs, sweep and
    comparison of the data set in use are put aside and those kept for ``data`` come back; a data set
    besides MNIST replaces the one the session held, whose runs are let go. Returns what changed, in a
    sentence (names are the user's: show it as text). Raises RuntimeError (``busy``) while something trains."""
    session, held = lab(), session_data()
    why = busy()
    if why is not None:
        raise RuntimeError(why)
    before = current()
    if data.key == before.key:
        return f"{display_name(data)} is already in use."
    held.shelves[before.key] = _shelve(session)
    let_go = ""
    if not data.is_mnist and held.own is not None and held.own.key != data.key:
        dropped = held.shelves.pop(held.own.key, None)
        if dropped is not None and dropped.runs:
            let_go = f" The {dropped.runs} run(s) trained on {display_name(held.own)} were let go."
    if not data.is_mnist:
        held.own = data
    held.data = None if data.is_mnist else data
    back = held.shelves.pop(data.key, None)
    _unshelve(session, back)
    for key in PAGE_KEYS:
        st.session_state.pop(key, None)
    kept = f" Your {len(session.runs)} run(s) on it are back." if session.runs else ""
    return (f"Now using {display_name(data)}. The runs on {display_name(before)} are kept for when you "
            f"switch back.{kept}{let_go}")


def _shelve(session: Lab) -> Shelf:
    shelf = Shelf({name: getattr(session, name) for name in SHELVED}, st.session_state.pop(COMPARE_RUN, None))
    fresh = Lab()
    for name in SHELVED:
        setattr(session, name, getattr(fresh, name))
    return shelf


def _unshelve(session: Lab, shelf: Shelf | None) -> None:
    if shelf is None:
        return
    for name, value in shelf.fields.items():
        setattr(session, name, value)
    if shelf.comparison is not None:
        st.session_state[COMPARE_RUN] = shelf.comparison


def noun() -> str:
    """What a class is called on the pages: MNIST's are digits (its pages read as they always did)."""
    return "digit" if current().is_mnist else "class"


def nouns() -> str:
    return "digits" if current().is_mnist else "classes"


def display_name(data: DataSet) -> str:
    return "MNIST" if data.is_mnist else data.name


def class_names(count: int | None = None) -> list[str]:
    """The data set's class names; with ``count`` (a model's outputs) exactly that many (a model that
    does not match the data set, e.g. uploaded, has its outputs named by number)."""
    classes = list(current().classes)
    if count is None or count == len(classes):
        return classes
    return [str(k) for k in range(count)]


def escaped_names(count: int | None = None) -> list[str]:
    """``class_names`` for Markdown (a message, an image's caption): every mark escaped, shown as written."""
    return [plain(name, 60) for name in class_names(count)]


def chart_names(names) -> list[str]:
    """Class names for a Plotly figure, which renders some HTML in its text: escaped, so a name shows as
    written (Plotly turns the entities back into characters)."""
    return [html.escape(str(name)) for name in names]


def sizes(data: DataSet) -> str:
    return f"{len(data.train_images):,} training and {len(data.test_images):,} test images"


def classes_line(data: DataSet, most: int = SIDEBAR_CLASSES) -> str:
    shown = ", ".join(data.classes[:most])
    more = f", … ({data.n_classes - most} more)" if data.n_classes > most else ""
    return f"{data.n_classes} classes: {shown}{more}"


def sidebar() -> None:
    """The data set in use, on every page's sidebar, as plain text (its names are the user's)."""
    data = current()
    with st.sidebar:
        st.text(f"Data set: {display_name(data)}\n{classes_line(data)}\n{sizes(data)}")
