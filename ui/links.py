"""The link codec of the settings, made from ``nn_core.SETTINGS``.

Settings live in the URL (``?hidden=64&lr=4&beta=0.9&batch=128&epochs=9&seed=138&act=sigmoid&layers=1
&init=lecun&opt=momentum``): read once when a session opens, written back whenever a setting changes.
A link may name only values a slider can show; anything else keeps the default and is reported, as
text. The settings form (ui/settings.py) and the exercises (ui/exercise.py, ui/exercise_link.py) both
read this module; it reads neither.
"""

from __future__ import annotations

import streamlit as st

from nn_core import SETTINGS, Hyperparams, Setting
from nn_core.settings import FULL_BATCH

from .state import lab, setting_key


MAX_SHOWN_CHARACTERS = 40  # of a bad value from a link, in the warning
# How a slider shows a value, where its link's text would not read well (links keep the plain text).
SHOWN = {("batch_size", FULL_BATCH): f"{FULL_BATCH:,} (all)"}


def parse_link_value(setting: Setting, text: str):
    """A value from a link: valid for the core and one the slider can show."""
    value = setting.parse(text)  # in the setting's range, which is the slider's
    if setting.step_slider and setting.kind is float:
        step = setting.slider[2]
        value = round(round(value / step) * step, 10)  # the nearest value the slider can show
    elif setting.slider is not None and not setting.step_slider and value not in setting.slider:
        raise ValueError(f"not one of the slider's values ({', '.join(map(setting.format, setting.slider))})")
    return value


def read_settings_from_link() -> list[str]:
    """Once per session: seed the widgets from the URL. Returns the problems, one line each (plain
    text: a value from a link is never rendered as Markdown)."""
    session = lab()
    if session.link_read:
        return []
    session.link_read = True
    problems = []
    for setting in SETTINGS:
        if setting.url_key not in st.query_params:
            continue
        text = st.query_params[setting.url_key]
        try:
            st.session_state[setting_key(setting.url_key)] = parse_link_value(setting, text)
        except ValueError as error:
            shown = text if len(text) <= MAX_SHOWN_CHARACTERS else text[:MAX_SHOWN_CHARACTERS] + "…"
            problems.append(f"{setting.url_key}={shown} ({error}); using the default "
                            f"{setting.format(setting.default)}")
    return problems


def write_settings_to_link(hparams: Hyperparams) -> None:
    """Put the current settings in the URL, so the address bar is a shareable link to them."""
    for setting in SETTINGS:
        text = setting.format(getattr(hparams, setting.name))
        if st.query_params.get(setting.url_key) != text:
            st.query_params[setting.url_key] = text


def shown(setting: Setting, value) -> str:
    """A value as its slider shows it: the link's text ("128"), or a readable name ("60,000 (all)")."""
    return SHOWN.get((setting.name, value), setting.format(value))
