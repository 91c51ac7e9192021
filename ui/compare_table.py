"""Compare's table of variants: its columns (every setting), the editor's frame and columns, and the
edited table read back into (names, settings), each cell checked against the settings spec. Pure but
for ``column_config`` (Streamlit's column types)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from nn_core import SETTINGS, Hyperparams
from nn_core.settings import BY_NAME

MIN_VARIANTS, MAX_VARIANTS = 2, 6
MAX_NAME = 40  # characters of a variant's name
# A variant's colour, the same in every chart and table: six of Plotly's D3 palette, each the hue of
# one of Streamlit's named Markdown colours, which mark a variant in text (a square, not an emoji: the
# glyph is in every font). Table cells take the exact colour.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f")
SQUARES = tuple(f":{name}[■]" for name in ("blue", "orange", "green", "red", "violet", "gray"))
NAME, COLOUR = "Variant", "Colour"
# The table's setting columns, most often changed first (all of SETTINGS: a variant is a whole run).
COLUMNS = ("learning_rate", "momentum", "optimizer", "batch_size", "hidden_units", "layers", "activation", "init",
           "epochs", "seed", "train_size", "l2", "dropout", "label_noise", "augment", "early_stop", "schedule",
           "lr_decay", "step_epochs", "warmup")
assert sorted(COLUMNS) == sorted(s.name for s in SETTINGS)


def table_rows(variants: list[tuple[str, Hyperparams]]) -> list[dict]:
    return [{NAME: name, **{column: getattr(hp, column) for column in COLUMNS}} for name, hp in variants]


def table_frame(rows: list[dict]) -> pd.DataFrame:
    """The editor's data: a colour square, the name and every setting, one row per variant."""
    frame = pd.DataFrame(rows, columns=[NAME, *COLUMNS])
    frame.insert(0, COLOUR, "")
    return frame


def coloured(frame: pd.DataFrame, column: str):
    """``frame`` styled: each row's ``column`` cell in its variant's colour (a read-only column: the
    editor styles only those)."""
    def paint(cells: pd.Series) -> list[str]:
        return [f"background-color: {COLOURS[i]}" if i < len(COLOURS) else "" for i in range(len(cells))]
    return frame.style.apply(paint, subset=[column])


def column_config(train: Hyperparams) -> dict:
    """Each setting's column, labelled as on Train, its requirement in the help, Train's value as the
    default of a new row. No bounds here: the spec checks every cell and says what is wrong."""
    config = {COLOUR: st.column_config.TextColumn(" ", disabled=True, width=30,
                                                  help="The variant's colour in the charts"),
              NAME: st.column_config.TextColumn(NAME, max_chars=MAX_NAME, width="medium",
                                                help="A name for the row (shown as typed)")}
    for column in COLUMNS:
        setting = BY_NAME[column]
        common = {"help": f"{setting.help} Must be {setting.requirement()}.", "default": getattr(train, column)}
        if setting.kind is str:
            config[column] = st.column_config.SelectboxColumn(setting.label, options=list(setting.choices), **common)
        else:
            config[column] = st.column_config.NumberColumn(
                setting.label, format="%d" if setting.kind is int else "%g", step=1 if setting.kind is int else None,
                **common)
    return config


def _cell(setting, value):
    """An edited cell as the setting's type (the editor gives floats for integer columns with a gap)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        raise ValueError(f"{setting.label.lower()} is empty; it must be {setting.requirement()}")
    if setting.kind is str:
        return setting.check(str(value))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{setting.label.lower()} must be {setting.requirement()}, got {value!r}")
    value = float(value)
    if setting.kind is int:
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{setting.label.lower()} must be {setting.requirement()}, got {value:g}")
        return setting.check(int(value))
    return setting.check(value)


def parse_table(frame: pd.DataFrame) -> tuple[list[str], list[Hyperparams]]:
    """The variants an edited table describes: (names, settings). ValueError with one clear message
    for anything the table cannot start: too few or too many rows, an empty or out-of-range cell (row
    and setting named), two rows with one name."""
    count = len(frame)
    if count == 0:
        raise ValueError(f"The table is empty: give it {MIN_VARIANTS} to {MAX_VARIANTS} variants (a preset fills it).")
    if not MIN_VARIANTS <= count <= MAX_VARIANTS:
        raise ValueError(f"The table has {count} variant{'s' * (count != 1)}; a comparison takes {MIN_VARIANTS} to "
                         f"{MAX_VARIANTS}. {'Add' if count < MIN_VARIANTS else 'Remove'} a row.")
    names, variants = [], []
    for position, row in enumerate(frame.to_dict("records")):
        raw = row.get(NAME)
        name = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw).strip()
        name = name[:MAX_NAME] or f"Variant {position + 1}"
        values = {}
        for column in COLUMNS:
            try:
                values[column] = _cell(BY_NAME[column], row.get(column))
            except ValueError as error:
                raise ValueError(f"Row {position + 1} ({name}): {error}.") from None
        if name in names:
            raise ValueError(f"Rows {names.index(name) + 1} and {position + 1} are both named {name!r}: "
                             "give each variant its own name.")
        names.append(name)
        variants.append(Hyperparams(**values).validate())
    return names, variants


def batch_groups(names: list[str], variants: list[Hyperparams]) -> list[list[str]]:
    """Groups (of two or more) of variants that see the same images in the same batches in the same
    order. The seed draws the initial weights first and then every epoch's shuffle, so the shuffles
    agree where the seed, the number of weights drawn (width and depth; zeros draws none) and the
    training images (subset, hold-out) agree, and the batches where the batch size does too."""
    groups: dict[tuple, list[str]] = {}
    for name, hp in zip(names, variants):
        key = (hp.seed, hp.batch_size, hp.train_size, hp.early_stop > 0, hp.label_noise,
               (hp.hidden_units, hp.layers) if hp.init != "zeros" else "no weights drawn")
        groups.setdefault(key, []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def differing(variants: list[Hyperparams]) -> list[str]:
    """The settings whose values are not the same in every variant, in the table's order."""
    return [column for column in COLUMNS if len({getattr(hp, column) for hp in variants}) > 1]
