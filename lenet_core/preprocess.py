"""From any input image (canvas, photo, webcam frame) to the 28×28 input the network sees.

Each stage is a pure function that returns the image it produced, so the GUI can show the
strip and tests can check every step. The last stages follow how EMNIST itself was made
(Cohen et al., 2017): crop to the ink, centre in a square keeping the aspect ratio with a
border, Gaussian blur σ=1 at 128 px, area resampling to 28×28, intensity scaled to full range.
Stroke width is brought into EMNIST's range, since a thin pen is the commonest way a
drawing differs from the training data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import cv2
import numpy as np

PREPROCESSING_VERSION = 1
WORK_SIDE = 128  # EMNIST's working resolution before downsampling
INPUT_SIDE = 28
# Median stroke width of EMNIST characters, measured at WORK_SIDE with `stroke_width`
# (scripts in benchmarks/accuracy.py re-measure it); strokes far outside are adjusted.
EMNIST_STROKE_WIDTH = 13.0
INK_LEVEL = 0.5  # a pixel with at least this much ink counts as ink
# Photos: ink must be this much darker (or lighter) than the paper around it, and stand this
# many noise deviations above the paper's grain, or the photo is taken to hold no ink.
PHOTO_MIN_CONTRAST = 0.08
PHOTO_MIN_SNR = 6.0
PHOTO_MIN_INK = 5e-5  # ...over at least this share of the pixels (a stroke, not a speck of dust)
# Photos smaller than this (a far-away or low-resolution crop) are enlarged before the ink is
# found: thresholding a 24-px crop at its own resolution leaves blocky, broken strokes. Measured
# with the shipped balanced model on synthetic 24/32/40-px photo crops: 73.5/84.0/85.3 % →
# 86.8/87.8/87.0 % (benchmarks/accuracy.py --compare; direct 90.3 % on the same 400 characters).
PHOTO_MIN_SIDE = 96

Mode = Literal["drawing", "photo"]
Invert = Literal["auto", "on", "off"]
Threshold = Literal["otsu", "adaptive", "fixed", "none"]


@dataclass(frozen=True)
class PipelineOptions:
    """The few settings that matter; defaults suit a drawing pad."""

    mode: Mode = "drawing"
    invert: Invert = "auto"
    threshold: Threshold = "otsu"
    threshold_level: float = 0.5  # used by "fixed"; 0..1 of the ink range
    stroke: float | None = None  # extra stroke width in 28-px units; None = automatic
    border: float = 2.0  # empty margin around the character, in 28-px units
    remove_lines: bool = True  # photos of lined or squared paper


DRAWING = PipelineOptions()
PHOTO = PipelineOptions(mode="photo")


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    image: np.ndarray


@dataclass(frozen=True)
class PipelineResult:
    stages: tuple[Stage, ...]
    input: np.ndarray | None  # 28×28 float32 in [0, 1], white ink on black; None when empty
    box: tuple[int, int, int, int] | None = None  # x, y, w, h of the ink in the original
    options: PipelineOptions = field(default_factory=PipelineOptions)

    @property
    def empty(self) -> bool:
        return self.input is None

    def stage(self, name: str) -> np.ndarray:
        return next(stage.image for stage in self.stages if stage.name == name)

    def as_uint8(self) -> np.ndarray:
        if self.input is None:
            raise ValueError("nothing to read: the image holds no ink")
        return np.round(self.input * 255).astype(np.uint8)


# --- stages ---------------------------------------------------------------------------------


def merge_channels(image: np.ndarray) -> np.ndarray:
    """Gray float32 in [0, 1] from gray/RGB/RGBA of any depth; transparency becomes background."""
    array = np.asarray(image)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] in (3, 4):
        if array.shape[2] == 3 or int(array[..., 3].min()) == 255:  # fast path: opaque 8-bit colour
            code = cv2.COLOR_RGB2GRAY if array.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
            return cv2.cvtColor(np.ascontiguousarray(array), code).astype(np.float32) * np.float32(1 / 255)
    if array.dtype == np.bool_:
        values = array.astype(np.float32)
    elif array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.integer):
        values = array.astype(np.float32)
        values /= max(float(values.max()), 1.0)
    else:
        values = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        low, high = float(values.min()), float(values.max())
        if low < 0.0 or high > 1.0:
            values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    if values.ndim == 2:
        return values
    if values.ndim != 3 or values.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"not an image array: shape {array.shape}")
    channels = values.shape[2]
    if channels in (1, 2):
        gray, alpha = values[..., 0], values[..., 1] if channels == 2 else None
    else:
        gray = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
        alpha = values[..., 3] if channels == 4 else None
    if alpha is not None and float(alpha.min()) < 0.99:
        # Ink drawn on a transparent layer: lay it on the background that contrasts with it.
        weight = float(alpha.sum())
        ink_level = float((gray * alpha).sum() / weight) if weight > 0 else 0.0
        background = 1.0 if ink_level < 0.5 else 0.0
        gray = gray * alpha + background * (1.0 - alpha)
    return np.ascontiguousarray(gray, dtype=np.float32)


def enlarge_small(gray: np.ndarray, side: int = PHOTO_MIN_SIDE) -> np.ndarray:
    """A gray image whose longer side is below `side`, enlarged (bicubic) to that side; others as they are."""
    height, width = gray.shape
    if max(height, width) >= side or min(height, width) < 1:
        return gray
    scale = side / max(height, width)
    enlarged = cv2.resize(gray, _size(width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    return np.clip(enlarged, 0.0, 1.0).astype(np.float32)


def normalise_ink(gray: np.ndarray, invert: Invert = "auto") -> np.ndarray:
    """Ink 1, background 0, whatever the input's polarity and contrast."""
    background, top = _percentiles(gray, (50.0, 99.7))
    flip = invert == "on" or (invert == "auto" and background > 0.5)
    if flip:
        ink = 1.0 - gray
        background, top = 1.0 - background, 1.0 - _percentiles(gray, (0.3,))[0]
    else:
        ink = gray
    if ink.size < 1000:
        top = float(ink.max())
    span = top - background
    if span < 0.08:  # no stroke stands out from the background
        return np.zeros_like(ink)
    return np.clip((ink - background) / span, 0.0, 1.0).astype(np.float32)


def normalise_photo(gray: np.ndarray, invert: Invert = "auto") -> np.ndarray:
    """Ink 1, paper 0, in a photo: ink measured against the paper around it, so shadows cancel.

    Dark ink is taken as its darkness relative to the local paper (the ratio does not change
    with the light falling on it). "auto" picks the polarity with more ink standing out of the
    noise. A photo where nothing stands out from the paper's grain and noise holds no ink.
    """
    background = _local_background(gray)
    # Judged on a lightly smoothed copy, where a stroke keeps its level and grain does not.
    residual = cv2.GaussianBlur(gray, (0, 0), 1.0) - background
    outlier = PHOTO_MIN_SNR * _noise_sigma(residual)
    if invert == "auto":
        darker = float(np.maximum(-residual - outlier, 0.0).sum())
        lighter = float(np.maximum(residual - outlier, 0.0).sum())
        dark = darker >= lighter
    else:
        dark = invert == "on"
    if dark:
        paper = np.maximum(background, 0.02)
        ink, contrast = 1.0 - gray / paper, -residual / paper
        stands_out = -residual > outlier
    else:
        board = np.maximum(1.0 - background, 0.02)
        ink, contrast = (gray - background) / board, residual / board
        stands_out = residual > outlier
    strong = contrast[stands_out & (contrast > PHOTO_MIN_CONTRAST)]
    if strong.size < max(25, PHOTO_MIN_INK * gray.size):
        return np.zeros_like(gray)
    peak = float(np.percentile(strong, 90))  # the core of the strokes, not their edges
    return np.clip(ink / peak, 0.0, 1.0).astype(np.float32)


def clean(ink: np.ndarray, options: PipelineOptions = PHOTO) -> np.ndarray:
    """Photos: flatten uneven lighting, threshold, drop paper lines and specks of noise.

    A drawing is already clean, so it passes through with only faint noise removed.
    """
    if options.mode == "drawing" or options.threshold == "none":
        return cv2.threshold(ink, 0.1, 0.0, cv2.THRESH_TOZERO)[1]
    flat = _flatten_background(ink)
    peak = _percentiles(flat, (99.7,))[0] if flat.size >= 1000 else float(flat.max())
    if peak < 0.08:
        return np.zeros_like(flat)
    flat = np.clip(flat / peak, 0.0, 1.0)
    as_byte = np.round(flat * 255).astype(np.uint8)
    if options.threshold == "otsu":
        level, mask = cv2.threshold(as_byte, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        mask = mask > 0 if level >= 25 else as_byte > 64  # all-dark images: Otsu splits noise
    elif options.threshold == "adaptive":
        block = _odd(max(15, min(flat.shape) // 8))
        mask = cv2.adaptiveThreshold(as_byte, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, -10) > 0
        mask &= as_byte > 40
    else:
        mask = flat >= options.threshold_level
    if options.remove_lines:
        mask = _remove_lines(mask)
    mask = _drop_specks(mask)
    # The threshold decides what is ink; the stroke keeps its soft edge, as in EMNIST's scans.
    edge = (cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & (flat > 0.15)
    soft = np.where(mask, np.maximum(flat, 0.5), np.where(edge, flat, 0.0))
    return soft.astype(np.float32)


def crop_to_ink(ink: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """The smallest rectangle holding the ink, and that rectangle (x, y, w, h)."""
    rows = np.flatnonzero((ink >= INK_LEVEL * 0.5).any(axis=1))
    if rows.size == 0:
        return np.zeros((0, 0), np.float32), None
    cols = np.flatnonzero((ink[rows[0] : rows[-1] + 1] >= INK_LEVEL * 0.5).any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return ink[y0:y1, x0:x1], (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def centre_in_square(crop: np.ndarray, border: float = 2.0, stroke: float | None = None) -> np.ndarray:
    """Scale the ink to fit a WORK_SIDE square with `border` (28-px units), aspect kept, centred.

    Stroke width is brought to EMNIST's when `stroke` is None, or widened by `stroke` 28-px units.
    """
    content = WORK_SIDE * (INPUT_SIDE - 2 * border) / INPUT_SIDE
    scale = content / max(crop.shape)
    # Work at 2× the final scale at most, so thin strokes survive being measured and adjusted.
    detail = min(1.0, 2 * scale)
    if detail < 1.0:
        crop = cv2.resize(crop, _size(crop.shape[1] * detail, crop.shape[0] * detail), interpolation=cv2.INTER_AREA)
    crop = adjust_stroke(crop, scale / detail, stroke)
    crop, _ = crop_to_ink(crop)  # a thicker stroke reaches further out
    height, width = crop.shape
    scale = content / max(height, width)
    resized = cv2.resize(crop, _size(width * scale, height * scale), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    square = np.zeros((WORK_SIDE, WORK_SIDE), np.float32)
    rh, rw = resized.shape
    top, left = (WORK_SIDE - rh) // 2, (WORK_SIDE - rw) // 2
    square[top : top + rh, left : left + rw] = resized
    return square


def adjust_stroke(crop: np.ndarray, scale: float, stroke: float | None) -> np.ndarray:
    """Thicken (or thin) strokes; `scale` maps crop pixels to WORK_SIDE pixels."""
    if stroke is None:
        width = stroke_width(crop) * scale
        if width <= 0:
            return crop
        low, high = 0.75 * EMNIST_STROKE_WIDTH, 1.5 * EMNIST_STROKE_WIDTH
        if low <= width <= high:
            return crop
        change = (EMNIST_STROKE_WIDTH - width) / scale
    else:
        change = stroke * WORK_SIDE / INPUT_SIDE / scale
    radius = int(round(abs(change) / 2))
    if radius < 1:
        return crop
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    padded = cv2.copyMakeBorder(crop, radius, radius, radius, radius, cv2.BORDER_CONSTANT, value=0)
    if change > 0:
        return cv2.dilate(padded, kernel)
    thinned = cv2.erode(padded, kernel)
    return thinned if (thinned >= INK_LEVEL).any() else padded


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the mean distance to the edge along the stroke ridge."""
    mask = (ink >= INK_LEVEL).astype(np.uint8)
    if not mask.any():
        return 0.0
    distance = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    ridge = (distance >= cv2.dilate(distance, np.ones((3, 3), np.uint8))) & (mask > 0)
    return float(2.0 * distance[ridge].mean())


def to_input(square: np.ndarray) -> np.ndarray:
    """Gaussian blur σ=1 at WORK_SIDE, area resampling to 28×28, peak scaled to 1 (as EMNIST)."""
    blurred = cv2.GaussianBlur(square, (0, 0), 1.0)
    small = cv2.resize(blurred, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
    peak = float(small.max())
    if peak <= 0:
        return small.astype(np.float32)
    return np.clip(small / peak, 0.0, 1.0).astype(np.float32)


# --- the pipeline ---------------------------------------------------------------------------


def prepare(image: np.ndarray, options: PipelineOptions = DRAWING) -> tuple[Stage, ...]:
    """original → gray → normalised → cleaned: the stages shared by one and many characters."""
    gray = merge_channels(image)
    gray = _limit_side(gray, 1600 if options.mode == "photo" else 4000)
    if options.mode == "photo":
        gray = enlarge_small(gray)
    ink = normalise_photo(gray, options.invert) if options.mode == "photo" else normalise_ink(gray, options.invert)
    cleaned = clean(ink, options)
    return (
        Stage("original", "Original", np.asarray(image)),
        Stage("gray", "Channels merged to gray", gray),
        Stage("normalised", "Ink white, background black", ink),
        Stage("cleaned", "Thresholded and denoised" if options.mode == "photo" else "Cleaned", cleaned),
    )


def character(cleaned: np.ndarray, options: PipelineOptions = DRAWING) -> tuple[tuple[Stage, ...], np.ndarray | None, tuple[int, int, int, int] | None]:
    """cleaned ink of one character → cropped → centred → 28×28 input (None when empty)."""
    crop, box = crop_to_ink(cleaned)
    if box is None or float(crop.sum()) < 2.0:
        blank = np.zeros((INPUT_SIDE, INPUT_SIDE), np.float32)
        return (Stage("cropped", "Cropped to the ink", crop), Stage("centred", "Centred with border", blank), Stage("input", "28×28 input", blank)), None, None
    square = centre_in_square(crop, options.border, options.stroke)
    result = to_input(square)
    stages = (
        Stage("cropped", "Cropped to the ink", crop),
        Stage("centred", "Centred with border", square),
        Stage("input", "28×28 input", result),
    )
    return stages, result, box


def run(image: np.ndarray, options: PipelineOptions = DRAWING) -> PipelineResult:
    """The whole pipeline for one character; an image without ink gives an empty result."""
    prepared = prepare(image, options)
    stages, result, box = character(prepared[-1].image, options)
    if box is not None:
        box = to_original_box(box, prepared[1].image.shape, np.asarray(image).shape)
    return PipelineResult(prepared + stages, result, box, options)


def with_options(result: PipelineResult, **changes) -> PipelineOptions:
    return replace(result.options, **changes)


# --- helpers --------------------------------------------------------------------------------


def _flatten_background(ink: np.ndarray) -> np.ndarray:
    """Subtract a smooth estimate of the background (shadows, uneven light, paper tone)."""
    return np.clip(ink - _local_background(ink), 0.0, 1.0)


def _local_background(ink: np.ndarray) -> np.ndarray:
    """A smooth estimate of the paper (or board) under the ink, at full size."""
    height, width = ink.shape
    scale = min(1.0, 200.0 / max(height, width))
    small = cv2.resize(ink, _size(width * scale, height * scale), interpolation=cv2.INTER_AREA) if scale < 1 else ink
    as_byte = np.round(small * 255).astype(np.uint8)
    # Much wider than any stroke, so the median sees paper even inside a thick character.
    kernel = _odd(max(5, min(small.shape) // 2))
    background = cv2.medianBlur(as_byte, kernel).astype(np.float32) / 255.0
    return cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)


def _ruled_lines(mask: np.ndarray) -> np.ndarray:
    """The rules of lined or squared paper: at least two long straight runs across the image.

    One long run alone is kept: it may be the bar of a 7 or the stem of a 1.
    """
    height, width = mask.shape
    as_byte = mask.astype(np.uint8)
    lines = np.zeros_like(mask)
    for length, shape, axis in ((int(width * 0.7), lambda n: (n, 1), 1), (int(height * 0.7), lambda n: (1, n), 0)):
        if length < 40:
            continue
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, shape(length))
        runs = cv2.morphologyEx(as_byte, cv2.MORPH_OPEN, kernel) > 0
        profile = runs.any(axis=axis)
        starts = np.count_nonzero(np.diff(profile.astype(np.int8)) == 1) + int(profile[0])
        if starts >= 2:
            lines |= runs
    return lines


def _remove_lines(mask: np.ndarray) -> np.ndarray:
    """Mask without paper rules; strokes that crossed a rule are joined again."""
    lines = _ruled_lines(mask)
    if not lines.any():
        return mask
    grown = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    kept = (mask & ~grown).astype(np.uint8)
    bridge = cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8)) > 0
    return (kept > 0) | (bridge & grown & mask)


def _drop_specks(mask: np.ndarray) -> np.ndarray:
    """Remove components far smaller than the ink that matters (dust, paper grain)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    limit = max(4.0, 0.02 * float(areas.max()), mask.size * 2e-5)
    keep = np.zeros(count, bool)
    keep[1:] = areas >= limit
    return keep[labels]


def _percentiles(image: np.ndarray, points: tuple[float, ...]) -> list[float]:
    """Percentiles of a [0, 1] image from a 256-bin histogram (10× faster than np.percentile)."""
    as_byte = cv2.convertScaleAbs(np.ascontiguousarray(image, dtype=np.float32), alpha=255.0)
    histogram = cv2.calcHist([as_byte], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(histogram) / max(float(histogram.sum()), 1.0)
    return [float(np.searchsorted(cumulative, point / 100.0)) / 255.0 for point in points]


def _noise_sigma(values: np.ndarray) -> float:
    """Robust standard deviation (from the median absolute deviation) of a sample of pixels."""
    sample = values[::3, ::3] if values.size >= 90_000 else values
    return 1.4826 * float(np.median(np.abs(sample - np.median(sample))))


def _limit_side(gray: np.ndarray, side: int) -> np.ndarray:
    height, width = gray.shape
    if max(height, width) <= side:
        return gray
    scale = side / max(height, width)
    return cv2.resize(gray, _size(width * scale, height * scale), interpolation=cv2.INTER_AREA)


def to_original_box(box: tuple[int, int, int, int], work_shape: tuple[int, ...], original_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A box in the working image (`prepare` may shrink photos) → the same box in the original."""
    sy, sx = original_shape[0] / work_shape[0], original_shape[1] / work_shape[1]
    x, y, w, h = box
    return int(x * sx), int(y * sy), max(1, round(w * sx)), max(1, round(h * sy))


def _size(width: float, height: float) -> tuple[int, int]:
    return max(1, int(round(width))), max(1, int(round(height)))


def _odd(value: int) -> int:
    return value if value % 2 else value + 1
