"""Reading lines of handwriting: the connected-components reader (old) and reading by
recognition (new, `lenet_core.reader`) side by side on the same lines, in one run.

Lines of 6 digits and capitals, each character from a different writer, drawn as on the pad
with round pens of several widths (`tests/line_maker.py`): separated, touching (boxes
overlapping 4–12 % of a character's width, ink joined), and broken into strokes; from real
tablet handwriting (UNIPEN: the writers of the "eval" half that the shipped character models
never trained on either, 40 writers) and from EMNIST test images;
plus the synthetic photo lines of `benchmarks/photo_reading.py`, and separated words of digits
or capitals and codes of both read with the context prior. For the real lines it also reports
what the best cuts would read (the candidate covering each drawn character best: the character
network's ceiling, whatever the search picks). Then the time for an 8-character line and for a
400-character page. Prints a table, then a JSON line.

    python benchmarks/reading_lines.py [--lines 40] [--tune]

`--tune` searches the reader's weights on the "dev" writers instead (never on the eval ones).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from line_maker import SHARED_DATA, draw_line, emnist_glyphs, pick_line, realhand_glyphs, whole_overlap  # noqa: E402
from photo_maker import handwriting_line, photograph, pick  # noqa: E402

from lenet_core import reader  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402
from lenet_core.inference import Recognizer  # noqa: E402

CLASSES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LAYOUTS = ("separated", "touching", "broken")


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


class Tally:
    def __init__(self):
        self.lines = self.exact = self.count = 0
        self.errors = self.chars = 0
        self.ms: list[float] = []

    def add(self, truth: str, text: str, ms: float) -> None:
        truth, text = truth.replace(" ", ""), text.replace(" ", "").replace("\n", "")
        self.lines += 1
        self.exact += truth == text
        self.count += len(truth) == len(text)
        self.errors += edit_distance(truth, text)
        self.chars += len(truth)
        self.ms.append(ms)

    def summary(self) -> dict:
        return {"exact": round(self.exact / max(self.lines, 1), 4), "char_accuracy": round(1 - self.errors / max(self.chars, 1), 4),
                "count_right": round(self.count / max(self.lines, 1), 4), "ms": round(float(np.median(self.ms)) if self.ms else 0.0, 1),
                "lines": self.lines}


def make_lines(glyphs, layout: str, count: int, length: int, seed: int) -> list[tuple[np.ndarray, str]]:
    rng = np.random.default_rng(seed)
    return [draw_line(pick_line(glyphs, length, rng), layout, rng) for _ in range(count)]


def photo_lines(count: int) -> list[tuple[np.ndarray, str]]:
    """The synthetic photo lines of photo_reading.py (EMNIST test images, "ordinary" light)."""
    data = load_dataset(SHARED_DATA / "emnist", "balancedx", "test")
    rng = np.random.default_rng(1)
    found = []
    for _ in range(count):
        glyphs, labels = pick(data, 6, rng)
        found.append((photograph(handwriting_line(glyphs, height=int(rng.integers(40, 140)), rng=rng), rng), labels))
    return found


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, (time.perf_counter() - started) * 1000


def compare(recognizer: Recognizer, lines, name: str, results: dict, charset: str | None = CLASSES, context: bool = False) -> None:
    """Both readers on the same lines, with the same character set; the new one's context prior
    only where the lines are words (random mixes of digits and letters have no word to follow)."""
    old, new = Tally(), Tally()
    for image, truth in lines:
        reading, ms = timed(lambda image=image: recognizer.read(image, search=False, charset=charset))
        old.add(truth, reading.text, ms)
        reading, ms = timed(lambda image=image: recognizer.read(image, charset=charset, context=context))
        new.add(truth, reading.text, ms)
    results[name] = {"old": old.summary(), "new": new.summary()}
    o, n = results[name]["old"], results[name]["new"]
    print(f"{name:30s} {o['exact']:7.1%} {n['exact']:7.1%}   {o['char_accuracy']:7.1%} {n['char_accuracy']:7.1%}   "
          f"{o['count_right']:7.1%} {n['count_right']:7.1%}   {o['ms']:6.1f} {n['ms']:6.1f}", flush=True)


def ceiling(recognizer: Recognizer, glyphs, layout: str, count: int, seed: int) -> dict:
    """What the character network allows on the lines `make_lines(glyphs, layout, count, 6, seed)`
    makes, whatever the search chooses: the share of characters that some candidate covers
    (overlap ≥ 75 %, as `--fit` labels whole characters), that the covering candidate reads as
    its class, and the lines where every character does."""
    from lenet_core import charset

    allowed = charset.mask(CLASSES, recognizer.classes)
    rng = np.random.default_rng(seed)
    covered = right = exact = total = 0
    for _ in range(count):
        spans: list = []
        image, truth = draw_line(pick_line(glyphs, 6, rng), layout, rng, spans=spans)
        made = reader.draft(image, recognizer.probabilities, recognizer.classes, allowed=allowed)
        found = [(c, row) for cs, rows in zip(made.candidates, made.probabilities) for c, row in zip(cs, rows)]
        line_right = True
        for character, span in zip(truth.replace(" ", ""), spans):
            best, best_row = 0.75, None
            for candidate, row in found:
                overlap = whole_overlap(made, candidate, [span])
                if overlap >= best:
                    best, best_row = overlap, row
            good = best_row is not None and recognizer.classes[int(np.argmax(best_row))] == character
            covered += best_row is not None
            right += good
            line_right &= good
            total += 1
        exact += line_right
    return {"covered": round(covered / max(total, 1), 4), "covering_reads_right": round(right / max(total, 1), 4),
            "lines_all_right": round(exact / max(count, 1), 4)}


def page(recognizer: Recognizer, glyphs, seed: int = 9) -> tuple[float, float, int]:
    """A page of 50 lines × 8 characters (separated and touching): ms for the old and new reader."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(50):
        image, _ = draw_line(pick_line(glyphs, 8, rng), LAYOUTS[index % 2], rng, height=60, pen=5)
        rows.append(image)
    width = max(r.shape[1] for r in rows)
    image = np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=255) for r in rows])
    old = min(timed(lambda: recognizer.read(image, search=False))[1] for _ in range(2))
    reading, new = None, []
    for _ in range(2):
        reading, ms = timed(lambda: recognizer.read(image))
        new.append(ms)
    return old, min(new), len(reading.text.replace("\n", "").replace(" ", ""))


def tune(recognizer: Recognizer, count: int, rounds: int = 1) -> None:
    """Coordinate search of the weights on the dev writers (drafts made once): the sum over the
    layouts of the exact-line and count-right rates, digits and capitals allowed."""
    from lenet_core import charset

    glyphs = realhand_glyphs(CLASSES, "dev")
    allowed = charset.mask(CLASSES, recognizer.classes)
    score = recognizer.probabilities  # the search scores candidates without averaging, as Recognizer.read does
    drafts = []
    for n, layout in enumerate(LAYOUTS):
        drafts += [(reader.draft(image, score, recognizer.classes, allowed=allowed), truth, 2.0 if layout == "separated" else 1.0)
                   for image, truth in make_lines(glyphs, layout, count, 6, 100 + n)]
    total = sum(weight for _, _, weight in drafts)

    def objective(weights) -> tuple[float, float, float]:
        """Exact lines + count right, separated lines counted twice (they must not get worse)."""
        exact = right = 0.0
        for made, truth, weight in drafts:
            reading = reader.search(made, recognizer.classes, context=False, weights=weights)
            got = "".join(recognizer.classes[int(np.argmax(c.probabilities))] for c in reading.characters)
            exact += weight * (got == truth)
            right += weight * (len(got) == len(truth))
        return (exact + right) / total, exact / total, right / total

    grid = {"narrow_cut": (0.0, 2.0, 4.0, 8.0, 16.0), "narrow_width": (0.9, 1.1, 1.3, 1.6, 2.0), "character": (0.0, 0.5, 1.0, 2.0, 3.0), "whole": (0.5, 1.0, 2.0, 3.0), "seam": (0.0, 0.3, 0.6, 1.2, 2.0),
            "close_split": (0.0, 1.0, 2.0, 4.0, 8.0), "merged_gap": (0.0, 1.0, 2.0, 5.0, 10.0), "wide": (0.0, 1.0, 3.0, 10.0), "wide_factor": (1.0, 1.3, 1.6, 2.0), "low": (0.0, 1.0, 3.0),
            "clean_width": (0.0, 1.3, 1.5, 1.8), "clean_height": (0.4, 0.55, 0.7), "components_margin": (2.0, 4.0, 8.0, 16.0)}
    weights = reader.WEIGHTS
    best = objective(weights)
    print("start", weights, best, flush=True)
    for _ in range(rounds):
        for name, values in grid.items():
            for value in values:
                trial = replace(weights, **{name: value})
                result = objective(trial)
                if result[0] > best[0]:
                    weights, best = trial, result
            print(name, getattr(weights, name), best, flush=True)
    print("best", weights, best)


def fit(recognizer: Recognizer, count: int) -> None:
    """Fit reader.CHARACTER_MODEL on the candidates of dev-writer lines: a candidate is one whole
    character when its ink columns match a drawn character's (overlap ≥ 75 % of their union).
    The lines (seeds 500–502) are not those the whole-character network was trained on."""
    from sklearn.linear_model import LogisticRegression

    glyphs = realhand_glyphs(CLASSES, "dev")
    score = recognizer.probabilities  # the search scores candidates without averaging, as Recognizer.read does
    features, labels = [], []
    for n, layout in enumerate(LAYOUTS):
        rng = np.random.default_rng(500 + n)
        for _ in range(count):
            spans: list = []
            image, _ = draw_line(pick_line(glyphs, 6, rng), layout, rng, spans=spans)
            made = reader.draft(image, score, recognizer.classes)
            for graph, found, rows, whole in zip(made.graphs, made.candidates, made.probabilities, made.whole):
                features.append(reader.candidate_features(graph, found, rows, recognizer.classes, whole))
                labels += [whole_overlap(made, candidate, spans) >= 0.75 for candidate in found]
    features, labels = np.concatenate(features), np.array(labels)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(features, labels)
    print(f"{len(labels)} candidates, {labels.mean():.1%} whole characters; training accuracy {model.score(features, labels):.3f}")
    print("CHARACTER_MODEL = (np.array([" + ", ".join(f"{c:.3f}" for c in model.coef_[0]) + f"]), {model.intercept_[0]:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=40, help="lines per condition (default 40)")
    parser.add_argument("--tune", action="store_true", help="search the weights on the dev writers")
    parser.add_argument("--fit", action="store_true", help="fit the reader's whole-character model on the dev writers")
    parser.add_argument("--model", help="model name or .lenet file (default: the active shipped model)")
    args = parser.parse_args()
    if args.lines < 1:
        parser.error(f"--lines must be at least 1, not {args.lines}")
    recognizer = Recognizer(args.model)
    if args.fit:
        fit(recognizer, args.lines)
        return
    if args.tune:
        tune(recognizer, args.lines)
        return
    real = realhand_glyphs(CLASSES, "unseen")  # the models trained on 70 % of the writers: read only the others
    if not real:
        sys.exit(f"no real handwriting at {SHARED_DATA / 'realhand'}")
    emnist = emnist_glyphs(load_dataset(SHARED_DATA / "emnist", "balancedx", "test"), CLASSES, 3000, np.random.default_rng(5))
    results: dict = {}
    print(f"model {recognizer.name}; {args.lines} lines per condition; old = connected components, new = by recognition")
    print(f"{'condition':30s} {'exact lines':>15s}   {'char accuracy':>15s}   {'count right':>15s}   {'ms per line':>13s}")
    print(f"{'':30s} {'old':>7s} {'new':>7s}   {'old':>7s} {'new':>7s}   {'old':>7s} {'new':>7s}   {'old':>6s} {'new':>6s}")
    for n, layout in enumerate(LAYOUTS):
        compare(recognizer, make_lines(real, layout, args.lines, 6, 200 + n), f"real 6 chars {layout}", results)
    print("best cuts, whatever the search picks (real lines above): characters covered / read right there / lines all right")
    for n, layout in enumerate(LAYOUTS):
        results[f"real 6 chars {layout} best cuts"] = found = ceiling(recognizer, real, layout, args.lines, 200 + n)
        print(f"  {layout:10s} {found['covered']:7.1%} {found['covering_reads_right']:7.1%} {found['lines_all_right']:7.1%}", flush=True)
    for n, layout in enumerate(LAYOUTS):
        compare(recognizer, make_lines(emnist, layout, args.lines, 6, 300 + n), f"EMNIST test 6 chars {layout}", results)
    compare(recognizer, photo_lines(args.lines), "photo lines (photo_maker)", results, charset=None)  # all 47 classes
    # Words, where the context prior has a word to follow (on for the new reader), and codes of both kinds, where it must not hurt.
    for n, (kind, chars) in enumerate((("digit words", "0123456789"), ("capital words", CLASSES[10:]), ("codes", CLASSES))):
        glyphs = [glyph for glyph in real if glyph.label in chars]
        compare(recognizer, make_lines(glyphs, "separated", args.lines, 6, 500 + n), f"real {kind} (context on)", results, context=True)
    eight = make_lines(real, "separated", args.lines // 2, 8, 400) + make_lines(real, "touching", args.lines // 2, 8, 401)
    compare(recognizer, eight, "real 8 chars sep+touching", results)
    old_ms, new_ms, found = page(recognizer, real)
    print(f"400-character page: old {old_ms:.0f} ms, new {new_ms:.0f} ms ({found} characters read)")
    results["page_400"] = {"old_ms": round(old_ms), "new_ms": round(new_ms), "characters_read": found}
    print(json.dumps({"benchmark": "reading_lines", "model": recognizer.name, "lines_per_condition": args.lines, **results}))


if __name__ == "__main__":
    main()
