"""Reading lines by recognition, as in LeCun et al. 1998 ("heuristic over-segmentation" and
"recognition-based segmentation"): propose more cuts than needed, let the network score every
candidate character, and take the best path through the graph of cuts.

Stages, each a pure function: `over_segment` (a line's ink → atoms: the pieces between candidate
cuts, where a cut is a seam through touching ink or a gap between blobs), `candidates` (runs
of up to MAX_ATOMS neighbouring atoms: one character drawn in several strokes is a merge, two
touching ones a cut), `edge_scores` (the network's log-probability plus a shape term per
candidate and class), `best_paths` (N-best Viterbi over the cut positions) and `context_prior`
(look-alikes follow their word's neighbours). `read_lines` runs them for every line of an image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lenet_core import charset as charsets
from lenet_core import preprocess, segment, wholeness
from lenet_core.preprocess import PipelineOptions, PipelineResult, Stage

Box = segment.Box

MAX_ATOMS = 5  # a candidate character is at most this many neighbouring atoms
MAX_WIDTH = 1.8  # ...and no wider than this many line heights (W, M and their neighbours)
CUT_MIN_WIDTH = 0.45  # a blob at least this many line heights wide may hold touching characters
CUT_SPACING = 0.08  # candidate cuts at least this many line heights apart
PLATEAU = 0.2  # runs of thin ink at least this many line heights long get cuts too (0: none)
PLATEAU_INK = 1.5  # ...thin: at most this many stroke widths of ink in a column
SEAM_REACH = 0.12  # a seam may wander this many line heights left or right of its column
N_BEST = 4  # paths kept per node: the second-best reading comes from them
CLASSES_PER_EDGE = 3  # each candidate enters the graph as its best few classes


@dataclass(frozen=True)
class Weights:
    """The search's scoring, in nats (log-probability units). Measured on the dev writers of
    benchmarks/reading_lines.py (the benchmark's numbers are on the other writers)."""

    character: float = 3.5  # bonus per character: without it, paths with fewer characters win (2.0 before the whole-character network)
    seam: float = 0.0  # cost of cutting through touching ink, per stroke crossed
    close_split: float = 4.0  # cost of a boundary between separate pieces closer than `close_gap`
    close_gap: float = 0.12  # (line heights) pieces this close (or overlapping) are likely one character
    merged_gap: float = 10.0  # cost per line height of gap inside one candidate character
    low: float = 3.0  # cost of a candidate much lower than the line (a bar, a tick, a fragment)
    wide: float = 10.0  # cost of a candidate far wider than its class usually is
    whole: float = 1.0  # weight of log P(one whole character) from CHARACTER_MODEL
    narrow_cut: float = 4.0  # cost per line height by which a cut blob is narrower than `narrow_width`
    narrow_width: float = 2.0
    wide_factor: float = 1.0  # a candidate wider than this × its class's usual width/height costs `wide`·log²
    # A line whose blobs all look like single characters (none wider than `clean_width` line
    # heights, none lower than `clean_height`...) is read one blob, one character, unless the best
    # path through cuts and merges beats that reading by more than `components_margin` nats.
    # Measured on the dev writers (separated lines: count right 97 → 100 %, touching and broken
    # unchanged); it keeps the separated lines as the connected-components reader reads them.
    clean_width: float = 1.5
    clean_height: float = 0.55
    clean_gap: float = 0.0  # ...and no two blobs closer than this many line heights (< 0: overlapping)
    clean_blobs: int = 3  # ...and at least this many blobs (one or two wide blobs may be touching pairs)
    components_margin: float = 4.0


WEIGHTS = Weights()

# Median ink width/height per class, measured on 40,000 EMNIST balancedx training images
# (benchmarks/reading_lines.py --aspects re-measures it); the shape term's expectation.
ASPECT = {
    "0": 0.91, "1": 0.42, "2": 1.0, "3": 0.82, "4": 0.82, "5": 1.0, "6": 0.75, "7": 0.75, "8": 0.77, "9": 0.67,
    "A": 0.95, "B": 0.87, "C": 1.0, "D": 0.92, "E": 1.0, "F": 0.83, "G": 0.92, "H": 0.91, "I": 0.45, "J": 0.85,
    "K": 0.87, "L": 0.5, "M": 1.5, "N": 1.1, "O": 1.0, "P": 0.75, "Q": 0.92, "R": 0.92, "S": 0.91, "T": 1.09,
    "U": 1.0, "V": 0.91, "W": 1.29, "X": 0.91, "Y": 0.71, "Z": 1.14, "a": 1.16, "b": 0.67, "d": 0.75, "e": 1.05,
    "f": 0.75, "g": 0.73, "h": 0.67, "n": 1.05, "q": 0.73, "r": 1.0, "t": 0.77,
}


# --- over-segmentation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    """A piece of ink between two candidate cuts; `ink` is its own ink inside `box`."""

    box: Box  # x, y, w, h in the cleaned image
    ink: np.ndarray
    blob: int  # which blob (connected ink, joined as `segment` joins it) it came from


@dataclass(frozen=True)
class Boundary:
    """Between two neighbouring atoms: a seam through ink (strokes > 0 crossed) or a gap."""

    kind: str  # "seam" or "gap"
    strokes: float = 0.0  # seams: how many stroke widths of ink the cut goes through
    gap: float = 0.0  # gaps: empty columns between the atoms, in line heights (< 0: they overlap)
    seam: np.ndarray | None = None  # seams: x of the cut for each row y0..y0+len-1 of the cleaned image
    y0: int = 0
    blob_width: float = 0.0  # seams: the width of the blob it cuts, in line heights

    @property
    def word_break(self) -> bool:
        return self.kind == "gap" and self.gap > segment.WORD_GAP


@dataclass(frozen=True)
class LineGraph:
    """One line's atoms left to right and the boundaries between them (len(atoms) - 1)."""

    atoms: tuple[Atom, ...]
    boundaries: tuple[Boundary, ...]
    height: float  # the line's typical character height, in cleaned pixels


def over_segment(cleaned: np.ndarray, labels: np.ndarray, blobs: Sequence[tuple[Box, list[int]]], height: float) -> LineGraph:
    """A line's blobs (boxes and component labels, as `segment.character_boxes` finds them) cut
    into atoms: every blob wide enough to hold two characters gets seams at the valleys of its
    ink profile and the dips of its upper and lower contours."""
    pieces: list[tuple[Atom, list[float], list[np.ndarray | None]]] = []
    for number, (box, members) in enumerate(blobs):
        ink = segment._own_ink(cleaned, labels, box, members)
        atoms, strokes, seams = _cut_blob(ink, box, number, height)
        pieces.append((atoms, strokes, seams))
    entries = []  # (centre x, atom, (blob, index within blob))
    for atoms, _, _ in pieces:
        for index, atom in enumerate(atoms):
            x, _, w, _ = atom.box
            entries.append((x + w / 2, atom, (atom.blob, index)))
    entries.sort(key=lambda entry: entry[0])
    atoms = tuple(entry[1] for entry in entries)
    boundaries = []
    right = -np.inf
    for k in range(1, len(entries)):
        previous, current = entries[k - 1], entries[k]
        right = max(right, previous[1].box[0] + previous[1].box[2])
        same_blob = previous[2][0] == current[2][0] and current[2][1] == previous[2][1] + 1
        if same_blob:
            _, strokes, seams = pieces[current[2][0]]
            seam = seams[previous[2][1]]
            boundaries.append(Boundary("seam", strokes=strokes[previous[2][1]], seam=seam,
                                       y0=blobs[current[2][0]][0][1], blob_width=blobs[current[2][0]][0][2] / height))
        else:
            boundaries.append(Boundary("gap", gap=float(current[1].box[0] - right) / height))
    return LineGraph(atoms, tuple(boundaries), height)


def _cut_blob(ink: np.ndarray, box: Box, number: int, height: float) -> tuple[list[Atom], list[float], list[np.ndarray]]:
    """One blob → its atoms left to right, the strokes each seam crosses, and the seams."""
    x0, y0, width, rows = box
    mask = ink >= preprocess.INK_LEVEL * 0.5
    whole = [Atom(box, ink, number)]
    if width < CUT_MIN_WIDTH * height or rows < 4:
        return whole, [], []
    stroke = max(1.0, preprocess.stroke_width(mask.astype(np.float32)))
    columns = _cut_columns(mask, height, stroke)
    if not columns:
        return whole, [], []
    seams = _seams(mask, columns, max(2, int(SEAM_REACH * height)))
    while True:
        grid = np.arange(width)[None, :]
        part = np.zeros(mask.shape, np.int16)
        for seam in seams:
            part += grid >= seam[:, None]
        counts = np.bincount(part[mask].ravel(), minlength=len(seams) + 1)
        small = np.flatnonzero(counts < max(4.0, 1.5 * stroke * stroke))
        if not len(small) or not seams:
            break
        drop = min(int(small[0]), len(seams) - 1)  # a sliver: its cut (the one to its right, or the last) goes
        seams.pop(drop)
    if not seams:
        return whole, [], []
    atoms, strokes = [], []
    for index in range(len(seams) + 1):
        own = mask & (part == index)
        ys, xs = np.nonzero(own)
        ax0, ax1, ay0, ay1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
        piece = np.where(own, ink, 0.0)[ay0:ay1, ax0:ax1].astype(np.float32)
        atoms.append(Atom((x0 + ax0, y0 + ay0, ax1 - ax0, ay1 - ay0), piece, number))
    for seam in seams:
        crossed = mask[np.arange(rows), np.clip(seam, 0, width - 1)].sum()
        strokes.append(float(crossed) / stroke)
    return atoms, strokes, [seam + x0 for seam in seams]


def _cut_columns(mask: np.ndarray, height: float, stroke: float) -> list[int]:
    """Where a cut might go: valleys of the vertical ink profile, and the places where the upper
    contour dips down or the lower one rises (two characters meeting). A valley must be deep:
    lower than the highest point within two CUT_SPACINGs on each side by half a stroke (profile)
    or a tenth of the height (contours). Cuts are at least CUT_SPACING apart."""
    rows, width = mask.shape
    margin = max(2, int(min(0.06 * height, 0.25 * width)))
    if width - 2 * margin < 1:
        return []
    profile = np.convolve(mask.sum(axis=0).astype(np.float32), np.ones(3, np.float32) / 3, mode="same")
    has_ink = mask.any(axis=0)
    top = np.where(has_ink, mask.argmax(axis=0), rows).astype(np.float32)
    bottom = np.where(has_ink, rows - 1 - mask[::-1].argmax(axis=0), -1).astype(np.float32)
    window = max(2, int(CUT_SPACING * height))
    found: dict[int, float] = {}
    for signal, depth in ((profile, max(1.0, 0.3 * stroke)), (-top, 0.08 * height), (bottom, 0.08 * height)):
        padded = np.pad(signal, 2 * window, mode="edge")
        lowest = np.lib.stride_tricks.sliding_window_view(padded[window:-window], 2 * window + 1).min(axis=1)
        left = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1).max(axis=1)[: width]  # x-2w .. x
        right = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1).max(axis=1)[2 * window :]  # x .. x+2w
        deep = np.minimum(left, right) - signal
        for x in np.flatnonzero((signal <= lowest + 1e-6) & (deep >= depth)):
            if margin <= x < width - margin:
                found[int(x)] = min(found.get(int(x), np.inf), float(profile[x]))
    reach = max(2, int(0.25 * height))
    if PLATEAU > 0:  # a long run of single-stroke columns (L's foot into the next letter): its ends and middle
        thin = np.concatenate([[False], profile <= PLATEAU_INK * stroke, [False]])
        edges = np.flatnonzero(np.diff(thin.astype(np.int8)))
        inset = max(1, int(round(stroke)))
        tall = max(3 * stroke, 0.3 * height)
        for start, end in zip(edges[::2], edges[1::2]):
            beside = profile[max(0, start - reach) : start], profile[end : end + reach]
            if end - start >= PLATEAU * height and all(len(b) and b.max() >= tall for b in beside):  # joining two masses of ink
                for x in (start + inset, (start + end) // 2, end - 1 - inset):
                    if margin <= x < width - margin:
                        found[int(x)] = min(found.get(int(x), np.inf), float(profile[x]))
    if not found:
        return []
    chosen: list[int] = []
    for x in sorted(found, key=lambda x: (found[x], x)):  # the lowest profile first
        if all(abs(x - other) >= window for other in chosen):
            chosen.append(x)
    limit = max(1, int(width / (CUT_SPACING * height * 1.5)))
    return sorted(chosen[:limit])


def _seams(mask: np.ndarray, columns: list[int], reach: int) -> list[np.ndarray]:
    """For each column, the top-to-bottom path (one x per row, moving at most one column a row,
    within `reach` of the column) through the least ink: a cut that goes round a neighbour's
    overhang. All seams of a blob run together; later ones never cross earlier ones."""
    rows, width = mask.shape
    offsets = np.arange(-reach, reach + 1)
    xs = np.array(columns)[:, None] + offsets[None, :]  # S × window
    inside = (xs >= 0) & (xs < width)
    ink = mask[:, np.clip(xs, 0, width - 1)].astype(np.float32)  # rows × S × window
    cost = ink + 0.02 * np.abs(offsets)[None, None, :] / reach + np.where(inside, 0.0, np.inf)[None]
    total = cost[0].copy()
    back = np.zeros(cost.shape, np.int8)
    infinity = np.full((len(columns), 1), np.inf, np.float32)
    for y in range(1, rows):
        options = np.stack([np.concatenate([infinity, total[:, :-1]], 1), total, np.concatenate([total[:, 1:], infinity], 1)])
        step = options.argmin(axis=0)
        total = cost[y] + np.take_along_axis(options, step[None], 0)[0]
        back[y] = step - 1
    position = total.argmin(axis=1)
    paths = np.empty((len(columns), rows), np.int64)
    for y in range(rows - 1, -1, -1):  # back[y] is the column step from row y-1 to row y
        paths[:, y] = position
        position = np.clip(position + back[y, np.arange(len(columns)), position], 0, 2 * reach)
    kept: list[np.ndarray] = []
    for index in np.argsort(paths.mean(axis=1) + xs[:, 0]):  # left to right; one that crosses a kept seam goes
        seam = xs[index, paths[index]].astype(np.int64)
        if not kept or (seam > kept[-1]).all():
            kept.append(seam)
    return kept


def cuts_image(cleaned: np.ndarray, graphs: Sequence[LineGraph]) -> np.ndarray:
    """The pipeline strip's "cuts" stage: the ink in gray, every candidate seam in red, every
    gap between pieces of a line in blue (RGB uint8, the size of the cleaned image)."""
    gray = np.round(np.clip(cleaned, 0, 1) * 180).astype(np.uint8)
    image = np.dstack([gray, gray, gray])
    for graph in graphs:
        for k, boundary in enumerate(graph.boundaries):
            if boundary.kind == "seam" and boundary.seam is not None:
                ys = np.arange(len(boundary.seam)) + boundary.y0
                for dx in (-1, 0):
                    image[ys, np.clip(boundary.seam + dx, 0, image.shape[1] - 1)] = (230, 40, 40)
            elif not boundary.word_break:
                left, right = graph.atoms[k], graph.atoms[k + 1]
                x = int(round((min(left.box[0] + left.box[2], right.box[0]) + max(left.box[0] + left.box[2], right.box[0])) / 2))
                top = min(left.box[1], right.box[1])
                bottom = max(left.box[1] + left.box[3], right.box[1] + right.box[3])
                image[top:bottom, np.clip([x - 1, x], 0, image.shape[1] - 1)] = (60, 110, 255)
    return image


# --- candidates and their scores ---------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """Atoms first..last-1 of a line read as one character."""

    first: int
    last: int
    box: Box  # in the cleaned image
    ink: np.ndarray  # their ink inside `box`


def candidates(graph: LineGraph) -> list[Candidate]:
    """Every run of up to MAX_ATOMS neighbouring atoms that could be one character: not across
    a word gap, and (more than one atom) no wider than MAX_WIDTH line heights; and every whole
    blob (all its atoms, however many) no wider than MAX_WIDTH, so a line can always be read one
    blob, one character (`components_path`)."""
    found = []
    atoms = graph.atoms
    for first in range(len(atoms)):
        x0, y0 = atoms[first].box[0], atoms[first].box[1]
        x1, y1 = x0 + atoms[first].box[2], y0 + atoms[first].box[3]
        for last in range(first + 1, min(len(atoms), first + MAX_ATOMS) + 1):
            if last > first + 1:
                if graph.boundaries[last - 2].word_break:
                    break
                ax, ay, aw, ah = atoms[last - 1].box
                x0, y0, x1, y1 = min(x0, ax), min(y0, ay), max(x1, ax + aw), max(y1, ay + ah)
                if x1 - x0 > MAX_WIDTH * graph.height or y1 - y0 > segment.MERGE_HEIGHT * graph.height:
                    break
            found.append(_candidate(atoms, first, last, (x0, y0, x1, y1)))
    first = 0
    while first < len(atoms):  # runs of one blob's atoms longer than MAX_ATOMS
        last = first + 1
        while last < len(atoms) and atoms[last].blob == atoms[first].blob:
            last += 1
        if last - first > MAX_ATOMS:
            boxes = np.array([atom.box for atom in atoms[first:last]])
            x0, y0 = int(boxes[:, 0].min()), int(boxes[:, 1].min())
            x1, y1 = int((boxes[:, 0] + boxes[:, 2]).max()), int((boxes[:, 1] + boxes[:, 3]).max())
            if x1 - x0 <= MAX_WIDTH * graph.height:
                found.append(_candidate(atoms, first, last, (x0, y0, x1, y1)))
        first = last
    return found


def _candidate(atoms: Sequence[Atom], first: int, last: int, bounds: tuple[int, int, int, int]) -> Candidate:
    x0, y0, x1, y1 = bounds
    canvas = np.zeros((y1 - y0, x1 - x0), np.float32)
    for atom in atoms[first:last]:
        ax, ay, aw, ah = atom.box
        view = canvas[ay - y0 : ay - y0 + ah, ax - x0 : ax - x0 + aw]
        np.maximum(view, atom.ink, out=view)
    return Candidate(first, last, (x0, y0, x1 - x0, y1 - y0), canvas)


FEATURES = ("log p best", "log width/H", "log height/H", "|log aspect/class aspect|", "gap inside/H",
            "seams inside", "strokes cut left", "strokes cut right", "gap left/H", "gap right/H",
            "(log width/H)²", "(log height/H)²", "log p second", "atoms", "whole-character network logit")
# A logistic model of "this candidate is one whole character" over FEATURES, fitted on the
# candidates of lines by the dev writers (benchmarks/reading_lines.py --fit; labels from where
# each character was drawn). It is what LeCun et al. trained a garbage class for; its strongest
# feature is the whole-character network's logit (lenet_core.wholeness), which sees the candidate
# in its line: AUC 0.965 on candidates of unseen dev lines, against 0.905 for the other features alone.
CHARACTER_MODEL = (np.array([0.541, -0.119, 1.460, 0.101, -6.211, -0.036, -0.413, -0.542, -0.110, 0.150, -0.285, 0.470, -0.074, -0.039, 0.782]), 1.381)

def candidate_features(graph: LineGraph, found: Sequence[Candidate], probabilities: np.ndarray, classes: Sequence[str],
                       whole: np.ndarray) -> np.ndarray:
    """FEATURES of each candidate (rows) — the shape and the cuts around it, in line heights, and
    `whole`, the whole-character network's logit for each (`lenet_core.wholeness`)."""
    aspects = np.array([ASPECT.get(c, 0.85) for c in classes])
    height = graph.height
    n = len(graph.atoms)
    rows = np.zeros((len(found), len(FEATURES)), np.float32)
    for index, (candidate, row) in enumerate(zip(found, probabilities)):
        _, _, w, h = candidate.box
        best, second = np.argsort(row)[::-1][:2]
        inside = graph.boundaries[candidate.first : candidate.last - 1]
        left = graph.boundaries[candidate.first - 1] if candidate.first > 0 else None
        right = graph.boundaries[candidate.last - 1] if candidate.last < n else None

        def strokes(boundary):
            return boundary.strokes if boundary is not None and boundary.kind == "seam" else 0.0

        def gap(boundary):
            return float(np.clip(boundary.gap, -0.3, 1.0)) if boundary is not None and boundary.kind == "gap" else 0.5

        rows[index] = (
            np.log(max(float(row[best]), 1e-7)), np.log(max(w, 1) / height), np.log(max(h, 1) / height),
            abs(np.log(max(w, 1) / max(h, 1) / aspects[best])), sum(max(0.0, b.gap) for b in inside if b.kind == "gap"),
            sum(1 for b in inside if b.kind == "seam"), strokes(left), strokes(right), gap(left), gap(right),
            np.log(max(w, 1) / height) ** 2, np.log(max(h, 1) / height) ** 2, np.log(max(float(row[second]), 1e-7)),
            candidate.last - candidate.first, float(whole[index]),
        )
    return rows


def character_logit(features: np.ndarray, model=None) -> np.ndarray:
    coefficients, intercept = CHARACTER_MODEL if model is None else model
    return features @ np.asarray(coefficients, np.float32) + intercept


def edge_scores(graph: LineGraph, found: Sequence[Candidate], probabilities: np.ndarray, classes: Sequence[str],
                whole_logits: np.ndarray, weights: Weights = WEIGHTS, model=None) -> list[list[tuple[int, float]]]:
    """For each candidate, its best CLASSES_PER_EDGE (class, score): the class's log-probability,
    the log-probability that the candidate is one whole character (CHARACTER_MODEL), the shape
    term (low, or over-wide for its class, gaps inside it) and the per-character bonus."""
    aspects = np.array([ASPECT.get(c, 0.85) for c in classes])
    height = graph.height
    features = candidate_features(graph, found, probabilities, classes, whole_logits)
    whole = -np.logaddexp(0.0, -character_logit(features, model)) if len(found) else []
    scores = []
    for candidate, row, is_whole in zip(found, probabilities, whole):
        _, _, w, h = candidate.box
        shape = weights.character + weights.whole * float(is_whole)
        shape -= weights.low * max(0.0, np.log(0.4 * height / max(h, 1.0)))
        inside = graph.boundaries[candidate.first : candidate.last - 1]
        shape -= weights.merged_gap * sum(max(0.0, b.gap) for b in inside if b.kind == "gap")
        order = np.argsort(row)[::-1][:CLASSES_PER_EDGE]
        aspect = w / max(h, 1.0)
        # Much wider than its class usually is: "VV" for a W is fine, a W for "VV" costs; less so
        # where the network is sure of the class (a 7 written wide is still a 7).
        wide = weights.wide * np.maximum(0.0, np.log(aspect / (weights.wide_factor * aspects[order]))) ** 2 * (1.0 - row[order])
        scores.append([(int(c), float(np.log(max(row[c], 1e-7)) + shape - wide[n])) for n, c in enumerate(order)])
    return scores


def boundary_cost(boundary: Boundary, weights: Weights = WEIGHTS) -> float:
    """What a character boundary here costs: cutting through ink, or splitting pieces that lie
    closer together than characters usually do."""
    if boundary.kind == "seam":  # a blob hardly wider than one character is seldom two
        return weights.seam * boundary.strokes + weights.narrow_cut * max(0.0, weights.narrow_width - boundary.blob_width)
    closeness = weights.close_gap - max(boundary.gap, -0.3)
    return weights.close_split * max(0.0, closeness) / weights.close_gap if weights.close_gap > 0 else 0.0


@dataclass(frozen=True)
class Path:
    score: float
    steps: tuple[tuple[int, int], ...]  # (candidate index, class index) left to right


def clean_line(graph: LineGraph, weights: Weights = WEIGHTS) -> bool:
    """Whether every blob of the line looks like one whole character: none wider than
    `weights.clean_width` line heights, none lower than `weights.clean_height` of it, the blobs
    apart by at least `weights.clean_gap` line heights, and at least `weights.clean_blobs` of them."""
    boxes: dict[int, list[int]] = {}
    for atom in graph.atoms:
        x, y, w, h = atom.box
        box = boxes.setdefault(atom.blob, [x, y, x + w, y + h])
        box[:] = [min(box[0], x), min(box[1], y), max(box[2], x + w), max(box[3], y + h)]
    if len(boxes) < weights.clean_blobs or any(b.kind == "gap" and b.gap < weights.clean_gap for b in graph.boundaries):
        return False
    return all(x1 - x0 <= weights.clean_width * graph.height and y1 - y0 >= weights.clean_height * graph.height
               for x0, y0, x1, y1 in boxes.values())


def components_path(graph: LineGraph, found: Sequence[Candidate], scores: Sequence[Sequence[tuple[int, float]]],
                    weights: Weights = WEIGHTS) -> Path | None:
    """The reading with one character per blob (no cut, no merge) and each its best class, scored
    as `best_paths` scores a path; None when some blob is not one candidate (its atoms are not
    neighbours, or it has no score)."""
    atoms = graph.atoms
    whole = {}
    for index, candidate in enumerate(found):
        blob = atoms[candidate.first].blob
        inside = all(atom.blob == blob for atom in atoms[candidate.first : candidate.last])
        outside = (candidate.first == 0 or atoms[candidate.first - 1].blob != blob) and \
                  (candidate.last == len(atoms) or atoms[candidate.last].blob != blob)
        if inside and outside and scores[index]:
            whole[candidate.first] = index
    steps, total, node = [], 0.0, 0
    while node < len(atoms):
        index = whole.get(node)
        if index is None:
            return None
        klass, score = max(scores[index], key=lambda entry: entry[1])
        node = found[index].last
        total += score - (boundary_cost(graph.boundaries[node - 1], weights) if node < len(atoms) else 0.0)
        steps.append((index, klass))
    return Path(total, tuple(steps))


def prefer_components(graph: LineGraph, found: Sequence[Candidate], scores: Sequence[Sequence[tuple[int, float]]],
                      paths: list[Path], weights: Weights = WEIGHTS) -> list[Path]:
    """`paths` with the one-blob-one-character reading first where the line is clean
    (`clean_line`) and the search's best does not beat it by `components_margin`."""
    if not paths or not clean_line(graph, weights):
        return paths
    components = components_path(graph, found, scores, weights)
    if components is None or paths[0].score > components.score + weights.components_margin:
        return paths
    return [components] + [path for path in paths if path.steps != components.steps]


def best_paths(graph: LineGraph, found: Sequence[Candidate], scores: Sequence[Sequence[tuple[int, float]]],
               weights: Weights = WEIGHTS, keep: int = N_BEST) -> list[Path]:
    """The `keep` best readings of a line, best first: N-best Viterbi over the cut positions
    (node k = the boundary before atom k), each edge a candidate character with one of its classes."""
    n = len(graph.atoms)
    if n == 0:
        return []
    ending: list[list[int]] = [[] for _ in range(n + 1)]
    for index, candidate in enumerate(found):
        ending[candidate.last].append(index)
    node_cost = [0.0] + [boundary_cost(b, weights) for b in graph.boundaries] + [0.0]
    best: list[list[tuple[float, int, int, int, int]]] = [[] for _ in range(n + 1)]  # score, from, rank, candidate, class
    best[0] = [(0.0, -1, -1, -1, -1)]
    for node in range(1, n + 1):
        options = []
        for index in ending[node]:
            start = found[index].first
            for rank, entry in enumerate(best[start]):
                for klass, score in scores[index]:
                    options.append((entry[0] + score - node_cost[node], start, rank, index, klass))
        options.sort(key=lambda option: -option[0])
        best[node] = options[:keep]
    paths = []
    for rank in range(len(best[n])):
        steps = []
        node, r = n, rank
        score = best[n][rank][0]
        while node > 0:
            _, start, previous_rank, index, klass = best[node][r]
            steps.append((index, klass))
            node, r = start, previous_rank
        paths.append(Path(score, tuple(reversed(steps))))
    return paths


# --- context ----------------------------------------------------------------------------------

# How much a neighbour's evidence may count (nats), and the prior odds against a look-alike of
# the other kind (a digit among letters, a lower-case letter in an upper-case word): 4 to 1, so
# a look-alike the network is unsure of follows its word, and ink that clearly says otherwise wins.
EVIDENCE_LIMIT = 3.0
CONTEXT_ODDS = 0.25
CLEAR = 0.5  # a character whose best class is this likely (and has no look-alike of the other kind) is clearly a letter or a digit
# The characters that are told apart by context, not by ink; and every letter with its other case.
LOOK_ALIKES = ("0Oo", "1Il", "5Ss", "2Zz", "8B", "6Gb", "9gq")


def look_alike_groups(classes: Sequence[str]) -> np.ndarray:
    """classes × classes: True where two classes are look-alikes (LOOK_ALIKES, or one letter's two cases)."""
    index = {c: i for i, c in enumerate(classes)}
    same = np.eye(len(classes), dtype=bool)
    for group in LOOK_ALIKES:
        members = [index[c] for c in group if c in index]
        for i in members:
            same[i, members] = True
    for c, i in index.items():
        if c.isalpha() and c.swapcase() in index:
            same[i, index[c.swapcase()]] = True
    return same


def context_prior(rows: np.ndarray, words: Sequence[int], classes: Sequence[str], odds: float = CONTEXT_ODDS) -> np.ndarray:
    """Each character's probabilities with a small prior from the other characters of its word:
    among its look-alikes (LOOK_ALIKES, and the two cases of a letter) the ones of the word's kind
    (letters or digits) and case are favoured `1/odds` to 1. Only the look-alikes of the network's
    best class move, among themselves: what they held together is shared out again, and every
    other class keeps its probability (a 1 in a word of letters may become I, never the L the
    network put second). A character's own row never votes for itself; a word of one character
    keeps its probabilities; so does a code, a word with characters that are clearly letters and
    others clearly digits (AB12CD: no kind to follow). Not a dictionary: nothing else about the
    word is assumed."""
    rows = np.asarray(rows, np.float64)
    if len(rows) < 2:
        return rows.astype(np.float32)
    digit = np.array([c.isdigit() for c in classes])
    letter = np.array([c.isalpha() for c in classes])
    upper = np.array([c.isalpha() and c.isupper() and c.lower() in classes for c in classes])  # case told apart
    lower = np.array([c.isalpha() and c.islower() and c.upper() in classes for c in classes])
    alike = look_alike_groups(classes)
    tiny = 1e-6

    def evidence(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if not a.any() or not b.any():
            return np.zeros(len(rows))
        return np.clip(np.log(rows[:, a].sum(1) + tiny) - np.log(rows[:, b].sum(1) + tiny), -EVIDENCE_LIMIT, EVIDENCE_LIMIT)

    kind = evidence(letter, digit)  # > 0: reads as a letter
    case = evidence(upper, lower)  # > 0: reads as upper case (only letters whose cases differ vote)
    votes_case = rows[:, upper | lower].sum(1) > 0.5
    best = rows.argmax(1)
    # Clearly a letter (or a digit): the best class is likely and has no look-alike of the other kind.
    unambiguous = ~np.array([(alike[b] & digit).any() and (alike[b] & letter).any() for b in best])
    sure = unambiguous & (rows[np.arange(len(rows)), best] > CLEAR)
    clear_letter, clear_digit = sure & letter[best], sure & digit[best]
    adjusted = rows.copy()
    words = np.asarray(words)
    for index in range(len(rows)):
        others = (words == words[index]) & (np.arange(len(rows)) != index)
        if not others.any() or (clear_letter[others].any() and clear_digit[others].any()):
            continue
        group = alike[best[index]]
        weight = np.ones(len(classes))
        say = kind[others].sum()
        if say > 1.0 and (group & letter).any():
            weight[group & digit] *= odds
        elif say < -1.0 and (group & digit).any():
            weight[group & letter] *= odds
        voters = others & votes_case
        say_case = case[voters].sum() if voters.any() else 0.0
        if say_case > 1.0 and (group & upper).any():
            weight[group & lower] *= odds
        elif say_case < -1.0 and (group & lower).any():
            weight[group & upper] *= odds
        weighted = rows[index, group] * weight[group]
        if weighted.sum() > 0:
            adjusted[index, group] = weighted * (rows[index, group].sum() / weighted.sum())
    return adjusted.astype(np.float32)


# --- reading a whole image --------------------------------------------------------------------


@dataclass(frozen=True)
class ReadCharacter:
    """A character on the best path: its box (original image), probabilities after the charset
    and the context prior, and its own pipeline."""

    character: segment.Character
    probabilities: np.ndarray


@dataclass(frozen=True)
class LinesReading:
    segmentation: segment.Segmentation  # stages (with "cuts") and the chosen characters
    characters: tuple[ReadCharacter, ...]
    alternative: str  # the second-best reading of the whole text ("" when there is none)
    graphs: tuple[LineGraph, ...]
    candidates: int  # how many candidate characters the network scored


Scorer = Callable[[np.ndarray], np.ndarray]  # N×28×28 inputs → N×classes probabilities


@dataclass(frozen=True)
class Draft:
    """Everything of a reading that does not depend on the search's weights: the stages, each
    line's graph and candidates, and the network's probabilities (charset applied) for them."""

    shared: tuple[Stage, ...]  # original → cleaned, then "cuts"
    cleaned_shape: tuple[int, int]
    part_shape: tuple[int, ...]
    offset: tuple[int, int]
    region: Box | None
    left_out: int
    graphs: tuple[LineGraph, ...]
    candidates: tuple[tuple[Candidate, ...], ...]
    pipelines: tuple[tuple[tuple[tuple[Stage, ...], Box | None], ...], ...]  # per line, per candidate
    probabilities: tuple[np.ndarray, ...]  # per line: candidates × classes (zero rows: no ink)
    whole: tuple[np.ndarray, ...]  # per line: the whole-character network's logit per candidate


Judge = Callable[[np.ndarray], np.ndarray]  # N windows (lenet_core.wholeness) → N logits


def draft(image: np.ndarray, score: Scorer, classes: Sequence[str], options: PipelineOptions = preprocess.PHOTO,
          region: Box | None = None, allowed: np.ndarray | None = None, judge: Judge | None = None) -> Draft:
    """Prepare, find the lines, over-segment each, and score every candidate with `score` (the
    character network) and `judge` (the whole-character network; default: the shipped one), each in one batch."""
    image = np.asarray(image)
    region = segment._clip_region(region, image.shape)
    part = image if region is None else image[region[1] : region[1] + region[3], region[0] : region[0] + region[2]]
    offset = (0, 0) if region is None else (region[0], region[1])
    prepared = preprocess.prepare(part, options)
    cleaned = prepared[-1].image
    graphs, left_out = line_graphs(cleaned)
    per_line = [tuple(candidates(graph)) for graph in graphs]
    cuts = Stage("cuts", "Candidate cuts (red: seams, blue: gaps)", cuts_image(cleaned, graphs))
    inputs, pipelines = [], []
    for line_candidates in per_line:
        line_pipelines = []
        for candidate in line_candidates:
            stages, result, box = preprocess.character(candidate.ink, options)
            inputs.append(result)
            line_pipelines.append((stages, box))
        pipelines.append(tuple(line_pipelines))
    usable = np.array([result is not None for result in inputs], bool)
    probabilities = np.zeros((len(inputs), len(classes)), np.float32)
    if usable.any():
        probabilities[usable] = charsets.apply(score(np.stack([r for r in inputs if r is not None])), allowed)
    views = [wholeness.windows(cleaned, graph, line_candidates) for graph, line_candidates in zip(graphs, per_line)]
    logits = (judge or wholeness.shipped())(np.concatenate(views)) if inputs else np.zeros(0, np.float32)
    split, whole, start = [], [], 0
    for line_candidates in per_line:
        split.append(probabilities[start : start + len(line_candidates)])
        whole.append(logits[start : start + len(line_candidates)])
        start += len(line_candidates)
    return Draft(prepared + (cuts,), cleaned.shape, part.shape, offset, region, left_out, tuple(graphs),
                 tuple(per_line), tuple(pipelines), tuple(split), tuple(whole))


def line_graphs(cleaned: np.ndarray) -> tuple[list[LineGraph], int]:
    """The cleaned image's lines, each over-segmented (`over_segment`), in reading order, and how
    many blobs were left out (at most segment.MAX_CHARACTERS are read)."""
    labels, found = segment._find_characters(cleaned)
    found = found + _loose_parts(labels, found)
    kept, left_out = [], 0
    for line in line_groups([box for box, _ in found]):  # at most MAX_CHARACTERS blobs, in reading order
        room = segment.MAX_CHARACTERS - sum(len(k) for k in kept)
        kept.append(line[: max(0, room)])
        left_out += len(line) - len(kept[-1])
    graphs = []
    for line in kept:
        if not line:
            continue
        blobs = [found[i] for i in line]
        height = float(np.percentile([box[3] for box, _ in blobs], 80))  # pieces of broken characters are lower
        graphs.append(over_segment(cleaned, labels, blobs, height))
    return graphs, left_out


LOOSE_REACH = 0.25  # line heights: a loose bar this close to ink on both sides may be part of a character


def _loose_parts(labels: np.ndarray, found: list[tuple[Box, list[int]]]) -> list[tuple[Box, list[int]]]:
    """The low blobs `segment` leaves out as no character (a dash, a full stop) that lie between
    two characters' ink with little room on either side: the bar of an H drawn in three strokes.
    They become atoms; the search decides whether they join a neighbour."""
    used = {member for _, members in found for member in members}
    count = int(labels.max()) if labels.size else 0
    if count == len(used) or not found:
        return []
    boxes = np.array([box for box, _ in found], float)
    heights = boxes[:, 3]
    height = float(np.median(heights[heights >= 0.5 * heights.max()]))
    extra = []
    for label in sorted(set(range(1, count + 1)) - used):
        ys, xs = np.nonzero(labels == label)
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
        level = (boxes[:, 1] < y1 + 0.3 * height) & (boxes[:, 1] + boxes[:, 3] > y0 - 0.3 * height)
        left = x0 - (boxes[:, 0] + boxes[:, 2])
        right = boxes[:, 0] - x1
        reach = LOOSE_REACH * height
        if (level & (left >= -reach) & (left <= reach)).any() and (level & (right >= -reach) & (right <= reach)).any():
            extra.append(((x0, y0, x1 - x0, y1 - y0), [label]))
    return extra


def line_groups(boxes: Sequence[Box]) -> list[list[int]]:
    """Blob indices per line, lines top to bottom, blobs left to right.

    The tallest blobs found the lines; a blob joins the line whose core (the median top to the
    median bottom of its members) covers most of its height, at least a third of it, so the
    pieces of a character broken into strokes stay on their line.
    """
    lines: list[list[int]] = []
    cores: list[tuple[float, float]] = []
    for index in sorted(range(len(boxes)), key=lambda i: -boxes[i][3]):
        _, y, _, h = boxes[index]
        best, share = -1, 1 / 3
        for number, (top, bottom) in enumerate(cores):
            covered = (min(y + h, bottom) - max(y, top)) / max(h, 1)
            if covered >= share:
                best, share = number, covered
        if best < 0:
            lines.append([index])
            cores.append((float(y), float(y + h)))
        else:
            lines[best].append(index)
            members = lines[best]
            cores[best] = (float(np.median([boxes[i][1] for i in members])), float(np.median([boxes[i][1] + boxes[i][3] for i in members])))
    order = sorted(range(len(lines)), key=lambda n: sum(cores[n]))
    return [sorted(lines[n], key=lambda i: boxes[i][0]) for n in order]


def search(made: Draft, classes: Sequence[str], options: PipelineOptions = preprocess.PHOTO, context: bool = True,
           weights: Weights = WEIGHTS, final: Scorer | None = None, allowed: np.ndarray | None = None) -> LinesReading:
    """The best path per line of a draft, the context prior within words, and the characters.

    `final` (e.g. the network with test-time averaging) scores the chosen characters again
    for what is shown; the search itself uses the draft's cheaper scores.
    """
    characters: list[ReadCharacter] = []
    best_text, second_text = [], []
    word = -1
    for line_number, (graph, line_candidates, line_pipelines, rows, whole) in enumerate(
            zip(made.graphs, made.candidates, made.pipelines, made.probabilities, made.whole)):
        scores = edge_scores(graph, line_candidates, rows, classes, whole, weights)
        for index, (_, box) in enumerate(line_pipelines):
            if box is None:
                scores[index] = []
        # whole blobs of more than MAX_ATOMS atoms are for the one-blob-one-character reading only
        searched = [[] if c.last - c.first > MAX_ATOMS else row for c, row in zip(line_candidates, scores)]
        paths = prefer_components(graph, line_candidates, scores, best_paths(graph, line_candidates, searched, weights), weights)
        if not paths:
            continue
        readings = []
        for path in paths:
            words = _words(graph, [line_candidates[i] for i, _ in path.steps])
            chosen = np.stack([rows[i] for i, _ in path.steps])
            if context:
                chosen = context_prior(chosen, words, classes)
            readings.append((path, words, chosen))
        if final is not None:
            inputs = np.stack([line_pipelines[i][0][-1].image for i, _ in path_steps(readings[0])])
            rescored = charsets.apply(final(inputs), allowed)
            if context:
                rescored = context_prior(rescored, readings[0][1], classes)
            readings[0] = (readings[0][0], readings[0][1], rescored)
        path, words, chosen = readings[0]
        texts = [_line_text(w, r, classes) for _, w, r in readings]
        best_text.append(texts[0])
        second_text.append(next((text for text in texts[1:] if text != texts[0]), texts[0]))
        previous_word = None
        for (index, _), word_in_line, row in zip(path.steps, words, chosen):
            if word_in_line != previous_word:
                word += 1
                previous_word = word_in_line
            candidate = line_candidates[index]
            stages, box = line_pipelines[index]
            box = (box[0] + candidate.box[0], box[1] + candidate.box[1], box[2], box[3])
            x, y, w, h = preprocess.to_original_box(box, made.cleaned_shape, made.part_shape)
            box = (x + made.offset[0], y + made.offset[1], w, h)
            result = PipelineResult(made.shared + stages, stages[-1].image, box, options)
            characters.append(ReadCharacter(segment.Character(box, line_number, word, result), row))
    alternative = "\n".join(second_text) if second_text != best_text else ""
    segmentation = segment.Segmentation(made.shared, tuple(c.character for c in characters), made.region, made.left_out)
    return LinesReading(segmentation, tuple(characters), alternative, made.graphs, sum(len(c) for c in made.candidates))


def path_steps(reading) -> tuple[tuple[int, int], ...]:
    return reading[0].steps


def read_lines(image: np.ndarray, score: Scorer, classes: Sequence[str], options: PipelineOptions = preprocess.PHOTO,
               region: Box | None = None, allowed: np.ndarray | None = None, context: bool = True,
               weights: Weights = WEIGHTS, final: Scorer | None = None) -> LinesReading:
    """Every line of `image` (or of `region`) read by recognition: over-segment, score every
    candidate with `score` in one batch, best path per line, context prior within words;
    `final` scores the chosen characters again (see `search`)."""
    return search(draft(image, score, classes, options, region, allowed), classes, options, context, weights, final, allowed)


def _words(graph: LineGraph, chosen: Sequence[Candidate]) -> list[int]:
    """Word number (within the line) of each chosen candidate: a new word after a word gap."""
    words, word = [], 0
    for position, candidate in enumerate(chosen):
        if position and any(b.word_break for b in graph.boundaries[chosen[position - 1].first : candidate.first]):
            word += 1
        words.append(word)
    return words


def _line_text(words: Sequence[int], rows: np.ndarray, classes: Sequence[str]) -> str:
    text = []
    for position, (word, row) in enumerate(zip(words, rows)):
        if position and word != words[position - 1]:
            text.append(" ")
        text.append(classes[int(np.argmax(row))])
    return "".join(text)
