"""Four shapes a user might name and draw as classes of their own (a circle, a horizontal line, a vertical
line, a cross), as mouse strokes in canvas pixels: each drawing a little different in size, place and tilt,
with a shaky hand, the way ten drawings of one thing by one person differ.

The browser test draws them with the mouse; the page tests hand ``tests.digit_strokes.rasterise`` of them
to the canvas's state."""

from __future__ import annotations

import math

import numpy as np

from tests.digit_strokes import CANVAS, resample, tremor

KINDS = ("circle", "line", "bar", "cross")
STEP = 12.0  # canvas pixels between mouse events: a move costs the browser test ~20 ms, and a shape this
# simple needs no finer path (the digits' strokes use 5)


def outline(kind: str, half: float, rng: np.random.Generator) -> list[np.ndarray]:
    """The strokes of ``kind`` around the origin, ``half`` its half size."""
    if kind == "circle":
        start = rng.uniform(0, 2 * math.pi)
        turn = np.linspace(start, start + 2.1 * math.pi, 60)  # closed, a little past the start
        return [np.column_stack([half * np.cos(turn), half * rng.uniform(0.85, 1.1) * np.sin(turn)])]
    if kind == "line":
        return [np.array([[-half, 0.0], [half, 0.0]])]
    if kind == "bar":
        return [np.array([[0.0, -half], [0.0, half]])]
    if kind == "cross":
        return [np.array([[-half, -half], [half, half]]), np.array([[half, -half], [-half, half]])]
    raise ValueError(kind)


def shape(kind: str, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """One drawing of ``kind``: 110-200 px across, its centre within 40 px of the canvas's, tilted up to
    10 degrees, points STEP px apart with a 2 px tremor (a mouse's drag)."""
    half = rng.uniform(55, 100)
    centre = rng.uniform(CANVAS / 2 - 40, CANVAS / 2 + 40, 2)
    tilt = math.radians(rng.uniform(-10, 10))
    rotation = np.array([[math.cos(tilt), math.sin(tilt)], [-math.sin(tilt), math.cos(tilt)]])
    strokes = []
    for stroke in outline(kind, half, rng):
        points = resample(stroke @ rotation + centre, STEP)
        points += tremor(len(points), 2.0, rng)
        strokes.append([(float(x), float(y)) for x, y in np.clip(points, 1, CANVAS - 2)])
    return strokes
