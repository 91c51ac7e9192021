"""Mouse-drawn test digits: stroke paths written by hand, placed the ways people place them.

Each *style* is one way of writing a digit (a 7 with or without a bar, open and closed 4s, an 8
as one stroke or two loops, ...), as strokes of (x, y) points in a unit box: y grows downwards,
the digit spans y in [0, 1] and x in about [0, 0.6]. Each *placement* maps that box onto the
280x280 canvas: large, tiny in a corner, off-centre, slanted, rotated, squeezed, shaky.

``rasterise`` draws strokes like streamlit-drawable-canvas's freedraw brush (Fabric.js
PencilBrush): round caps and joins, white on an opaque black background, anti-aliased, and
returns the RGBA array the page receives. The browser test draws the same points with
``page.mouse``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280  # canvas side in CSS pixels (the page's st_canvas width and height)
STROKE_WIDTH = 18  # the page's brush width
STEP = 5.0  # canvas pixels between successive points of a stroke (a mouse event every ~5 px)

Point = tuple[float, float]
Stroke = list[Point]


# --- building blocks, in the unit box -------------------------------------------------------

def line(*points: Point, n: int = 12) -> Stroke:
    """A polyline through the points, each segment cut into n pieces."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        out += [(x0 + (x1 - x0) * t / n, y0 + (y1 - y0) * t / n) for t in range(1, n + 1)]
    return out


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 40) -> Stroke:
    """An elliptical arc; angles in degrees, 0 = right, 90 = down (screen coordinates)."""
    angles = np.radians(np.linspace(start, end, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def bezier(p0: Point, p1: Point, p2: Point, p3: Point | None = None, n: int = 30) -> Stroke:
    """A quadratic (three points) or cubic (four points) Bezier curve."""
    t = np.linspace(0, 1, n)[:, None]
    a, b, c = np.array(p0), np.array(p1), np.array(p2)
    if p3 is None:
        pts = (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c
    else:
        d = np.array(p3)
        pts = (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t**2 * c + t**3 * d
    return [tuple(p) for p in pts]


def join(*pieces: Stroke) -> Stroke:
    """Consecutive pieces drawn as one stroke (the pen stays down)."""
    out: Stroke = []
    for piece in pieces:
        out += piece
    return out


def figure_eight(n: int = 80) -> Stroke:
    """One-stroke 8: starts at the top, crosses in the middle, loops round the bottom and back."""
    t = np.linspace(0, 2 * math.pi, n)
    return [(0.3 - 0.27 * math.sin(2 * a), 0.5 * (1 - math.cos(a))) for a in t]


# --- the styles: label, name, strokes ---------------------------------------------------------

STYLES: list[tuple[int, str, list[Stroke]]] = [
    (0, "oval", [arc(0.3, 0.5, 0.29, 0.48, -80, -450)]),
    (0, "oval, overlapping end", [arc(0.3, 0.5, 0.27, 0.48, -100, 275)]),
    (1, "bar", [line((0.32, 0.0), (0.3, 1.0))]),
    (1, "flag", [line((0.1, 0.22), (0.34, 0.0), (0.34, 1.0))]),
    (1, "flag and base", [line((0.12, 0.2), (0.32, 0.0), (0.32, 1.0)), line((0.08, 1.0), (0.56, 1.0))]),
    (2, "plain", [join(arc(0.3, 0.27, 0.27, 0.26, 195, 380), line((0.55, 0.36), (0.0, 1.0), (0.62, 1.0)))]),
    (2, "curved neck", [join(arc(0.3, 0.26, 0.27, 0.25, 200, 360),
                            bezier((0.57, 0.26), (0.55, 0.6), (0.02, 1.0)), line((0.02, 1.0), (0.62, 0.98)))]),
    (3, "two bumps", [join(arc(0.28, 0.25, 0.27, 0.24, -160, 90), arc(0.28, 0.74, 0.3, 0.26, -90, 160))]),
    (3, "flat top", [join(line((0.02, 0.0), (0.55, 0.0), (0.22, 0.42)), arc(0.26, 0.7, 0.32, 0.29, -75, 160))]),
    (4, "closed", [line((0.44, 0.0), (0.0, 0.66), (0.62, 0.66)), line((0.44, 0.0), (0.44, 1.0))]),
    (4, "open", [line((0.06, 0.0), (0.02, 0.6), (0.6, 0.6)), line((0.46, 0.05), (0.46, 1.0))]),
    (5, "one stroke", [join(line((0.56, 0.0), (0.1, 0.0), (0.06, 0.44)), arc(0.3, 0.7, 0.29, 0.28, -150, 150))]),
    (5, "bar last", [join(line((0.1, 0.0), (0.06, 0.44)), arc(0.3, 0.7, 0.29, 0.28, -150, 150)),
                     line((0.1, 0.0), (0.58, 0.0))]),
    (6, "plain", [join(bezier((0.5, 0.0), (0.04, 0.25), (0.04, 0.72)), arc(0.3, 0.74, 0.26, 0.26, 180, -180))]),
    (6, "small loop", [join(bezier((0.56, 0.0), (0.1, 0.2), (0.05, 0.8)),
                           arc(0.3, 0.78, 0.25, 0.22, 165, -170))]),
    (7, "plain", [line((0.0, 0.0), (0.6, 0.0), (0.2, 1.0))]),
    (7, "with bar", [line((0.0, 0.0), (0.6, 0.0), (0.22, 1.0)), line((0.12, 0.5), (0.56, 0.5))]),
    (7, "hooked top", [line((0.0, 0.14), (0.02, 0.0), (0.6, 0.0), (0.26, 1.0))]),
    (8, "one stroke", [figure_eight()]),
    (8, "two loops", [arc(0.3, 0.25, 0.22, 0.25, -90, 270), arc(0.3, 0.74, 0.28, 0.26, -90, 270)]),
    (9, "straight stem", [join(arc(0.28, 0.27, 0.27, 0.27, 0, -360), line((0.55, 0.27), (0.52, 1.0)))]),
    (9, "curved stem", [join(arc(0.28, 0.27, 0.27, 0.27, 0, -360),
                             bezier((0.55, 0.27), (0.56, 0.8), (0.3, 1.0)))]),
]


# --- the placements: unit box -> canvas pixels ------------------------------------------------

@dataclass(frozen=True)
class Placement:
    name: str
    height: float  # digit height in canvas pixels
    centre: Point = (CANVAS / 2, CANVAS / 2)  # where the box's centre lands
    rotate: float = 0.0  # degrees, clockwise on screen
    shear: float = 0.0  # italic slant: x shifts by shear * (height above the centre)
    squeeze: float = 1.0  # horizontal scale
    shake: float = 0.0  # amplitude (canvas px) of a smooth random tremor

    def apply(self, strokes: list[Stroke], rng: np.random.Generator) -> list[Stroke]:
        out = []
        angle = math.radians(self.rotate)
        cos, sin = math.cos(angle), math.sin(angle)
        for stroke in strokes:
            pts = np.array(stroke, float) - (0.3, 0.5)  # box centre to the origin
            pts *= self.height
            pts[:, 0] *= self.squeeze
            pts[:, 0] -= self.shear * pts[:, 1]  # y grows down: the top leans right
            pts = pts @ np.array([[cos, sin], [-sin, cos]])
            pts = resample(pts + self.centre, STEP)
            if self.shake:
                pts += tremor(len(pts), self.shake, rng)
            out.append([(float(x), float(y)) for x, y in np.clip(pts, 1, CANVAS - 2)])
        return out


def resample(pts: np.ndarray, step: float) -> np.ndarray:
    """Points evenly spaced ``step`` apart along the polyline, like mouse events on a drag."""
    seg = np.hypot(*np.diff(pts, axis=0).T)
    dist = np.concatenate([[0], np.cumsum(seg)])
    if dist[-1] == 0:
        return pts[:1]
    at = np.linspace(0, dist[-1], max(2, int(math.ceil(dist[-1] / step)) + 1))
    return np.column_stack([np.interp(at, dist, pts[:, 0]), np.interp(at, dist, pts[:, 1])])


def tremor(n: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random wobble (n, 2): white noise low-passed over ~6 points."""
    noise = rng.standard_normal((n + 12, 2))
    kernel = np.hanning(9)
    smooth = np.column_stack([np.convolve(noise[:, i], kernel, "same") for i in (0, 1)])[6:-6]
    return smooth / (smooth.std() + 1e-9) * amplitude


PLACEMENTS = [
    Placement("medium, centred", 170),
    Placement("large", 235),
    Placement("tiny, top-left corner", 62, centre=(42, 44)),
    Placement("small, bottom-right", 90, centre=(215, 205)),
    Placement("off-centre", 130, centre=(95, 175)),
    Placement("slanted", 170, shear=0.35),
    Placement("rotated +15", 165, rotate=15),
    Placement("rotated -15", 165, rotate=-15),
    Placement("squeezed narrow", 185, squeeze=0.5),
    Placement("shaky hand", 160, centre=(150, 130), shake=2.5),
]


@dataclass(frozen=True)
class Digit:
    label: int
    style: str
    placement: str
    strokes: list[Stroke]  # canvas pixels

    @property
    def name(self) -> str:
        return f"{self.label} ({self.style}; {self.placement})"


def digits(placements: list[Placement] = PLACEMENTS, seed: int = 6) -> list[Digit]:
    """Every style in every placement (same seed, same tremor)."""
    rng = np.random.default_rng(seed)
    return [Digit(label, style, place.name, place.apply(strokes, rng))
            for place in placements for label, style, strokes in STYLES]


def browser_subset() -> list[Digit]:
    """Every style, each in two placements chosen round-robin, so every placement is used too."""
    every = {(d.style, d.label, d.placement): d for d in digits()}
    chosen = []
    for i, (label, style, _) in enumerate(STYLES):
        for k in (i, i + 5):
            chosen.append(every[(style, label, PLACEMENTS[k % len(PLACEMENTS)].name)])
    return chosen


# --- rasterising like the canvas --------------------------------------------------------------

def rasterise(strokes: list[Stroke], width: float = STROKE_WIDTH, size: int = CANVAS,
              supersample: int = 4) -> np.ndarray:
    """(size, size, 4) uint8 RGBA: white round-capped, round-joined strokes on opaque black."""
    s = supersample
    image = Image.new("L", (size * s, size * s), 0)
    draw = ImageDraw.Draw(image)
    radius = width * s / 2
    for stroke in strokes:
        pts = [(x * s, y * s) for x, y in stroke]
        for a, b in zip(pts, pts[1:]):
            draw.line([a, b], fill=255, width=round(width * s))
        for x, y in pts:  # round caps and joins: a disc at every point
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    gray = np.asarray(image.resize((size, size), Image.Resampling.BOX))
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])

