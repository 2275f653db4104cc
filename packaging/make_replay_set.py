"""Make the replay sets in `resources/replay/`: a few EMNIST training images per class that
fine-tuning mixes in, so classes the user gave no samples of are not forgotten.

For each x split (balancedx, lettersx, digitsx) it takes, from the TRAIN part only (never the
test part, so test accuracy stays honest), a seeded random `--train` images per class to mix
in and `--check` more per class to measure forgetting, and writes `<split>.npz` (uint8
upright 28×28 images, labels, the class characters).

    .venv/bin/python packaging/make_replay_set.py --data ../shared/data/emnist
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lenet_core.datasets import load_dataset  # noqa: E402
from lenet_core.paths import atomic_write  # noqa: E402

SPLITS = ("balancedx", "lettersx", "digitsx")


def pick(labels: np.ndarray, n_classes: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [rng.choice(np.flatnonzero(labels == label), per_class, replace=False) for label in range(n_classes)]
    return np.stack(chosen)  # classes × per_class


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "emnist"))
    parser.add_argument("--out", default=str(ROOT / "resources" / "replay"))
    parser.add_argument("--train", type=int, default=20, help="images per class to mix in (default 20)")
    parser.add_argument("--check", type=int, default=10, help="more images per class to measure forgetting (default 10)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    for split in SPLITS:
        data = load_dataset(args.data, split, "train")
        rng = np.random.default_rng(args.seed)
        chosen = pick(data.labels, data.n_classes, args.train + args.check, rng)
        train, check = chosen[:, : args.train].ravel(), chosen[:, args.train :].ravel()
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, classes=np.array(data.classes), source=np.array(f"emnist-{split}-train"),
            train_images=data.images[train], train_labels=data.labels[train].astype(np.uint8),
            check_images=data.images[check], check_labels=data.labels[check].astype(np.uint8),
        )
        target = Path(args.out) / f"{split}.npz"
        with atomic_write(target) as handle:
            handle.write(buffer.getvalue())
        print(f"{target}: {len(train)} to mix in + {len(check)} to check, {data.n_classes} classes, {target.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
