"""More labelled training images from the shared EMNIST pool, never one of the test images.

The balancedx training split holds at most 2,400 images per class, while the pool offers far
more for the digits and the common letters (e.g. the official `bymerge` test file: 116,323
images of the same 47 classes). `extra_training_images` takes images from such a part, drops
every image whose pixels equal an image of the test part (or of the training part already
used), and tops each class up to a total.
"""

from __future__ import annotations

import hashlib

import numpy as np

from lenet_core.datasets import Dataset


def image_hashes(images: np.ndarray) -> np.ndarray:
    """One 16-byte digest per 28×28 image (of its upright pixels), as an array of bytes objects."""
    flat = np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), -1)
    return np.array([hashlib.md5(row.tobytes()).digest() for row in flat], dtype=object)


def extra_training_images(pool: Dataset, train: Dataset, exclude: list[Dataset], per_class_total: int, seed: int = 0) -> Dataset:
    """Images of `pool` (same classes as `train`) not in `train` nor in any `exclude` set (by
    pixel hash, duplicates inside the pool dropped too), at most enough per class to bring
    `train` to `per_class_total` images of that class; a random choice, fixed by `seed`."""
    if pool.classes != train.classes:
        raise ValueError(f"the pool's classes {pool.classes[:5]}… differ from the training classes")
    seen = set(image_hashes(train.images).tolist())
    for data in exclude:
        seen.update(image_hashes(data.images).tolist())
    hashes = image_hashes(pool.images)
    keep = np.zeros(len(pool), bool)
    for i, digest in enumerate(hashes.tolist()):
        if digest not in seen:
            keep[i] = True
            seen.add(digest)  # a duplicate inside the pool is taken once
    rng = np.random.default_rng(seed)
    counts = train.class_counts()
    chosen = []
    for label in range(train.n_classes):
        members = np.flatnonzero(keep & (pool.labels == label))
        room = max(0, per_class_total - int(counts[label]))
        if room and len(members):
            chosen.append(rng.permutation(members)[:room])
    index = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
    return pool.subset(index, f"{pool.name} (extra)")


def pen_tablet_images(folder, classes: tuple[str, ...], held_out_share: float = 0.3, repeat: int = 1) -> Dataset:
    """Real pen-tablet characters (a folder like ../shared/data/realhand/unipen_r01v07: labels.csv
    with path, label_char, writer) of the writers NOT held out, read through the drawing
    pipeline as the app reads a drawing, folded to `classes`, each `repeat` times.
    The held-out writers (robustness.held_out_writer) are the ones to report accuracy on."""
    from pathlib import Path

    from lenet_core import preprocess, robustness

    images, labels, writers = robustness.load_unipen(folder, classes)
    keep = ~robustness.held_out_writer(writers, held_out_share)
    inputs, kept = [], []
    for image, label in zip(images[keep], labels[keep]):
        result = preprocess.run(image, preprocess.DRAWING)
        if not result.empty:
            inputs.append(result.as_uint8())
            kept.append(label)
    stacked = np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.uint8)
    index = np.tile(np.arange(len(kept)), max(1, repeat))
    return Dataset(f"{Path(folder).name} (train writers)", stacked[index], np.asarray(kept, np.int64)[index], tuple(classes))


def combined(train: Dataset, extra: Dataset) -> Dataset:
    """`train` followed by `extra`, under the training set's name."""
    return Dataset(
        name=train.name,
        images=np.concatenate([train.images, extra.images]),
        labels=np.concatenate([train.labels, extra.labels]),
        classes=train.classes,
        source=train.source,
        notes=train.notes + (f"+ {len(extra):,} images of {extra.name}",),
    )
