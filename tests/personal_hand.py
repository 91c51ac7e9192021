"""A held-out "personal hand": one writer whose style MNIST lacks, for the teach-your-handwriting tests.

The writer draws boxy, seven-segment digits with straight strokes and square corners, a slashed 0,
a 1 with a long flag and a base, and a crossed 7 with a long hook. Each drawing wobbles a little (a different tremor
each time), as a real hand does. ``teaching()`` is three drawings per digit, medium-sized and near
the centre, the ones a user would press a label button for; ``held_out()`` is the same hand at other
sizes, places and slants, never taught.
"""

from __future__ import annotations

import numpy as np

from tests.digit_strokes import Digit, Placement, Stroke, line, resample

L, R, TOP, MID, BOTTOM = 0.04, 0.56, 0.0, 0.5, 1.0  # the seven-segment grid in the unit box

HAND: list[tuple[int, str, list[Stroke]]] = [
    (0, "box, slashed through", [line((L, TOP), (R, TOP), (R, BOTTOM), (L, BOTTOM), (L, TOP)),
                         line((L - 0.08, BOTTOM + 0.08), (R + 0.08, TOP - 0.08))]),
    (1, "long flag and base", [line((0.02, 0.42), (0.3, TOP), (0.3, BOTTOM)), line((0.04, BOTTOM), (R, BOTTOM))]),
    (2, "boxy", [line((L, TOP), (R, TOP), (R, MID), (L, MID), (L, BOTTOM), (R, BOTTOM))]),
    (3, "boxy", [line((L, TOP), (R, TOP), (R, BOTTOM), (L, BOTTOM)), line((L + 0.12, MID), (R, MID))]),
    (4, "boxy, open", [line((L, TOP), (L, MID), (R, MID)), line((R, TOP), (R, BOTTOM))]),
    (5, "boxy", [line((R, TOP), (L, TOP), (L, MID), (R, MID), (R, BOTTOM), (L, BOTTOM))]),
    (6, "boxy", [line((R, TOP), (L, TOP), (L, BOTTOM), (R, BOTTOM), (R, MID), (L, MID))]),
    (7, "long hook, crossed", [line((L, 0.42), (L, TOP), (R, TOP), (R, BOTTOM)),
                               line((R - 0.3, MID), (R + 0.12, MID))]),
    (8, "boxy", [line((L, TOP), (R, TOP), (R, BOTTOM), (L, BOTTOM), (L, TOP)), line((L, MID), (R, MID))]),
    (9, "boxy", [line((R, MID), (L, MID), (L, TOP), (R, TOP), (R, BOTTOM), (L, BOTTOM))]),
]

TEACHING_PLACES = [
    Placement("medium", 170, shake=1.5),
    Placement("medium, a little left", 160, centre=(125, 135), shake=1.5),
    Placement("medium, a little slanted", 175, centre=(150, 145), shear=0.12, shake=1.5),
]

HELD_OUT_PLACES = [
    Placement("large", 230, shake=2.0),
    Placement("small, top-left", 80, centre=(70, 70), shake=1.0),
    Placement("off-centre, low right", 120, centre=(185, 190), shake=1.5),
    Placement("slanted", 165, shear=0.3, shake=1.5),
    Placement("rotated -8", 170, rotate=-8, shake=1.5),
]


MOUSE_STEP = 12  # canvas pixels between mouse events: straight strokes drawn briskly


def _drawings(places: list[Placement], seed: int) -> list[Digit]:
    rng = np.random.default_rng(seed)
    return [Digit(label, style, place.name, [_sparser(stroke) for stroke in place.apply(strokes, rng)])
            for label, style, strokes in HAND for place in places]


def _sparser(stroke: Stroke) -> Stroke:
    """The stroke's points MOUSE_STEP apart along it (its shape kept: the brush joins them)."""
    points = resample(np.array(stroke), MOUSE_STEP)
    return [(float(x), float(y)) for x, y in points]


def teaching() -> list[Digit]:
    """Three drawings of each digit, in label order (0, 0, 0, 1, ...)."""
    return _drawings(TEACHING_PLACES, seed=15)


def held_out() -> list[Digit]:
    """Five drawings of each digit in other sizes, places and slants, never taught."""
    return _drawings(HELD_OUT_PLACES, seed=51)


def held_out_sample() -> list[Digit]:
    """Two of ``held_out()``'s drawings of each digit (the same drawings, tremor and all), in two of its
    placements chosen round-robin so that each placement is drawn four times: the browser test's set,
    where every drawing costs seconds and is read twice."""
    places = len(HELD_OUT_PLACES)
    return [drawing for i, drawing in enumerate(held_out())  # label-major: i % places is the placement
            if i % places in (drawing.label % places, (drawing.label + 1) % places)]
