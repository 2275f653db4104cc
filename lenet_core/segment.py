"""Several characters in one image: which blobs of ink form a character, and in what order.

Connected components of the `cleaned` stage are merged where they belong to one character
(the dot of an i or j, a stroke broken by the threshold), grouped into lines and read top to
bottom, left to right. Each character then goes through `preprocess.character`, so the GUI,
the CLI and the tests share one code path. Boxes are in the coordinates of the given image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lenet_core import preprocess
from lenet_core.preprocess import PipelineOptions, PipelineResult, Stage

Box = tuple[int, int, int, int]  # x, y, width, height

# Parts are one character when they overlap this much horizontally (share of the narrower)...
MERGE_OVERLAP = 0.5
# ...and together are no taller than this many typical character heights.
MERGE_HEIGHT = 1.6
# A part smaller than this share of the typical height (the bar of a 5, a dot) joins the
# nearest character it stands on or hangs from, however little they overlap horizontally.
SMALL_PART = 0.5
# A lone blob lower than this share of the typical height (a full stop, a dash, a smudge) is
# no character: the classes have no punctuation, and every character has some height.
SMALLEST_CHARACTER = 0.3
# A gap wider than this share of the typical height separates words.
WORD_GAP = 0.6
# More than this is not handwriting at a readable size (a texture, a printed page): the first
# ones in reading order are read, the rest counted.
MAX_CHARACTERS = 400


@dataclass(frozen=True)
class Character:
    """One character's place in the image and its own pipeline (shared stages + its own)."""

    box: Box  # in the coordinates of the image given to `segment`
    line: int  # 0 = top line
    word: int  # counts across the whole image
    pipeline: PipelineResult


@dataclass(frozen=True)
class Segmentation:
    stages: tuple[Stage, ...]  # original → gray → normalised → cleaned, for the whole image
    characters: tuple[Character, ...]  # in reading order
    region: Box | None = None  # the part of the image that was read; None = all of it
    left_out: int = 0  # characters beyond MAX_CHARACTERS, not read

    @property
    def empty(self) -> bool:
        return not self.characters

    def stage(self, name: str) -> np.ndarray:
        return next(stage.image for stage in self.stages if stage.name == name)


def segment(image: np.ndarray, options: PipelineOptions = preprocess.PHOTO, region: Box | None = None,
            split: bool = True) -> Segmentation:
    """The characters of `image` (or of `region` of it) in reading order; no ink gives none.

    With `split=False` all the ink is one character, exactly as `preprocess.run` reads it.
    A region is cut to the image; one that misses it entirely raises ValueError.
    """
    image = np.asarray(image)
    region = _clip_region(region, image.shape)
    part = image if region is None else image[region[1] : region[1] + region[3], region[0] : region[0] + region[2]]
    prepared = preprocess.prepare(part, options)
    cleaned = prepared[-1].image
    offset = (0, 0) if region is None else region[:2]
    if split:
        labels, found = _find_characters(cleaned)
    else:
        labels, found = None, [((0, 0, cleaned.shape[1], cleaned.shape[0]), [])]
    order = _reading_order([box for box, _ in found])
    characters = []
    for index, line, word in order[:MAX_CHARACTERS]:
        place, members = found[index]
        ink = cleaned if labels is None else _own_ink(cleaned, labels, place, members)
        stages, result, box = preprocess.character(ink, options)
        if box is None:
            continue
        x, y, w, h = preprocess.to_original_box((box[0] + place[0], box[1] + place[1], box[2], box[3]), cleaned.shape, part.shape)
        box = (x + offset[0], y + offset[1], w, h)
        characters.append(Character(box, line, word, PipelineResult(prepared + stages, result, box, options)))
    return Segmentation(prepared, tuple(characters), region, max(0, len(order) - MAX_CHARACTERS))


# --- finding the characters -------------------------------------------------------------------


def character_boxes(cleaned: np.ndarray) -> list[tuple[Box, list[int]]]:
    """Boxes (in `cleaned`'s pixels) of the characters, and the component labels in each."""
    return _find_characters(cleaned)[1]


def _find_characters(cleaned: np.ndarray) -> tuple[np.ndarray, list[tuple[Box, list[int]]]]:
    """Connected components and the characters they make up.

    First the pieces of broken strokes are joined, then each small part (a dot, a loose bar)
    goes to the nearest character it stands on or hangs from; lone blobs too low to be a
    character are dropped.
    """
    mask = (cleaned >= preprocess.INK_LEVEL * 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    parts = [([int(v) for v in stats[i, :4]], [i]) for i in range(1, count)]
    if not parts:
        return labels, []
    typical = _typical_height([box for box, _ in parts])
    small = [part for part in parts if max(part[0][2], part[0][3]) < SMALL_PART * typical]
    pieces = _join_pieces([part for part in parts if max(part[0][2], part[0][3]) >= SMALL_PART * typical], typical)
    _attach_small_parts(small, pieces, typical)
    return labels, [(tuple(box), members) for box, members in pieces if box[3] >= SMALLEST_CHARACTER * typical]


def _join_pieces(parts: list[tuple[list[int], list[int]]], typical: float) -> list[tuple[list[int], list[int]]]:
    """Merge character-sized parts that belong together, in sweeps until a sweep merges none."""
    merged = True
    while merged:  # merging grows boxes, which can make further parts overlap
        merged = False
        parts.sort(key=lambda part: part[0][0])
        gone = [False] * len(parts)
        for i in range(len(parts)):
            if gone[i]:
                continue
            j = i + 1
            while j < len(parts) and parts[j][0][0] < parts[i][0][0] + parts[i][0][2]:  # sorted: later ones start further right
                if not gone[j] and _belong_together(parts[i][0], parts[j][0], typical):
                    parts[i] = (_union(parts[i][0], parts[j][0]), parts[i][1] + parts[j][1])
                    gone[j] = merged = True
                j += 1
        parts = [part for part, dropped in zip(parts, gone) if not dropped]
    return parts


def _attach_small_parts(small: list[tuple[list[int], list[int]]], pieces: list[tuple[list[int], list[int]]], typical: float) -> None:
    """Give each small part to the piece it stands on, hangs from or lies in: the nearest one
    that overlaps it horizontally. A part with no such piece becomes a piece of its own."""
    if not pieces:
        pieces.extend(small)
        return
    hosts = np.array([piece[0] for piece in pieces], float)  # x, y, w, h; grows as parts join
    alone = []
    for box, members in sorted(small, key=lambda part: -part[0][2] * part[0][3]):
        x, y, w, h = box
        x0, y0, x1, y1 = hosts[:, 0], hosts[:, 1], hosts[:, 0] + hosts[:, 2], hosts[:, 1] + hosts[:, 3]
        overlap_x = np.minimum(x + w, x1) - np.maximum(x, x0)
        overlap_y = np.minimum(y + h, y1) - np.maximum(y, y0)
        inside = (x >= x0) & (y >= y0) & (x + w <= x1) & (y + h <= y1)
        union_height = np.maximum(y + h, y1) - np.minimum(y, y0)
        fits = (overlap_x > 0) & ((overlap_y <= 0.6 * h) | inside) & (union_height <= MERGE_HEIGHT * typical + h)
        if not fits.any():
            alone.append((box, members))
            continue
        host = int(np.argmin(np.where(fits, np.maximum(0.0, -overlap_y), np.inf)))  # the nearest
        pieces[host] = (_union(pieces[host][0], box), pieces[host][1] + members)
        hosts[host] = pieces[host][0]
    pieces.extend(alone)  # parts left alone are not hosts for other small parts


def _own_ink(cleaned: np.ndarray, labels: np.ndarray, box: Box, members: list[int]) -> np.ndarray:
    """A character's own ink inside its box: neighbours that reach into the box are left out."""
    x, y, w, h = box
    own = np.isin(labels[y : y + h, x : x + w], members)
    return np.where(own, cleaned[y : y + h, x : x + w], 0.0).astype(np.float32)


def _typical_height(boxes: list[list[int]]) -> float:
    """The height of a character here: the scale every rule is relative to.

    The median height of the blobs that are neither specks nor loose parts (a bar, half a
    stroke); but where no two of them stand side by side (one character broken into parts),
    the height of all of them together.
    """
    areas = np.array([box[2] * box[3] for box in boxes], float)
    substantial = np.array([box for box, area in zip(boxes, areas) if area >= 0.1 * areas.max()], float)
    if len(substantial) <= 12 and not _side_by_side(substantial):
        return float(max(y + h for _, y, _, h in boxes) - min(y for _, y, _, _ in boxes))
    heights = substantial[:, 3]
    return float(np.median(heights[heights >= 0.5 * np.percentile(heights, 90)]))


def _side_by_side(boxes: np.ndarray) -> bool:
    """Whether any two boxes stand next to each other on a line (as characters of a word do)."""
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]
    apart = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :]) <= 0
    level = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :]) >= 0.5 * np.minimum(boxes[:, 3][:, None], boxes[:, 3][None, :])
    return bool((apart & level).any())


def _belong_together(a: list[int], b: list[int], typical: float) -> bool:
    """Two character-sized parts of one character: one above the other (a broken stroke) or
    one inside the other's box, overlapping horizontally, and together no taller than a character."""
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    overlap_x = min(ax0 + aw, bx0 + bw) - max(ax0, bx0)
    if overlap_x < MERGE_OVERLAP * min(aw, bw):
        return False
    union = _union(a, b)
    if union[3] > MERGE_HEIGHT * typical:
        return False  # two lines of text, not two parts of one character
    overlap_y = min(ay0 + ah, by0 + bh) - max(ay0, by0)
    stacked = overlap_y <= 0.6 * min(ah, bh)
    inside = union == (a if aw * ah >= bw * bh else b)
    return stacked or inside


def _union(a, b) -> list[int]:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return [x0, y0, x1 - x0, y1 - y0]


# --- reading order ----------------------------------------------------------------------------


def _reading_order(boxes: list[Box]) -> list[tuple[int, int, int]]:
    """(index, line, word) in reading order: lines top to bottom, characters left to right."""
    lines: list[list[int]] = []
    spans: list[list[float]] = []
    for index in sorted(range(len(boxes)), key=lambda i: boxes[i][1] + boxes[i][3] / 2):
        x, y, w, h = boxes[index]
        centre = y + h / 2
        for members, span in zip(lines, spans):
            if span[0] <= centre <= span[1]:
                members.append(index)
                span[0], span[1] = min(span[0], y), max(span[1], y + h)
                break
        else:
            lines.append([index])
            spans.append([y, y + h])
    order = sorted(range(len(lines)), key=lambda n: sum(spans[n]) / 2)
    result = []
    word = -1
    for line_number, line in enumerate(order):
        members = sorted(lines[line], key=lambda i: boxes[i][0])
        heights = [boxes[i][3] for i in members]
        gap_limit = WORD_GAP * float(np.median(heights))
        previous_right = None
        for index in members:
            x, _, w, _ = boxes[index]
            if previous_right is None or x - previous_right > gap_limit:
                word += 1
            previous_right = x + w if previous_right is None else max(previous_right, x + w)
            result.append((index, line_number, word))
    return result


def text_of(characters: tuple[Character, ...], labels: list[str]) -> str:
    """The characters' labels as text: spaces between words, a newline between lines."""
    pieces = []
    for position, (character, label) in enumerate(zip(characters, labels)):
        if position:
            previous = characters[position - 1]
            if character.line != previous.line:
                pieces.append("\n")
            elif character.word != previous.word:
                pieces.append(" ")
        pieces.append(label)
    return "".join(pieces)


# --- coordinates ------------------------------------------------------------------------------


def _clip_region(region: Box | None, shape: tuple[int, ...]) -> Box | None:
    """The region cut to the image; None for the whole image. ValueError if it misses the image."""
    if region is None:
        return None
    x, y, w, h = (int(round(v)) for v in region)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"the region {x},{y},{w},{h} lies outside the {shape[1]}×{shape[0]} image")
    if (x0, y0, x1, y1) == (0, 0, shape[1], shape[0]):
        return None
    return x0, y0, x1 - x0, y1 - y0
