"""Fine-tuning a trained model on a few samples of one's own (`TrainConfig.base`): the data's
classes mapped onto the base model's (a class it folds, like `c` into `C`, goes there), the
small EMNIST replay set from `resources/replay/` mixed in so the other classes are not
forgotten, and the base network loaded ready to train at a low learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lenet_core import bundle
from lenet_core.datasets import Dataset
from lenet_core.paths import resource_path
from lenet_core.training import FINE_TUNE_LEARNING_RATE  # noqa: E402,F401 - one place

FINE_TUNE_EPOCHS = 12
FINE_TUNE_BATCH = 32


class AdaptError(ValueError):
    """The data cannot fine-tune this model (e.g. it holds a class the model lacks)."""


@dataclass(frozen=True)
class ReplaySet:
    """EMNIST training images of every class of a model: `train` is mixed in, `check` measures forgetting."""

    name: str
    train: Dataset
    check: Dataset


def class_index(label: str, classes: tuple[str, ...]) -> int | None:
    """Where a data-set class goes among a model's classes: itself, or the other case when the
    model folds the two (EMNIST Balanced reads `c` as `C`, Letters reads `a` as `A`)."""
    if label in classes:
        return classes.index(label)
    if len(label) == 1:
        for other in (label.upper(), label.lower()):
            if other != label and other in classes:
                return classes.index(other)
    return None


def to_model_classes(data: Dataset, classes: tuple[str, ...], model_name: str) -> Dataset:
    """`data` relabelled with the model's classes; a class the model lacks is an error naming it."""
    if data.classes == classes:
        return data
    table = []
    for label in data.classes:
        index = class_index(label, classes)
        if index is None:
            raise AdaptError(f"class {label!r} is not one {model_name} knows (it reads: {''.join(classes)})")
        table.append(index)
    labels = np.asarray(table, dtype=np.int64)[data.labels]
    return Dataset(data.name, data.images, labels, classes, source=data.source, notes=data.notes)


def concat(first: Dataset, second: Dataset, name: str | None = None) -> Dataset:
    if first.classes != second.classes:
        raise ValueError("cannot join data sets with different classes")
    return Dataset(name or first.name, np.concatenate([first.images, second.images]),
                   np.concatenate([first.labels, second.labels]), first.classes, source=first.source, notes=first.notes)


def replay_dir() -> Path:
    return resource_path("replay")


def replay_for(classes: tuple[str, ...]) -> ReplaySet | None:
    """The shipped replay set with exactly these classes, or None (e.g. a model of other classes)."""
    folder = replay_dir()
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        with np.load(path) as archive:
            if tuple(str(c) for c in archive["classes"]) != tuple(classes):
                continue
            name = str(archive["source"])
            train = Dataset(f"{name} (replay)", archive["train_images"], archive["train_labels"].astype(np.int64), tuple(classes))
            check = Dataset(f"{name} (replay check)", archive["check_images"], archive["check_labels"].astype(np.int64), tuple(classes))
            return ReplaySet(path.stem, train, check)
    return None


def resolve_base(name_or_path: str) -> bundle.ModelBundle:
    """The base model by name or file; one clear error when it cannot be fine-tuned."""
    base = bundle.resolve(name_or_path)
    from lenet_core import models

    if base.architecture not in models.ARCHITECTURES:
        raise AdaptError(f"{base.name}: architecture {base.architecture!r} is not one this version can train")
    try:
        base.keras_bytes()
    except bundle.BundleError:
        raise AdaptError(f"{base.name} holds no Keras model to fine-tune (only its LiteRT network)") from None
    return base


def load_for_fine_tuning(base: bundle.ModelBundle, learning_rate, label_smoothing: float, jit_compile):
    """The base network compiled to train, its batch-norm layers frozen: a few hundred samples
    would drag their running statistics away from what the rest of the data needs."""
    import keras

    from lenet_core import models
    from lenet_core.training import load_keras_model

    model = load_keras_model(base)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return models._compile(model, learning_rate, label_smoothing, jit_compile=jit_compile)


def accuracy(model, data: Dataset | None) -> float | None:
    """Top-1 accuracy of a Keras model on a data set (None for none)."""
    if data is None or len(data) == 0:
        return None
    probabilities = model.predict(data.images[..., None].astype(np.float32) / 255.0, batch_size=1024, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == data.labels))


@dataclass(frozen=True)
class Adaptation:
    """Before/after figures of a fine-tuning run."""

    base: str
    base_file: str
    own_samples: int  # held out, not trained on
    own_before: float | None
    own_after: float | None
    replay_samples: int
    replay_before: float | None
    replay_after: float | None
    replay_mixed_in: int

    def describe(self) -> str:
        def pair(before, after):
            return "–" if before is None else f"{before:.1%} → {after:.1%}"

        return (f"your held-out samples ({self.own_samples}): {pair(self.own_before, self.own_after)}; "
                f"EMNIST replay check ({self.replay_samples}): {pair(self.replay_before, self.replay_after)}")
