"""Evaluate's map of the last hidden layer: a sample of test images placed by PCA or t-SNE of their
activations, one colour per digit, misread images as crosses; a click shows the image; a slider over
the epochs the run kept (nn_core.snapshots) shows the classes separating.

PCA is fitted once per model and sample (on the kept model) and applied to every epoch, so the frames
share their axes. t-SNE runs on request in a thread of the server's own (one at a time for the whole
server), while the section shows its progress and the rest of the page stays usable.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
import streamlit as st
from streamlit.errors import StreamlitAPIException

from nn_core.hidden_map import MAX_SAMPLE, MIN_SAMPLE, SAMPLE, Layer, MapJob, MapQueue, PcaMap, sample_rows
from nn_core.snapshots import IMAGE_SIDE

from . import datasets, runs, server
from .charts_common import PLOT_CONFIG, selected_points
from .images import enlarge, png
from .state import (EVALUATE_MAP_CACHE, EVALUATE_MAP_CHART, EVALUATE_MAP_EPOCH, EVALUATE_MAP_METHOD,
                    EVALUATE_MAP_SAMPLE, EVALUATE_MAP_TSNE)

SAMPLES = (500, 1_000, 2_000, 3_000, 5_000)  # the sample slider's stops
assert SAMPLES[0] == MIN_SAMPLE and SAMPLES[-1] == MAX_SAMPLE and SAMPLE in SAMPLES
PCA, TSNE = "PCA", "t-SNE"
MAX_MAPS = 64  # maps one session keeps (each (m, 2) float32 and m predictions: at most 45 KB)
CLICKED_ZOOM = 5
POLL_SECONDS = 0.5
# Plotly's own ten colours (D3's category10), one per digit
MANY_COLOURS = tuple(qualitative.Alphabet + qualitative.Dark24 + qualitative.Light24)  # 74, for up to 62 classes
DIGIT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


@st.cache_resource
def map_queue() -> MapQueue:
    """The whole server's t-SNE maps, one at a time: a request waits for the ones before it rather than
    several sharing the cores with the training; a session that has gone has its maps dropped, or
    ended in their child process (ui.server.session_alive, as for runs)."""
    return MapQueue(owner_alive=server.session_alive)


@dataclass
class Frame:
    """One epoch of the map: the parameters it uses, named for the slider."""

    label: str  # "epoch 3", or "the model" (a stopped run's parameters, or one with no epochs kept)
    epoch: int | None


@dataclass
class Job:
    """A t-SNE map being computed, or waiting for its turn."""

    key: tuple
    job: MapJob
    started: float
    points: int


class MapCache:
    """This session's maps of one run: PCA's fit per sample size, each map (points and predictions) by
    (method, frame, sample size), at most MAX_MAPS, and the t-SNE job in progress."""

    def __init__(self, run):
        self.run = run
        self.pca: dict[int, PcaMap] = {}
        self.maps: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.predictions: dict[tuple, np.ndarray] = {}
        self.job: Job | None = None

    def keep(self, key: tuple, points: np.ndarray, predicted: np.ndarray) -> None:
        self.maps[key] = (points, predicted.astype(np.int8))
        self.maps.move_to_end(key)
        while len(self.maps) > MAX_MAPS:
            self.maps.popitem(last=False)


def map_cache(run) -> MapCache:
    cache = st.session_state.get(EVALUATE_MAP_CACHE)
    if cache is None or cache.run is not run:
        cache = st.session_state[EVALUATE_MAP_CACHE] = MapCache(run)
    return cache


def frames(run) -> list[Frame]:
    """The epochs the run kept, then its model if that is none of them (a stopped run's)."""
    kept = [Frame(f"epoch {s.epoch}", s.epoch) for s in run.snapshots]
    final_epoch = len(run.epochs) if run.status == "done" and not run.best_epoch else None
    if kept and kept[-1].epoch == final_epoch:
        kept[-1] = Frame(f"epoch {final_epoch}", None)  # the model itself, at full precision
    elif not kept or run.best_epoch is None or run.best_epoch != kept[-1].epoch:
        kept.append(Frame("the model", None))
    return kept


def frame_model(run, frame: Frame):
    if frame.epoch is None:
        return run.model
    snapshot = next(s for s in run.snapshots if s.epoch == frame.epoch)
    return snapshot.model(run.model)


def sample_images(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = datasets.current()
    rows = sample_rows(len(data.test_labels), size)
    return rows, data.test_images[rows], data.test_labels[rows]


def pca_map(cache: MapCache, frame: Frame, size: int) -> tuple[np.ndarray, np.ndarray]:
    key = (PCA, frame.label, size)
    if key not in cache.maps:
        _, images, _ = sample_images(size)
        if size not in cache.pca:
            with st.spinner("Fitting the map's axes to the model's hidden layer…"):
                cache.pca[size] = PcaMap(Layer.of(cache.run.model, images))
        layer = Layer.of(frame_model(cache.run, frame), images)
        cache.keep(key, cache.pca[size].points(layer), layer.predicted)
    return cache.maps[key]


def tsne_map(cache: MapCache, frame: Frame, size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The t-SNE map if computed; else its job's progress, or a button starting it (None)."""
    key = (TSNE, frame.label, size)
    queue = map_queue()
    _collect(cache)
    if key in cache.maps:
        return cache.maps[key]
    if cache.job is None and not _start_button(cache, frame, size, key, queue):
        return None
    _job_progress(cache.job, size, queue)
    time.sleep(POLL_SECONDS)
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def _collect(cache: MapCache) -> None:
    """The session's finished t-SNE job into the cache (or its failure said, the button offered again)."""
    job = cache.job
    if job is not None and job.job.done.is_set():
        cache.job = None
        if job.job.result is not None:
            cache.keep(job.key, job.job.result, cache.predictions.pop(job.key))
        else:  # shown, and the button offered again
            cache.predictions.pop(job.key, None)
            st.error(f"t-SNE failed: {job.job.error or 'it was ended'}")


def _start_button(cache: MapCache, frame: Frame, size: int, key: tuple, queue) -> bool:
    """The button that queues the map, with its time; True once pressed (the job is in ``cache.job``)."""
    estimate, queued = queue.seconds_per_point * size, queue.seconds_ahead()
    wait = f", after about {queued:.0f} s of other sessions' maps" if queued >= 1 else ""
    if st.button(f"Compute the t-SNE map of {frame.label} ({size:,} images, about {estimate:.0f} s{wait})",
                 key=EVALUATE_MAP_TSNE):
        _, images, _ = sample_images(size)
        layer = Layer.of(frame_model(cache.run, frame), images)
        cache.predictions[key] = layer.predicted
        cache.job = Job(key, queue.submit(layer, runs.owner()), time.perf_counter(), size)
        return True
    st.caption("t-SNE places images so that neighbours in the hidden layer stay neighbours; it takes "
               "a while, so it runs when asked, for one epoch at a time.")
    return False


def _job_progress(job: Job, size: int, queue) -> None:
    """The queued or running map's progress bar (and this session's interest in it renewed)."""
    job.job.touch()  # this session still waits for it (the queue ends maps nobody waits for)
    what = job.key[1] + (f", {job.points:,} images" if job.points != size else "")
    expected, ahead = queue.expected(job.job), queue.seconds_ahead(job.job)
    if job.job.started is None:  # other sessions' maps before it
        waited = time.perf_counter() - job.started
        st.progress(min(0.95, waited / max(waited + ahead + expected, 1e-3)),
                    text=f"t-SNE of {what}: waiting for the maps of other sessions before it (about {ahead:.0f} s), "
                         f"then about {expected:.0f} s; {waited:.0f} s so far")
    else:
        elapsed = time.monotonic() - job.job.started
        st.progress(min(0.95, elapsed / max(expected, 1e-3)),
                    text=f"t-SNE of {what}: {elapsed:.0f} s of about {expected:.0f} s")


def class_colour(k: int, classes: int) -> str:
    """Class k's colour: Plotly's ten for ten classes or fewer (MNIST's digits as ever), else a longer palette."""
    return DIGIT_COLOURS[k] if classes <= len(DIGIT_COLOURS) else MANY_COLOURS[k % len(MANY_COLOURS)]


def map_figure(points: np.ndarray, labels: np.ndarray, predicted: np.ndarray, rows: np.ndarray,
               title: str, names: list[str] | None = None, noun: str = "digit") -> go.Figure:
    """One trace per class (its colour and name, in the legend; ``names`` escaped for Plotly, else the
    digits); misread images as crosses. Hover names the image, its label and what the network read (a
    click is read back by ``clicked_image``)."""
    names = np.asarray([str(k) for k in range(10)] if names is None else list(names), dtype=object)
    figure = go.Figure()
    for k in range(len(names)):
        mine = np.flatnonzero(labels == k)
        wrong = predicted[mine] != k
        figure.add_trace(go.Scatter(
            x=points[mine, 0], y=points[mine, 1], mode="markers", name=names[k],
            marker=dict(color=class_colour(k, len(names)), size=np.where(wrong, 9, 5),
                        symbol=np.where(wrong, "x", "circle"), opacity=0.75, line=dict(width=0)),
            customdata=np.column_stack([rows[mine], names[labels[mine]], names[predicted[mine]]]),
            hovertemplate="test image #%{customdata[0]}<br>a %{customdata[1]}, read as %{customdata[2]}"
                          "<extra></extra>"))
    figure.update_layout(title=title, height=520, margin=dict(l=10, r=10, t=40, b=10), legend_title_text=noun,
                         xaxis=dict(showticklabels=False, zeroline=False),
                         yaxis=dict(showticklabels=False, zeroline=False, scaleanchor="x"))
    return figure


def clicked_image(rows: np.ndarray, labels: np.ndarray) -> int | None:
    """The test image index of the point clicked on the map: the ``point_index``-th image of the
    ``curve_number``-th class's trace (as ``map_figure`` drew them), if there is one."""
    return image_at(selected_points(st.session_state.get(EVALUATE_MAP_CHART)), rows, labels)


def image_at(points, rows: np.ndarray, labels: np.ndarray) -> int | None:
    """The test image of a selection's first point on the map; None for none, or for points of any
    shape no click makes (the selection is the browser's JSON)."""
    for point in points if isinstance(points, list) else []:
        if not isinstance(point, dict):
            continue
        k, position = point.get("curve_number"), point.get("point_index")
        if isinstance(k, int) and isinstance(position, int) and 0 <= k:  # a class past the last has no image
            mine = rows[labels == k]
            if 0 <= position < len(mine):
                return int(mine[position])
    return None


def show_clicked(index: int, rows: np.ndarray, labels: np.ndarray, predicted: np.ndarray, frame: Frame) -> None:
    position = int(np.searchsorted(rows, index))
    label, read = int(labels[position]), int(predicted[position])
    names = datasets.escaped_names()
    image = enlarge(datasets.current().test_images[index].reshape(IMAGE_SIDE, IMAGE_SIDE), CLICKED_ZOOM)
    verdict = "read right" if label == read else f"misread as {names[read]}"
    st.image(png(image), width=IMAGE_SIDE * CLICKED_ZOOM,
             caption=f"Test image #{index}: a {names[label]}, {verdict} at {frame.label}")


def sample_size(column) -> int | None:
    """The slider's choice of test images, among the stops the data set in use has images for; None (said)
    for a test set smaller than the least."""
    tests = len(datasets.current().test_labels)
    stops = [size for size in SAMPLES if size <= tests]
    if not stops:
        st.info(f"The map shows at least {MIN_SAMPLE:,} test images; this data set has {tests:,}.")
        return None
    if st.session_state.get(EVALUATE_MAP_SAMPLE) not in stops:
        st.session_state[EVALUATE_MAP_SAMPLE] = min(SAMPLE, stops[-1])
    if len(stops) == 1:
        column.caption(f"Test images on the map: {stops[0]:,}")
        return stops[0]
    return column.select_slider("Test images on the map", stops, key=EVALUATE_MAP_SAMPLE)


@st.fragment  # its sliders, the method, a click and t-SNE's progress rerun only this section
def hidden_map_section(run) -> None:
    cache = map_cache(run)
    options = frames(run)
    labels_ = [f.label for f in options]
    if st.session_state.get(EVALUATE_MAP_EPOCH) not in labels_:
        st.session_state[EVALUATE_MAP_EPOCH] = labels_[-1]  # a new model: its last frame
    method_column, sample_column = st.columns([1, 2])
    method = method_column.segmented_control("Map by", [PCA, TSNE], key=EVALUATE_MAP_METHOD, default=PCA,
                                             required=True)
    if (size := sample_size(sample_column)) is None:
        return
    if len(options) > 1:
        chosen = st.select_slider("Epoch", labels_, key=EVALUATE_MAP_EPOCH,
                                  help="The parameters the run kept at each epoch's end: move it to watch the "
                                       f"{datasets.nouns()} separate as it trained.")
    else:
        chosen = labels_[0]
        st.caption("This model's epochs were not kept (a session keeps them for its latest run and the active "
                   "model only, and an uploaded model has none), so the map shows the model alone.")
    frame = options[labels_.index(chosen)]
    rows, _, labels = sample_images(size)
    found = pca_map(cache, frame, size) if method == PCA else tsne_map(cache, frame, size)
    if found is None:
        return
    points, predicted = found
    misread = int(np.count_nonzero(predicted != labels))
    how = (f"PCA: the two directions of most variance of the model's hidden layer "
           f"({cache.pca[size].explained:.0%} of it), the same axes at every epoch" if method == PCA
           else "t-SNE of this epoch's hidden layer (its axes mean nothing, and differ from epoch to epoch)")
    title = f"{frame.label}: {misread} of {size:,} misread"
    names = datasets.chart_names(datasets.class_names(run.model.classes))
    st.plotly_chart(map_figure(points, labels, predicted, rows, title, names, datasets.noun()), key=EVALUATE_MAP_CHART,
                    on_select="rerun", selection_mode="points", width="stretch", config=PLOT_CONFIG)
    st.caption(f"Each point is a test image, placed by its last hidden layer's {run.model.hidden_units} "
               f"activations — {how}. Colour: its true {datasets.noun()}; ✕: misread. Hover a point for its label "
               "and reading; click it to see the image.")
    index = clicked_image(rows, labels)
    if index is not None:
        show_clicked(index, rows, labels, predicted, frame)
