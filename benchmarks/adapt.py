"""Teaching the shipped model a new writer's hand: fine-tune on 5 samples per class of a style
it reads worse, then compare before/after on held-out samples of that style and on the EMNIST
test set, and time it (the whole run: loading TensorFlow and the model, training, scoring).

Styles:
  unipen  real pen-tablet writers (shared/data/realhand/unipen_r01v07), split by writer: the
          5 samples per class come from half of the writers, the score from the other half;
  pen40   EMNIST written with a 40-px pen on the 280-px pad (lenet_core.robustness): samples
          from the balancedx TRAIN part, the score from its test part.

    python benchmarks/adapt.py                      # unipen, emnist-balanced
    python benchmarks/adapt.py --style pen40
Goal: ≥ +3 points on the style, ≤ 1.5 points lost on EMNIST test, ≤ 60 s. JSON line last.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from lenet_core import adapt, bundle, preprocess, robustness  # noqa: E402
from lenet_core.datasets import Dataset, load_dataset  # noqa: E402
from lenet_core.imageio import read_image  # noqa: E402
from lenet_core.training import TrainConfig, Trainer, load_keras_model  # noqa: E402

# The developers' shared data: beside the checkout, or beside the main checkout for a worktree.
SHARED = next((p for p in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data") if p.is_dir()),
              ROOT.parent / "shared" / "data")
UNIPEN = SHARED / "realhand" / "unipen_r01v07"
GOALS = {"style_gain_points": 3.0, "emnist_loss_points": 1.5, "seconds": 60.0}


def _inputs(images) -> np.ndarray:
    """Each image through the app's photo pipeline (as the image-folder loader reads samples)."""
    out = []
    for image in images:
        result = preprocess.run(image, preprocess.PHOTO)
        out.append(result.as_uint8() if not result.empty else np.zeros((28, 28), np.uint8))
    return np.stack(out)


def unipen_style(classes: tuple[str, ...], per_class: int, seed: int, group: str | None = None) -> tuple[Dataset, Dataset, str]:
    rows = list(csv.DictReader(open(UNIPEN / "labels.csv", newline="", encoding="utf-8")))
    rows = [row for row in rows if adapt.class_index(row["label_char"], classes) is not None
            and (group is None or row["writer"].startswith(f"{group}/"))]
    held_writer = {w: int(hashlib.sha256(f"{seed}:{w}".encode()).hexdigest(), 16) % 2 == 0 for w in {r["writer"] for r in rows}}
    train_rows = [r for r in rows if not held_writer[r["writer"]]]
    test_rows = [r for r in rows if held_writer[r["writer"]]]
    rng = np.random.default_rng(seed)
    chosen = []
    for index, _ in enumerate(classes):
        members = [r for r in train_rows if adapt.class_index(r["label_char"], classes) == index]
        chosen += [members[i] for i in rng.choice(len(members), min(per_class, len(members)), replace=False)]

    def dataset(selected, name):
        images = _inputs(read_image(UNIPEN / r["path"]) for r in selected)
        labels = np.array([adapt.class_index(r["label_char"], classes) for r in selected], np.int64)
        return Dataset(name, images, labels, classes)

    writers = len({r["writer"] for r in chosen})
    held = len({r["writer"] for r in test_rows})
    return (dataset(chosen, "unipen (samples)"), dataset(test_rows, "unipen (held-out writers)"),
            f"UNIPEN{' ' + group if group else ''}: {len(chosen)} samples from {writers} writers; scored on {len(test_rows)} images of {held} other writers")


def pen_style(data_dir: Path, split: str, per_class: int, seed: int, width: float = 40.0, test_size: int = 2000):
    train = load_dataset(data_dir, split, "train")
    test = load_dataset(data_dir, split, "test")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(train.labels == c), per_class, replace=False) for c in range(train.n_classes)])
    scored = np.sort(rng.choice(len(test), min(test_size, len(test)), replace=False))

    def dataset(source, index, name):
        images = _inputs(robustness.with_pen_width(source.images[i], width) for i in index)
        return Dataset(name, images, source.labels[index], source.classes)

    return (dataset(train, chosen, f"pen {width:g} (samples)"), dataset(test, scored, f"pen {width:g} (held out)"),
            f"{width:g}-px pen: {len(chosen)} samples from {split} train; scored on {len(scored)} {split} test images")


def accuracy(model, data: Dataset) -> float:
    return adapt.accuracy(model, data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="emnist-balanced")
    parser.add_argument("--style", choices=("unipen", "pen40"), default="unipen")
    parser.add_argument("--group", help="unipen: only this contributor's writers (e.g. apb, one lab's tablet)")
    parser.add_argument("--per-class", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=adapt.FINE_TUNE_EPOCHS)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(SHARED / "emnist"))
    args = parser.parse_args()
    base = bundle.resolve(args.model)
    split = base.meta.get("dataset", {}).get("split") or "balancedx"
    if args.style == "unipen":
        samples, held_out, what = unipen_style(base.classes, args.per_class, args.seed, args.group)
    else:
        samples, held_out, what = pen_style(Path(args.data), split, args.per_class, args.seed)
    emnist_test = load_dataset(args.data, split, "test")
    print(what, file=sys.stderr)

    config = TrainConfig(data="(benchmark)", base=args.model, epochs=args.epochs, batch_size=adapt.FINE_TUNE_BATCH,
                         learning_rate=args.lr, validation_fraction=0.0, seed=args.seed)
    started = time.perf_counter()
    result = Trainer(config, train=samples).run()
    seconds = time.perf_counter() - started
    before_model = load_keras_model(base)
    style_before, style_after = accuracy(before_model, held_out), accuracy(result.model, held_out)
    emnist_before, emnist_after = accuracy(before_model, emnist_test), accuracy(result.model, emnist_test)
    record = {
        "benchmark": "adapt", "model": args.model, "style": args.style + (f":{args.group}" if args.group else ""), "samples": len(samples), "per_class": args.per_class,
        "epochs": args.epochs, "learning_rate": result.config.learning_rate or adapt.FINE_TUNE_LEARNING_RATE,
        "style_held_out": len(held_out), "style_before": round(style_before, 4), "style_after": round(style_after, 4),
        "style_gain_points": round(100 * (style_after - style_before), 2),
        "emnist_test": len(emnist_test), "emnist_before": round(emnist_before, 4), "emnist_after": round(emnist_after, 4),
        "emnist_loss_points": round(100 * (emnist_before - emnist_after), 2),
        "replay_before": result.adaptation.replay_before, "replay_after": result.adaptation.replay_after,
        "seconds": round(seconds, 1), "device": result.device, "cpus": os.cpu_count(),
    }
    record["goals_met"] = (record["style_gain_points"] >= GOALS["style_gain_points"]
                           and record["emnist_loss_points"] <= GOALS["emnist_loss_points"] and seconds <= GOALS["seconds"])
    print(f"{what}\nstyle {style_before:.2%} → {style_after:.2%} ({record['style_gain_points']:+.2f} points); "
          f"EMNIST test {emnist_before:.2%} → {emnist_after:.2%} ({-record['emnist_loss_points']:+.2f}); {seconds:.1f} s", file=sys.stderr)
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
