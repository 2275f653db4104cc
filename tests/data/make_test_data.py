"""Regenerate the small real-EMNIST slices the tests use (needs ../shared/data).

Slices, chosen with a fixed seed, written with the project's own IDX writer:
- digitsmini: 800 train / 200 test images from digitsx-train (10 classes)
- balancedmini: 10 test images per class from balancedx-test (47 classes)
"""

import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from lenet_core.datasets import load_dataset, write_idx  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "emnist"
OUT = Path(__file__).resolve().parent / "emnist"


def label_values(classes, mapping_file):
    lines = [line.split() for line in mapping_file.read_text().splitlines() if line.strip()]
    return np.array([int(fields[0]) for fields in lines])


def main():
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    digits = load_dataset(SHARED, "digitsx", "train")
    pick = rng.choice(len(digits), 1000, replace=False)
    for part, index in (("train", pick[:800]), ("test", pick[800:])):
        write_idx(OUT / f"emnist-digitsmini-{part}-images-idx3-ubyte.gz", OUT / f"emnist-digitsmini-{part}-labels-idx1-ubyte.gz",
                  digits.images[index], digits.labels[index])
    shutil.copy(SHARED / "emnist-digitsx-mapping.txt", OUT / "emnist-digitsmini-mapping.txt")
    balanced = load_dataset(SHARED, "balancedx", "test")
    index = np.concatenate([rng.choice(np.flatnonzero(balanced.labels == k), 10, replace=False) for k in range(47)])
    raw = label_values(balanced.classes, SHARED / "emnist-balancedx-mapping.txt")[balanced.labels[index]]
    write_idx(OUT / "emnist-balancedmini-test-images-idx3-ubyte.gz", OUT / "emnist-balancedmini-test-labels-idx1-ubyte.gz",
              balanced.images[index], raw)
    shutil.copy(SHARED / "emnist-balancedx-mapping.txt", OUT / "emnist-balancedmini-mapping.txt")


if __name__ == "__main__":
    main()
