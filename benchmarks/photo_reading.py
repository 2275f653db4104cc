"""How well and how fast photos are read: segmentation and reading of made-up photos of real
EMNIST handwriting under several conditions, single photographed characters, and the time to
open and read a 12 MP phone photo. Prints numbers; the tests assert the essentials.

    python benchmarks/photo_reading.py [--lines 60] [--data tests/data/emnist --split balancedmini]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from photo_maker import handwriting_line, photograph, pick, stack_lines  # noqa: E402

from lenet_core import preprocess  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402
from lenet_core.imageio import read_image  # noqa: E402
from lenet_core.inference import Recognizer  # noqa: E402

CONDITIONS = {
    "ordinary": {},
    "dim room": {"light": (0.25, 0.4)},
    "deep shadow": {"light": (0.15, 0.95)},
    "noisy": {"noise": 0.08},
    "blurred": {"blur": 2.0},
    "faint ink": {"ink_darkness": 0.35},
    "lined paper": {"ruled": "lined"},
    "squared paper": {"ruled": "squared"},
    "rotated 8°": {"rotate": 8.0},
}


def clean_labels(recognizer, glyphs) -> str:
    batch = np.stack(glyphs).astype(np.float32) / 255
    return "".join(recognizer.classes[i] for i in recognizer.probabilities(batch).argmax(1))


def lines(recognizer, data, count: int, per_line: int = 6) -> None:
    print(f"\nA line of {per_line} handwritten characters, {count} photos per condition")
    print(f"{'condition':15s} {'count right':>11s} {'same as clean':>13s} {'true label':>10s} {'clean true':>10s} {'ms':>6s}")
    for name, conditions in CONDITIONS.items():
        rng = np.random.default_rng(1)
        right = same = true = clean_true = total = 0
        times = []
        for _ in range(count):
            glyphs, labels = pick(data, per_line, rng)
            photo = photograph(handwriting_line(glyphs, height=int(rng.integers(40, 140)), rng=rng), rng, **conditions)
            started = time.perf_counter()
            text = recognizer.read(photo).text.replace(" ", "")
            times.append((time.perf_counter() - started) * 1000)
            if len(text) != per_line:
                continue
            right += 1
            clean = clean_labels(recognizer, glyphs)
            same += sum(a == b for a, b in zip(text, clean))
            true += sum(a == b for a, b in zip(text, labels))
            clean_true += sum(a == b for a, b in zip(clean, labels))
            total += per_line
        total = max(total, 1)
        print(f"{name:15s} {right / count:11.1%} {same / total:13.1%} {true / total:10.1%} {clean_true / total:10.1%} {np.median(times):6.1f}")


def paragraphs(recognizer, data, count: int) -> None:
    rng = np.random.default_rng(3)
    right = spaced = 0
    for _ in range(count):
        rows = []
        for breaks in ((), (2,), ()):
            glyphs, _ = pick(data, 5, rng)
            rows.append(handwriting_line(glyphs, height=70, rng=rng, word_breaks=breaks))
        photo = photograph(stack_lines(rows, spacing=float(rng.uniform(0.0, 0.4))), rng, rotate=1.5)
        text = recognizer.read(photo).text.split("\n")
        right += [len(line.replace(" ", "")) for line in text] == [5, 5, 5]
        spaced += len(text) == 3 and text[1].count(" ") == 1 and " " not in text[0] + text[2]
    print(f"\nThree lines of five, a word break in the middle line ({count} photos): "
          f"lines and counts right {right / count:.1%}, word spaces right {spaced / count:.1%}")


def single_characters(recognizer, data, count: int) -> None:
    rng = np.random.default_rng(5)
    index = rng.choice(len(data), count, replace=False)
    clean = recognizer.probabilities(data.images[index].astype(np.float32) / 255).argmax(1)
    photo_right = same = 0
    for i, expected in zip(index, clean):
        ink = np.pad(np.asarray(data.images[i], np.float32) / 255, 14)
        ink = np.kron(ink, np.ones((5, 5), np.float32))  # 280 px: a character filling a phone's frame
        prediction = recognizer.recognise(photograph(ink, rng, rotate=5), preprocess.PHOTO)
        got = recognizer.classes.index(prediction.best[0]) if not prediction.empty else -1
        photo_right += got == data.labels[i]
        same += got == expected
    print(f"\nOne photographed character ({count}): photo top-1 {photo_right / count:.1%}, "
          f"clean image top-1 {np.mean(clean == data.labels[index]):.1%}, photo reads as the clean image {same / count:.1%}")


def twelve_megapixels(recognizer, data) -> None:
    from PIL import Image

    rng = np.random.default_rng(7)
    glyphs, _ = pick(data, 8, rng)
    ink = handwriting_line(glyphs, height=360, gap=0.4, rng=rng)
    canvas = np.zeros((3000, 4000), np.float32)
    canvas[1200 : 1200 + ink.shape[0], 200 : 200 + min(ink.shape[1], 3600)] = ink[:, :3600]
    photo = photograph(canvas, rng, rotate=2)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "JPEG", quality=90)
    data_bytes = buffer.getvalue()
    load, process = [], []
    for _ in range(3):
        started = time.perf_counter()
        image = read_image(data_bytes, "phone.jpg")
        loaded = time.perf_counter()
        reading = recognizer.read(image)
        load.append(loaded - started)
        process.append(time.perf_counter() - loaded)
    print(f"\n12 MP phone photo (4000×3000 JPEG, {len(data_bytes) / 1e6:.1f} MB): decode {min(load) * 1000:.0f} ms "
          f"(to {image.shape[1]}×{image.shape[0]}), segment + read {min(process) * 1000:.0f} ms, "
          f"{len(reading.characters)} characters found (8 written)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "tests" / "data" / "emnist"))
    parser.add_argument("--split", default="balancedmini")
    parser.add_argument("--lines", type=int, default=60, help="photos per condition")
    parser.add_argument("--model")
    args = parser.parse_args()
    recognizer = Recognizer(args.model)
    data = load_dataset(args.data, args.split, "test")
    print(f"{recognizer.name} on {data.name} ({len(data)} characters)")
    lines(recognizer, data, args.lines)
    paragraphs(recognizer, data, max(10, args.lines // 2))
    single_characters(recognizer, data, min(len(data), 4 * args.lines))
    twelve_megapixels(recognizer, data)


if __name__ == "__main__":
    main()
