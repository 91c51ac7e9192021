"""The settings form, made from ``nn_core.SETTINGS`` (their link codec is ui/links.py)."""

from __future__ import annotations

import streamlit as st

from nn_core import SETTINGS, Hyperparams, Setting
from nn_core.settings import BY_NAME
from nn_core.training import CHANGEABLE

from . import exercise  # a module: its locks and limits, read as the form is drawn
from .links import shown
from .schedule import schedule_preview
from .state import lab, setting_key

# While a run trains only the learning rate and momentum move (the run takes each new value from its
# next chunk, see change_running_run); the other settings are drawn disabled, with this note.
LOCKED_NOTE = ("A run is training: only **Learning rate** and **Momentum** can change now, and the run takes "
               "each new value from its next chunk. The network's shape, its data and the other settings are "
               "fixed once a run starts.")


def change_running_run(setting: Setting) -> None:
    """on_change of a changeable slider: the session's running run (``Lab.current``) takes the new
    value from its next chunk, recorded in its changes. Called at the start of the script run the
    move triggers, in the script's thread, so the run has no other owner here (nn_core's one owner)."""
    run = lab().current
    if run is None:
        return  # no run: the value is for the next one
    value = setting.kind(st.session_state[setting_key(setting.url_key)])
    progress = run.progress()
    if progress.finished:
        return
    in_effect = getattr(progress.hparams, setting.name)
    for change in progress.changes:
        if change.name == setting.name:
            in_effect = change.value
    if value != in_effect:
        run.change(setting.name, value)
    # While a run trains the slider is in a fragment of its own (settings_form): its move reruns it
    # alone, never the whole page. (A keyed st.rerun of the live panel from here, after the page's
    # slider had sent a rerun of the whole page, left the panel's run_every polls unanswered for the rest
    # of the run: the browser drops every fragment's timer when a run of the whole page starts, and the
    # panel's rerun alone never announced it again.)


def _widget(setting: Setting, locked: bool = False, highest=None):
    """The setting's control; ``locked``: disabled (an exercise fixes it); ``highest``: the largest
    value its range offers (an exercise's limit), else the spec's."""
    key = setting_key(setting.url_key)
    common = {"key": key, "help": setting.help, "persist_state": "session"}
    if setting.name in CHANGEABLE:
        common.update(on_change=change_running_run, args=(setting,))
    else:
        common["disabled"] = lab().current is not None  # fixed while a run trains (LOCKED_NOTE)
    if locked:
        common["disabled"] = True
    if setting.choices:
        return st.selectbox(setting.label, list(setting.choices), **common)
    if setting.slider is None:
        return st.number_input(setting.label, setting.low, setting.high, step=1, **common)
    if setting.step_slider:
        low, high, step = setting.slider
        options = [low] if highest is not None and highest <= low else None
    else:
        options = [value for value in setting.slider if highest is None or value <= highest]
    if options is not None and len(options) == 1:  # an exercise's limit at the range's start: a slider of
        return st.selectbox(setting.label, options, format_func=lambda value: shown(setting, value),  # one
                            **{**common, "disabled": True})  # value is refused by Streamlit; shown fixed
    if setting.step_slider:
        return st.slider(setting.label, low, high if highest is None else highest, step=step, **common)
    return st.select_slider(setting.label, options, format_func=lambda value: shown(setting, value), **common)


def _setting(setting: Setting, locked: bool, highest):
    """The setting's control; while a run trains, a changeable one (learning rate, momentum) is a fragment
    of its own, so that moving it reruns it alone: the run takes the value (change_running_run), and
    neither the page nor its live panel is drawn again."""
    if setting.name in CHANGEABLE and lab().current is not None:
        return st.fragment(_widget, key=f"train_setting_{setting.url_key}")(setting, locked, highest)
    return _widget(setting, locked, highest)


def train_settings() -> Hyperparams:
    """Train's current settings without drawing its form (its sliders keep them for the session),
    else the post's."""
    values = {s.name: st.session_state.get(setting_key(s.url_key), s.default) for s in SETTINGS}
    if exercise.current() is not None:  # its locks and limits, whichever page reads the settings first
        values = exercise.current().constrain(values)
    return Hyperparams(**{s.name: s.kind(values[s.name]) for s in SETTINGS})


# The form's sections, each a list of settings by name: every setting in exactly one (checked below).
SECTIONS = (
    ("Network", ("hidden_units", "layers", "activation", "init")),
    ("Training", ("optimizer", "learning_rate", "momentum", "batch_size", "epochs", "seed")),
    ("Overfitting lab", ("train_size", "l2", "dropout", "label_noise", "augment", "early_stop")),
    ("Schedule", ("schedule", "lr_decay", "step_epochs", "warmup")),
)
assert sorted(name for _, names in SECTIONS for name in names) == sorted(s.name for s in SETTINGS)
LAB_SECTION = "Overfitting lab"
SCHEDULE_SECTION = "Schedule"


# The lab's settings as its section's label names them when they are on ("1,000 images, dropout 0.5").
LAB_WORDS = {"train_size": "{:,} images", "l2": "L2 {:g}", "dropout": "dropout {:g}",
             "label_noise": "label noise {:.0%}", "augment": "augmentation", "early_stop": "early stopping {}"}


def lab_summary(values: dict) -> str:
    """The overfitting lab's settings that are on, in a few words, or "off"."""
    parts = [LAB_WORDS[name].format(values[name]) for name in dict(SECTIONS)[LAB_SECTION]
             if values[name] != BY_NAME[name].default]
    return ", ".join(parts) if parts else "off"


def settings_form() -> Hyperparams:
    """The sliders in labelled sections (the network, its training, the overfitting lab); their values
    persist across reruns and page switches (session-scoped state). The lab's section starts closed,
    its label saying which of its settings are on, so the post's ten settings come first (a phone
    shows the form above Train)."""
    for setting in SETTINGS:
        st.session_state.setdefault(setting_key(setting.url_key), setting.default)
    note = st.container()  # there with or without its note, so the sections after it keep their places
    if lab().current is not None:
        note.caption(LOCKED_NOTE)
    exercise.enforce()  # an exercise's locks and limits over what the link set just before
    if exercise.lock_note():
        note.caption(exercise.lock_note())
    values = {}
    for title, names in SECTIONS:
        limits = {name: exercise.setting_limits(name) for name in names}  # (hidden, locked, highest)
        for name in names:
            if limits[name][0]:  # hidden: not drawn, its value kept (the link's, or the default)
                values[name] = BY_NAME[name].kind(st.session_state[setting_key(BY_NAME[name].url_key)])
        if all(hidden for hidden, _, _ in limits.values()):
            continue
        if title == LAB_SECTION:
            current = {s.name: st.session_state[setting_key(s.url_key)] for s in SETTINGS}
            section = st.expander(f"{title}: {lab_summary(current)}", expanded=False)
        elif title == SCHEDULE_SECTION:
            chosen = st.session_state[setting_key(BY_NAME["schedule"].url_key)]
            section = st.expander(f"{title}: {chosen}", expanded=False)
        else:
            section = st.expander(title, expanded=True)
        with section:
            for name in names:
                hidden, locked, highest = limits[name]
                if not hidden:
                    values[name] = BY_NAME[name].kind(_setting(BY_NAME[name], locked, highest))
            if title == SCHEDULE_SECTION:
                schedule_preview(values)
    return Hyperparams(**values)
