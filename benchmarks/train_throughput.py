"""Training throughput: our Trainer against a seed-style `model.fit(x, y)` (Keras defaults:
batch 32, no XLA) on the same network and the same data, measured in one run. Target ≥ 3×.

Epoch 1 is excluded from both (graph building and XLA compilation); the figure is samples per
second over the following epochs.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from lenet_core import models, training  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "emnist"


class EpochTimes(training.TrainingCallbacks):
    def __init__(self):
        self.seconds = []

    def on_epoch(self, result):
        self.seconds.append(result.seconds)


def seed_style(architecture: str, data, epochs: int) -> float:
    """What the seed notebooks do: compile with defaults and fit on arrays, batch 32."""
    import keras

    model = models.build(architecture, data.n_classes, jit_compile=False)
    x = data.images[..., None].astype(np.float32) / 255.0
    y = keras.ops.one_hot(data.labels, data.n_classes)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[Clock()])
    return len(x) / float(np.mean(times[1:]))


def ours(architecture: str, data, epochs: int, augment: bool) -> float:
    clock = EpochTimes()
    config = training.TrainConfig(architecture=architecture, epochs=epochs, validation_fraction=0.0, augment=augment, restore_best=False)
    training.Trainer(config, clock, train=data).run()
    return len(data) / float(np.mean(clock.seconds[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--architecture", default="lenet5")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    if SHARED.exists():
        data = load_dataset(SHARED, "balancedx", "train")
    else:
        data = load_dataset(ROOT / "tests" / "data" / "emnist", "digitsmini", "train")
    if len(data) > args.samples:
        data = data.subset(np.arange(args.samples))
    device = training.setup_tensorflow()
    seed = seed_style(args.architecture, data, args.epochs)
    plain = ours(args.architecture, data, args.epochs, augment=False)
    augmented = ours(args.architecture, data, args.epochs, augment=True)
    print(f"{args.architecture} on {len(data):,} samples of {data.name}, {device}")
    print(f"seed-style fit (batch 32, no XLA): {seed:8,.0f} samples/s")
    print(f"our Trainer (no augmentation):    {plain:8,.0f} samples/s   ratio {plain / seed:.2f}×")
    print(f"our Trainer (with augmentation):  {augmented:8,.0f} samples/s   ratio {augmented / seed:.2f}×")
    print(json.dumps({
        "architecture": args.architecture, "samples": len(data), "device": device,
        "seed_samples_per_s": round(seed), "ours_samples_per_s": round(plain), "ours_augmented_samples_per_s": round(augmented),
        "ratio": round(plain / seed, 2), "ratio_augmented": round(augmented / seed, 2), "target_ratio": 3.0,
    }))


if __name__ == "__main__":
    main()
