"""Made-up photos of real handwriting: EMNIST characters laid out in a line, then "photographed"
as dark ink on paper with uneven light, texture, noise, blur, a slight rotation and optionally
ruled lines. Tests and benchmarks use these so every claim about photos is checkable.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def ink_crop(glyph: np.ndarray) -> np.ndarray:
    """An EMNIST character (white on black, 28×28) cropped to its ink."""
    rows = np.flatnonzero((glyph > 40).any(axis=1))
    cols = np.flatnonzero((glyph > 40).any(axis=0))
    return glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def handwriting_line(glyphs: Sequence[np.ndarray], height: int = 96, gap: float = 0.35, margin: float = 0.6,
                     rng: np.random.Generator | None = None, word_breaks: Sequence[int] = ()) -> np.ndarray:
    """White-on-black ink (float32 in [0, 1]) of the glyphs side by side, left to right.

    `height` is the size of a 28-pixel EMNIST cell; `gap` the space between characters in cells;
    a glyph index in `word_breaks` gets a word-sized space before it.
    """
    rng = rng or np.random.default_rng(0)
    scale = height / 28
    pieces = [cv2.resize(ink_crop(glyph), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) for glyph in glyphs]
    space, edge = int(gap * height), int(margin * height)
    width = 2 * edge + sum(piece.shape[1] for piece in pieces) + space * (len(pieces) - 1) + len(word_breaks) * height
    canvas = np.zeros((height + 2 * edge, width), np.float32)
    x = edge
    for index, piece in enumerate(pieces):
        if index in word_breaks:
            x += height
        h, w = piece.shape
        top = edge + (height - h) // 2 + int(rng.normal(0, 0.04) * height)
        top = int(np.clip(top, 0, canvas.shape[0] - h))
        canvas[top : top + h, x : x + w] = np.maximum(canvas[top : top + h, x : x + w], piece.astype(np.float32) / 255)
        x += w + space
    return np.clip(canvas, 0, 1)


def stack_lines(lines: Sequence[np.ndarray], spacing: float = 0.3) -> np.ndarray:
    """Several `handwriting_line` images one above the other, left aligned."""
    width = max(line.shape[1] for line in lines)
    gap = int(spacing * lines[0].shape[0])
    rows = []
    for line in lines:
        rows.append(np.pad(line, ((0, gap), (0, width - line.shape[1]))))
    return np.vstack(rows)[:-gap] if gap else np.vstack(rows)


def photograph(ink: np.ndarray, rng: np.random.Generator | None = None, *, rotate: float = 3.0, light: tuple[float, float] = (0.5, 0.95),
               noise: float = 0.03, texture: float = 0.05, blur: float = 0.8, ink_darkness: float = 0.75,
               ruled: str | None = None, rule_spacing: int | None = None, colour: bool = True) -> np.ndarray:
    """Dark ink on light paper as a phone would see it (uint8 RGB, or gray with `colour=False`)."""
    rng = rng or np.random.default_rng(0)
    height, width = ink.shape
    if rotate:
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), float(rng.uniform(-rotate, rotate)), 1.0)
        ink = cv2.warpAffine(ink, turn, (width, height), flags=cv2.INTER_LINEAR, borderValue=0)
    # Light falls off from one side and towards the corners (a shadow, a desk lamp).
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    vignette = 1 - 0.25 * (((xx - width / 2) / width) ** 2 + ((yy - height / 2) / height) ** 2)
    paper = (light[0] + (light[1] - light[0]) * ramp) * vignette
    if texture:
        grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 3)
        paper += texture * grain / max(float(grain.std()), 1e-6) * 0.5
    if ruled:
        spacing = rule_spacing or max(20, height // 6)
        rules = np.zeros((height, width), np.float32)
        for y in range(spacing // 2, height, spacing):
            cv2.line(rules, (0, y), (width - 1, y), 1.0, 2)
        if ruled == "squared":
            for x in range(spacing // 2, width, spacing):
                cv2.line(rules, (x, 0), (x, height - 1), 1.0, 2)
        paper *= 1 - 0.25 * rules
    gray = paper * (1 - ink_darkness * ink)
    if blur:
        gray = cv2.GaussianBlur(gray, (0, 0), blur)
    gray = gray + rng.normal(0, noise, gray.shape).astype(np.float32)
    if not colour:
        return np.clip(gray * 255, 0, 255).astype(np.uint8)
    tint = np.array([1.0, 0.97, 0.9], np.float32)  # warm indoor light
    rgb = gray[..., None] * tint
    return np.clip(rgb * 255, 0, 255).astype(np.uint8)


def pick(dataset, count: int, rng: np.random.Generator, classes: str | None = None) -> tuple[list[np.ndarray], str]:
    """`count` random characters of a data set (only from `classes` when given) and their labels."""
    allowed = np.arange(len(dataset))
    if classes is not None:
        wanted = [dataset.classes.index(char) for char in classes]
        allowed = allowed[np.isin(dataset.labels, wanted)]
    chosen = rng.choice(allowed, count, replace=False)
    return [dataset.images[i] for i in chosen], "".join(dataset.classes[dataset.labels[i]] for i in chosen)
