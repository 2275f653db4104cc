"""Evidence about real handwriting without anyone's handwriting: EMNIST test characters turned
into what users give the app (a drawing on the pad, a photo of paper, a thin or thick pen),
read back through the same pipeline the app uses, and scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lenet_core import preprocess
from lenet_core.datasets import Dataset

CANVAS_SIDE = 280


def as_drawing(image28: np.ndarray, side: int = CANVAS_SIDE, fill: float = 0.7) -> np.ndarray:
    """An EMNIST character as it would appear on the drawing pad: upscaled, centred, white on dark."""
    size = int(side * fill)
    big = cv2.resize(image28, (size, size), interpolation=cv2.INTER_CUBIC)
    canvas = np.zeros((side, side), np.uint8)
    offset = (side - size) // 2
    canvas[offset : offset + size, offset : offset + size] = big
    return canvas


def skeleton(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide centre lines of a binary mask (Zhang–Suen thinning), connectivity kept: the
    batch thinning that training's pen augmentation uses, on one mask."""
    from lenet_core.augment import skeletons

    return skeletons(np.asarray(mask)[None] > 0)[0]


def with_pen_width(image28: np.ndarray, width_px: float, side: int = CANVAS_SIDE, fill: float = 0.7) -> np.ndarray:
    """The character redrawn along its centre line with a round pen `width_px` wide on a
    `side` pad: what a thin or thick pen makes of the same handwriting."""
    drawing = as_drawing(image28, side, fill).astype(np.float32) / 255
    centre = skeleton(drawing >= 0.5).astype(np.uint8)
    radius = max(width_px / 2, 0.5)
    # Distance to the centre line below the radius = covered by the pen; soft 1-px edge.
    distance = cv2.distanceTransform(1 - centre, cv2.DIST_L2, 5)
    ink = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    return np.round(ink * 255).astype(np.uint8)


def as_photo(image28: np.ndarray, rng: np.random.Generator, side: int = 320) -> np.ndarray:
    """A photo of the character written dark on light paper: uneven light, noise, rotation,
    perspective, sometimes ruled lines, JPEG compression. Returns RGB uint8."""
    size = int(side * rng.uniform(0.45, 0.7))
    ink = cv2.resize(image28, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    layer = np.zeros((side, side), np.float32)
    top = int(rng.integers(side // 10, side - size - side // 10 + 1))
    left = int(rng.integers(side // 10, side - size - side // 10 + 1))
    layer[top : top + size, left : left + size] = ink
    centre = (side / 2, side / 2)
    rotation = cv2.getRotationMatrix2D(centre, float(rng.uniform(-8, 8)), 1.0)
    layer = cv2.warpAffine(layer, rotation, (side, side))
    corners = np.float32([[0, 0], [side, 0], [side, side], [0, side]])
    jitter = corners + rng.uniform(-0.06, 0.06, (4, 2)).astype(np.float32) * side
    layer = cv2.warpPerspective(layer, cv2.getPerspectiveTransform(corners, jitter), (side, side))

    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)) * rng.uniform(0.2, 0.5)
    vignette = 1.0 - rng.uniform(0.0, 0.25) * ((x - 0.5) ** 2 + (y - 0.5) ** 2) * 2
    paper = np.clip(rng.uniform(0.75, 0.95) * vignette + gradient, 0.25, 1.0)
    if rng.random() < 0.3:  # lined paper
        spacing = int(rng.integers(side // 8, side // 4))
        for row in range(int(rng.integers(0, spacing)), side, spacing):
            paper[row : row + 2, :] *= 0.8
    paper = paper + cv2.GaussianBlur(rng.normal(0, 0.03, (side, side)).astype(np.float32), (0, 0), 1.5)
    darkness = rng.uniform(0.6, 0.9)
    gray = paper * (1.0 - darkness * layer)
    gray = gray + rng.normal(0, rng.uniform(0.01, 0.03), (side, side)).astype(np.float32)
    tint = np.array(rng.uniform(0.9, 1.05, 3), np.float32)
    rgb = np.clip(gray[..., None] * tint * 255, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 95))])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else rgb


@dataclass(frozen=True)
class Robustness:
    direct: float
    round_trip: float
    photo: float
    pen_widths: dict[float, float]
    samples: int

    def as_dict(self) -> dict:
        return {
            "direct": round(self.direct, 4),
            "round_trip": round(self.round_trip, 4),
            "photo": round(self.photo, 4),
            "pen_widths": {str(width): round(acc, 4) for width, acc in self.pen_widths.items()},
            "samples": self.samples,
        }


def measure(recognizer, data: Dataset, samples: int = 1000, seed: int = 0, pen_widths=(4.0, 10.0, 24.0, 40.0)) -> Robustness:
    """Accuracy of `recognizer` on `samples` test images: straight, as drawings, as photos,
    and drawn with each pen width (pixels on a 280-pixel pad)."""
    rng = np.random.default_rng(seed)
    index = rng.choice(len(data), min(samples, len(data)), replace=False)
    images, labels = data.images[index], data.labels[index]

    def accuracy(inputs: list[np.ndarray | None]) -> float:
        blank = np.zeros((28, 28), np.float32)
        batch = np.stack([x if x is not None else blank for x in inputs])
        predictions = recognizer.probabilities_batched(batch).argmax(axis=1)
        readable = np.array([x is not None for x in inputs])
        return float(np.mean((predictions == labels) & readable))

    direct = accuracy([image.astype(np.float32) / 255 for image in images])
    round_trip = accuracy([preprocess.run(as_drawing(image), preprocess.DRAWING).input for image in images])
    photo = accuracy([preprocess.run(as_photo(image, rng), preprocess.PHOTO).input for image in images])
    widths = {
        float(width): accuracy([preprocess.run(with_pen_width(image, width), preprocess.DRAWING).input for image in images])
        for width in pen_widths
    }
    return Robustness(direct, round_trip, photo, widths, len(index))


# --- conditions of the real-handwriting benchmark (benchmarks/accuracy.py) -------------------

FILE_SIDES = (28, 64, 112, 400)
PEN_WIDTHS = (4.0, 10.0, 24.0, 40.0)
LOW_RES_PHOTO_SIDES = (24, 32, 40)
UNIPEN_FOLDER = "realhand/unipen_r01v07"


def as_file(image28: np.ndarray, side: int) -> np.ndarray:
    """An EMNIST character written as a `side`-pixel dark-on-white PNG and read back."""
    dark = 255 - image28
    if side != image28.shape[0]:
        dark = cv2.resize(dark, (side, side), interpolation=cv2.INTER_CUBIC if side > image28.shape[0] else cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", dark)
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else dark


def as_low_res_photo(image28: np.ndarray, rng: np.random.Generator, side: int) -> np.ndarray:
    """A small crop of a photo (a far-away or low-resolution camera): the full-size synthetic
    photo shrunk to `side` pixels, then the sensor noise and JPEG compression of that size."""
    full = as_photo(image28, rng).astype(np.float32)
    small = cv2.resize(full, (side, side), interpolation=cv2.INTER_AREA)
    small = small + rng.normal(0, rng.uniform(2.0, 6.0), small.shape[:2])[..., None].astype(np.float32)
    rgb = np.clip(small, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 95))])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else rgb


def load_unipen(folder, classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UNIPEN characters (64×64, dark on white) whose label folds to one of `classes`:
    images, label indices into `classes`, and writer ids. Lower-case letters a model lacks
    fold to upper case (the EMNIST balanced merge; lettersx merges all of them)."""
    import csv
    from pathlib import Path

    folder = Path(folder)
    index = {name: i for i, name in enumerate(classes)}
    images, labels, writers = [], [], []
    with open(folder / "labels.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            char = row["label_char"]
            label = index.get(char, index.get(char.upper()))
            if label is None:
                continue
            image = cv2.imread(str(folder / row["path"]), cv2.IMREAD_GRAYSCALE)
            if image is None:
                continue
            images.append(image)
            labels.append(label)
            writers.append(row["writer"])
    return np.stack(images), np.array(labels, np.int64), np.array(writers)


def held_out_writer(writers: np.ndarray, fraction: float = 0.3) -> np.ndarray:
    """A stable writer-level split: True for the writers whose id hashes into the held-out share."""
    import hashlib

    def side(writer: str) -> bool:
        return int(hashlib.md5(writer.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction

    table = {writer: side(writer) for writer in set(writers.tolist())}
    return np.array([table[w] for w in writers.tolist()], bool)


def benchmark_inputs(data: Dataset, samples: int = 1000, seed: int = 0, unipen: tuple | None = None) -> tuple[dict[str, tuple], np.ndarray]:
    """The 28×28 inputs of every benchmark condition, made once so that several models can be
    scored on exactly the same inputs: {condition: (inputs N×28×28 with NaN-free blanks, labels,
    readable mask)}, and the sample index into `data`."""
    rng = np.random.default_rng(seed)
    index = rng.choice(len(data), min(samples, len(data)), replace=False)
    images, labels = data.images[index], data.labels[index]
    blank = np.zeros((28, 28), np.float32)

    def pack(inputs, labels=labels):
        readable = np.array([x is not None for x in inputs])
        return np.stack([x if x is not None else blank for x in inputs]).astype(np.float32), labels, readable

    conditions: dict[str, tuple] = {"direct": (images.astype(np.float32) / 255, labels, np.ones(len(labels), bool))}
    for side in FILE_SIDES:
        conditions[f"file {side}px"] = pack([preprocess.run(as_file(image, side), preprocess.DRAWING).input for image in images])
    conditions["pad drawing"] = pack([preprocess.run(as_drawing(image), preprocess.DRAWING).input for image in images])
    for width in PEN_WIDTHS:
        conditions[f"pen {width:g}px"] = pack([preprocess.run(with_pen_width(image, width), preprocess.DRAWING).input for image in images])
    photo_rng = np.random.default_rng(seed + 1)
    conditions["photo 320px"] = pack([preprocess.run(as_photo(image, photo_rng), preprocess.PHOTO).input for image in images])
    for side in LOW_RES_PHOTO_SIDES:
        conditions[f"photo {side}px"] = pack([preprocess.run(as_low_res_photo(image, photo_rng, side), preprocess.PHOTO).input for image in images])
    if unipen is not None:
        unipen_images, unipen_labels, name = unipen
        conditions[name] = pack([preprocess.run(image, preprocess.DRAWING).input for image in unipen_images], unipen_labels)
    return conditions, index


def score_inputs(recognizer, conditions: dict[str, tuple]) -> dict[str, float]:
    """Single-pass accuracy of `recognizer` on every condition (an unreadable input counts as wrong)."""
    scores = {}
    for name, (inputs, labels, readable) in conditions.items():
        predictions = recognizer.probabilities_batched(inputs).argmax(axis=1)
        scores[name] = float(np.mean((predictions == labels) & readable))
    return scores
