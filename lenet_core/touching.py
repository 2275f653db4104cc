"""Training images as the reader cuts them out of touching handwriting.

When neighbours touch, the reader (`lenet_core.reader`) cuts their joined ink with seams; the
piece it hands the network is the character plus slivers of its neighbours, minus what the seam
took. A network trained only on clean, isolated characters misreads those pieces (a 0 with the
tail of a 2 becomes a Q). `touching_crops` makes such pieces from training images: it writes an
image between one or two neighbours so that their ink joins, runs the reader's own
over-segmentation on that little line, and keeps the candidate that covers the middle character
best, through the same pipeline as a read (one code path: what trains is what is read).
"""

from __future__ import annotations

import numpy as np

SCALE = 4  # 28×28 images are written 112 px tall, as on the pad
MIN_OVERLAP = 0.7  # a candidate must cover the character's columns this well (intersection over union)


def _glyph(image: np.ndarray) -> np.ndarray:
    """One 28×28 image (ink bright, uint8) → ink in [0, 1] at SCALE, cut to its ink columns."""
    import cv2

    big = cv2.resize(image.astype(np.float32) / 255.0, (28 * SCALE, 28 * SCALE), interpolation=cv2.INTER_LINEAR)
    columns = np.flatnonzero(big.max(axis=0) > 0.5)
    if not len(columns):
        return big[:, :0]
    return big[:, columns[0] : columns[-1] + 1]


def _place(canvas: np.ndarray, piece: np.ndarray, x: int, top: int) -> None:
    view = canvas[top : top + piece.shape[0], x : x + piece.shape[1]]
    np.maximum(view, piece[: view.shape[0], : view.shape[1]], out=view)


def _joined(canvas: np.ndarray, piece: np.ndarray, x: int, top: int) -> bool:
    view = canvas[top : top + piece.shape[0], x : x + piece.shape[1]]
    return bool(((view > 0.5) & (piece[: view.shape[0], : view.shape[1]] > 0.5)).any())


def touching_line(pieces: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Glyphs (ink in [0, 1]) written left to right, each overlapping the one before by 4–15 % of
    the narrower one's width and moved closer until their ink joins; dark on white uint8, and
    each glyph's ink columns."""
    height = max(p.shape[0] for p in pieces)
    margin = 12
    canvas = np.zeros((height + 2 * margin + 8, sum(p.shape[1] for p in pieces) + 2 * margin), np.float32)
    spans: list[tuple[int, int]] = []
    x = margin
    for index, piece in enumerate(pieces):
        top = int(np.clip(margin + rng.normal(0, 0.03 * height), 0, canvas.shape[0] - piece.shape[0]))
        if index:
            previous_right = spans[-1][1]
            x = int(previous_right - rng.uniform(0.04, 0.15) * min(piece.shape[1], spans[-1][1] - spans[-1][0]))
            for _ in range(int(0.3 * piece.shape[1])):
                if _joined(canvas, piece, x, top):
                    break
                x -= 1
            x = max(x, 0)
        _place(canvas, piece, x, top)
        spans.append((x, x + piece.shape[1]))
    used = np.flatnonzero(canvas.max(axis=0) > 0)
    canvas = canvas[:, : used[-1] + margin] if len(used) else canvas
    return np.round(255 * (1 - np.clip(canvas, 0, 1))).astype(np.uint8), spans


def cut_out(image: np.ndarray, span: tuple[int, int], options=None) -> np.ndarray | None:
    """The reader's best candidate for the character at columns `span` of a one-line image, as
    the 28×28 input the network would get (float in [0, 1]); None when no candidate covers it
    by MIN_OVERLAP."""
    from lenet_core import preprocess, reader

    options = preprocess.PHOTO if options is None else options
    cleaned = preprocess.prepare(image, options)[-1].image
    graphs, _ = reader.line_graphs(cleaned)  # as reader.draft finds and over-segments lines
    if not graphs:
        return None
    graph = max(graphs, key=lambda g: len(g.atoms))
    scale = image.shape[1] / cleaned.shape[1]
    best, best_overlap = None, MIN_OVERLAP
    for candidate in reader.candidates(graph):
        x0, x1 = candidate.box[0] * scale, (candidate.box[0] + candidate.box[2]) * scale
        overlap = (min(x1, span[1]) - max(x0, span[0])) / (max(x1, span[1]) - min(x0, span[0]))
        if overlap >= best_overlap:
            best, best_overlap = candidate, overlap
    if best is None:
        return None
    _, result, _ = preprocess.character(best.ink, options)
    return result


def touching_crops(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0, pens: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Up to `count` training inputs (uint8 28×28, ink bright) of characters cut out of touching
    neighbours as the reader cuts them, and their labels. Each takes a random image of `images`
    with a random neighbour on its left, its right or both; with `pens`, half of the little lines
    are written with the images redrawn by a random round pen (augment.pen_copies), as tablets
    and mice write. A line whose middle character no candidate covers is skipped."""
    from lenet_core.augment import pen_copies

    rng = np.random.default_rng(seed)
    lines = int(count * 1.2) + 8  # about one in ten has no candidate close enough
    middles = rng.integers(len(images), size=lines)
    sides = rng.integers(3, size=lines)  # 0: a neighbour on the left, 1: on the right, 2: both
    neighbours = rng.integers(len(images), size=(lines, 2))
    redraw = rng.random(lines) < 0.5 if pens else np.zeros(lines, bool)
    orders = []
    for middle, side, (left, right) in zip(middles, sides, neighbours):
        orders.append(([int(left)] if side != 1 else []) + [int(middle)] + ([int(right)] if side != 0 else []))
    wanted = sorted({i for order, pen in zip(orders, redraw) if pen for i in order})
    redrawn = dict(zip(wanted, pen_copies(images[wanted], seed=seed + 1))) if wanted else {}
    crops, kept = [], []
    for order, side, pen, middle in zip(orders, sides, redraw, middles):
        if len(crops) >= count:
            break
        pieces = [_glyph(redrawn[i] if pen else images[i]) for i in order]
        if any(p.shape[1] < 2 for p in pieces):
            continue
        image, spans = touching_line(pieces, rng)
        result = cut_out(image, spans[0 if side == 1 else 1])
        if result is not None:
            crops.append(np.round(result * 255).astype(np.uint8))
            kept.append(int(labels[middle]))
    if not crops:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack(crops), np.asarray(kept, np.int64)
