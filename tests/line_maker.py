"""Lines of handwriting as a user draws them on the pad: real characters (UNIPEN tablet
characters, EMNIST test images) redrawn along their centre line with a round pen of a chosen
width, set on a baseline separated, touching (boxes overlapping 4–12 % of a character's
width, ink joined) or with every character broken into strokes. Tests and benchmarks use them.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


def _shared_data() -> Path:
    """`../shared/data` next to the checkout (or next to the folder of worktrees it is in)."""
    root = Path(__file__).resolve().parent.parent
    for folder in (root.parent, root.parent.parent):
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return root.parent / "shared" / "data"


SHARED_DATA = _shared_data()
REALHAND = SHARED_DATA / "realhand" / "unipen_r01v07"


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning: the one-pixel centre line of a binary shape."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = image
            n = [np.roll(np.roll(p, dy, 0), dx, 1) for dy, dx in ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))]
            p2, p3, p4, p5, p6, p7, p8, p9 = n  # neighbours N, NE, E, SE, S, SW, W, NW
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            count = sum(ring[i].astype(np.int16) for i in range(8))
            transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.int16) for i in range(8))
            if step == 0:
                condition = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                condition = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (p == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & condition
            if remove.any():
                image = np.where(remove, 0, image).astype(np.uint8)
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def centre_line(glyph: np.ndarray, white_ink: bool) -> np.ndarray:
    """A character image (any size, 8-bit) → the centre line of its ink at 128 px."""
    ink = glyph.astype(np.float32) / 255
    if not white_ink:
        ink = 1 - ink
    ink = cv2.resize(ink, (128, 128), interpolation=cv2.INTER_CUBIC)
    return thin(ink > 0.5)


def redraw(skeleton: np.ndarray, height: float, pen: float, rng: np.random.Generator, broken: bool = False,
           gap: float = 0.03) -> np.ndarray:
    """The centre line drawn `height` px tall (width follows) with a round pen `pen` px wide,
    white ink on black float32. `broken`: the pen lifts at every junction (or, with none, at
    one random place), leaving gaps of about 2 × `gap` of the height between the strokes."""
    ys, xs = np.nonzero(skeleton)
    if len(ys) < 2:
        raise ValueError("no centre line")
    y0, x0 = ys.min(), xs.min()
    span = max(1, ys.max() - y0)
    scale = height / span
    points = np.stack([ys - y0, xs - x0], 1)
    keep = np.ones(len(points), bool)
    if broken:
        junctions = _junctions(skeleton[y0 : ys.max() + 1, x0 : xs.max() + 1], 0.2 * span)
        if not len(junctions):
            junctions = points[[rng.integers(len(points))]]
        radius = (pen / 2 + gap * height) / scale + 1.0
        for junction in junctions:
            keep &= np.hypot(*(points - junction).T) > radius
        if keep.sum() < 2:
            keep[:] = True
    width = int(np.ceil((xs.max() - x0) * scale + pen + 4))
    rows = int(np.ceil(height + pen + 4))
    canvas = np.zeros((rows, width), np.uint8)
    index = {(int(y), int(x)): i for i, (y, x) in enumerate(points) if keep[i]}
    shift = 4
    factor = 1 << shift
    thickness = max(1, int(round(pen)))

    def place(y, x):
        return int(round((x * scale + pen / 2 + 2) * factor)), int(round((y * scale + pen / 2 + 2) * factor))

    for y, x in index:
        cv2.circle(canvas, place(y, x), int(round(pen / 2 * factor)), 255, -1, cv2.LINE_AA, shift)
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
            if (y + dy, x + dx) in index:
                cv2.line(canvas, place(y, x), place(y + dy, x + dx), 255, thickness, cv2.LINE_AA, shift)
    return canvas.astype(np.float32) / 255


def _junctions(skeleton: np.ndarray, apart: float) -> np.ndarray:
    """Where three or more strokes of a centre line meet (three or more 0→1 steps round the
    pixel), at most one within `apart` pixels, at most three."""
    grid = np.pad(skeleton.astype(np.int16), 1)
    ring = [grid[0:-2, 1:-1], grid[0:-2, 2:], grid[1:-1, 2:], grid[2:, 2:], grid[2:, 1:-1], grid[2:, 0:-2], grid[1:-1, 0:-2], grid[0:-2, 0:-2]]
    steps = sum((ring[i] == 0) & (ring[(i + 1) % 8] == 1) for i in range(8))
    found = []
    for point in np.argwhere(skeleton & (steps >= 3)):
        if all(np.hypot(*(point - other)) > apart for other in found):
            found.append(point)
    return np.array(found[:3]).reshape(-1, 2)


@dataclass(frozen=True)
class Glyph:
    label: str
    skeleton: np.ndarray
    source: str  # writer or EMNIST index


def realhand_glyphs(classes: str, part: str = "eval") -> list[Glyph]:
    """UNIPEN characters of `classes`, from the writers of one half ("dev" or "eval", by a hash
    of the writer id), or "unseen": the eval writers that the shipped character models never
    trained on either (`robustness.held_out_writer`, 43 of the 160); empty when the data is not there."""
    from lenet_core.robustness import held_out_writer

    if part not in ("dev", "eval", "unseen"):
        raise ValueError(f"part must be 'dev', 'eval' or 'unseen', not {part!r}")
    table = REALHAND / "labels.csv"
    if not table.exists():
        return []
    with open(table, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["label_char"] in classes]
    half = np.array(["dev" if zlib.crc32(row["writer"].encode()) % 2 == 0 else "eval" for row in rows])
    if part == "unseen":
        wanted = (half == "eval") & held_out_writer(np.array([row["writer"] for row in rows]))
    else:
        wanted = half == part
    glyphs = []
    for row in (row for row, keep in zip(rows, wanted) if keep):
        image = cv2.imread(str(REALHAND / row["path"]), cv2.IMREAD_GRAYSCALE)
        if image is not None:
            glyphs.append(Glyph(row["label_char"], centre_line(image, white_ink=False), row["writer"]))
    return glyphs


def emnist_glyphs(dataset, classes: str, count: int, rng: np.random.Generator) -> list[Glyph]:
    """`count` EMNIST images of `classes` (use a test split) as centre lines."""
    wanted = [dataset.classes.index(c) for c in classes if c in dataset.classes]
    pool = np.flatnonzero(np.isin(dataset.labels, wanted))
    chosen = rng.choice(pool, min(count, len(pool)), replace=False)
    return [Glyph(dataset.classes[dataset.labels[i]], centre_line(dataset.images[i], white_ink=True), f"emnist{i}") for i in chosen]


def pick_line(glyphs: Sequence[Glyph], length: int, rng: np.random.Generator) -> list[Glyph]:
    """`length` glyphs, each from a different writer."""
    chosen, writers = [], set()
    for index in rng.permutation(len(glyphs)):
        glyph = glyphs[index]
        if glyph.source in writers:
            continue
        chosen.append(glyph)
        writers.add(glyph.source)
        if len(chosen) == length:
            break
    return chosen


def draw_line(glyphs: Sequence[Glyph], layout: str, rng: np.random.Generator, height: float | None = None,
              pen: float | None = None, word_breaks: Sequence[int] = (), spans: list | None = None,
              gap: float = 0.03) -> tuple[np.ndarray, str]:
    """Dark ink on white paper (uint8 gray) of the glyphs on a baseline, and its text.

    `layout`: "separated" (gaps of 10–40 % of the height), "touching" (boxes overlapping 4–12 % of
    the narrower character's width, moved closer where needed until the ink joins) or "broken"
    (separated, every character in pieces, `gap` as in `redraw`). A glyph index in `word_breaks` starts a new word.
    `spans`, when given, receives each character's ink columns (x0, x1) and line height.
    """
    height = float(height if height is not None else rng.uniform(90, 160))
    pen = float(pen if pen is not None else height * rng.choice([0.05, 0.08, 0.12]))
    pieces = []
    for glyph in glyphs:
        size = height * rng.uniform(0.9, 1.05)
        piece = redraw(glyph.skeleton, size, pen, rng, broken=layout == "broken", gap=gap)
        if piece.shape[1] > 1.5 * height + pen:  # very wide writing: keep the line's proportions
            piece = cv2.resize(piece, (int(1.5 * height + pen), piece.shape[0]), interpolation=cv2.INTER_AREA)
        pieces.append(piece)
    margin = int(0.4 * height)
    total_width = sum(p.shape[1] for p in pieces) + int(len(pieces) * 0.5 * height) + 2 * margin + int(len(word_breaks) * height)
    canvas = np.zeros((int(height * 1.3 + pen) + 2 * margin, total_width), np.float32)
    baseline = margin + int(height * 1.15)
    x = margin
    previous = None  # (x, piece) of the glyph before
    for index, piece in enumerate(pieces):
        rows, width = piece.shape
        top = int(baseline - rows + rng.normal(0, 0.03 * height))
        top = int(np.clip(top, 0, canvas.shape[0] - rows))
        if previous is not None:
            px, ptop, ppiece = previous
            if index in word_breaks:
                x = px + ppiece.shape[1] + int(height * rng.uniform(0.9, 1.2))
            elif layout == "touching":
                overlap = rng.uniform(0.04, 0.12) * min(width, ppiece.shape[1])
                x = int(px + _ink_right(ppiece) - _ink_left(piece) - overlap)
                for _ in range(int(0.3 * width)):
                    if _joined(canvas, piece, x, top):
                        break
                    x -= 1
            else:
                x = int(px + _ink_right(ppiece) - _ink_left(piece) + rng.uniform(0.1, 0.4) * height)
        canvas[top : top + rows, x : x + width] = np.maximum(canvas[top : top + rows, x : x + width], piece)
        previous = (x, top, piece)
        if spans is not None:
            spans.append((x + _ink_left(piece), x + _ink_right(piece), height))
    used = np.flatnonzero(canvas.max(axis=0) > 0)
    canvas = canvas[:, : used[-1] + margin]
    text = "".join(g.label for g in glyphs)
    for index in sorted(word_breaks, reverse=True):
        text = text[:index] + " " + text[index:]
    return np.round(255 * (1 - canvas)).astype(np.uint8), text


def whole_overlap(made, candidate, spans) -> float:
    """How well a reader candidate (`reader.draft(...)`'s, in cleaned-image pixels) covers a drawn
    character: the best overlap of its columns with one of `spans` (from `draw_line`), as a share
    of their union. The reader's whole-character model calls ≥ 0.75 whole."""
    scale = made.part_shape[1] / made.cleaned_shape[1]
    x0, x1 = candidate.box[0] * scale, (candidate.box[0] + candidate.box[2]) * scale
    return max((min(x1, b) - max(x0, a)) / (max(x1, b) - min(x0, a)) for a, b, _ in spans)


def _ink_left(piece: np.ndarray) -> int:
    return int(np.flatnonzero(piece.max(axis=0) > 0.5)[0])


def _ink_right(piece: np.ndarray) -> int:
    return int(np.flatnonzero(piece.max(axis=0) > 0.5)[-1]) + 1


def _joined(canvas: np.ndarray, piece: np.ndarray, x: int, top: int) -> bool:
    """Whether the piece put at (x, top) would touch ink already on the canvas."""
    rows, width = piece.shape
    if x < 0:
        return True
    here = canvas[top : top + rows, x : x + width] > 0.5
    grown = cv2.dilate((piece[:, : here.shape[1]] > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return bool((here & grown).any())
