"""Short probes of augmentation choices (issue 13): fine-tune the shipped balanced model for a
fraction of an epoch with each choice and score it on the real-handwriting conditions of
benchmarks/accuracy.py. A probe only: what ships is trained from scratch (README).

    python benchmarks/probe_augment.py [--samples 30000] [--variants control quality pens all]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.accuracy import SHARED  # noqa: E402
from lenet_core import augment, extra_data, robustness  # noqa: E402
from lenet_core.bundle import read_bundle  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402

BASE = augment.AugmentSettings().with_quality()
VARIANTS = {
    "control": (BASE.without_quality(), 0.0),
    "quality": (BASE, 0.0),
    "pens": (BASE.without_quality(), 0.5),
    "all": (BASE, 0.5),
    "elastic": (dataclasses.replace(BASE.without_quality(), elastic_px=1.0), 0.0),
    "blur": (dataclasses.replace(BASE.without_quality(), blur=0.8, sharpen=0.5), 0.0),
    "lowres": (dataclasses.replace(BASE.without_quality(), low_res=0.15, noise=0.03), 0.0),
    "all-pens30": (BASE, 0.3),
    "all-pens70": (BASE, 0.7),
    "control+unipen": (BASE.without_quality(), 0.0),
    "pens+unipen": (BASE.without_quality(), 0.5),
    "all+unipen": (BASE, 0.5),
}


def conditions(samples: int) -> dict:
    cache = ROOT / "build" / f"probe-inputs-{samples}.npz"
    test = load_dataset(SHARED, "balancedx", "test")
    if cache.exists():
        data = np.load(cache)
        names = json.loads(str(data["names"]))
        return {name: (data[f"x{i}"], data[f"y{i}"], data[f"r{i}"]) for i, name in enumerate(names)}
    images, labels, _ = robustness.load_unipen(SHARED.parent / robustness.UNIPEN_FOLDER, test.classes)
    made, _ = robustness.benchmark_inputs(test, samples, 0, (images, labels, "UNIPEN all"))
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for i, (x, y, r) in enumerate(made.values()):
        arrays.update({f"x{i}": x, f"y{i}": y, f"r{i}": r})
    np.savez_compressed(cache, names=json.dumps(list(made)), **arrays)
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30000, help="training images of the fine-tune")
    parser.add_argument("--test-samples", type=int, default=500)
    parser.add_argument("--variants", nargs="+", default=["control", "quality", "pens", "all"], choices=list(VARIANTS))
    parser.add_argument("--lr", type=float, default=5e-4)
    args = parser.parse_args()
    from lenet_core.training import class_weights, load_keras_model, make_tf_dataset, setup_tensorflow

    setup_tensorflow()
    import keras

    made = conditions(args.test_samples)
    train = load_dataset(SHARED, "balancedx", "train")
    rng = np.random.default_rng(0)
    train = train.subset(np.sort(rng.choice(len(train), args.samples, replace=False)))
    started = time.perf_counter()
    pens = augment.pen_copies(train.images, seed=1)
    print(f"pen copies of {len(train)} images: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    bundle = read_bundle(ROOT / "resources" / "models" / "emnist-balanced.lenet")
    results = {}

    def score(model) -> dict:
        out = {}
        for name, (x, y, r) in made.items():
            predictions = model.predict(x[..., None], batch_size=1024, verbose=0).argmax(axis=1)
            out[name] = round(float(np.mean((predictions == y) & r)), 4)
        return out

    unipen_folder = SHARED.parent / robustness.UNIPEN_FOLDER
    _, _, writers = robustness.load_unipen(unipen_folder, train.classes)
    held = robustness.held_out_writer(writers)
    x, y, r = made["UNIPEN all"]
    made["UNIPEN held-out"] = (x[held], y[held], r[held])
    real = extra_data.pen_tablet_images(unipen_folder, train.classes, repeat=2)
    print(f"UNIPEN train writers: {len(real) // 2} images (x2); held-out writers: {held.sum()} images", file=sys.stderr, flush=True)
    with_real = extra_data.combined(train, real)
    with_real_pens = np.concatenate([pens, augment.pen_copies(real.images, seed=2)])
    results["shipped"] = score(load_keras_model(bundle))
    print(json.dumps({"shipped": results["shipped"]}), flush=True)
    for variant in args.variants:
        settings, fraction = VARIANTS[variant]
        keras.utils.set_random_seed(0)
        model = load_keras_model(bundle)
        model.compile(optimizer=keras.optimizers.Adam(args.lr), loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                      metrics=["accuracy"])
        data, copies = (with_real, with_real_pens) if variant.endswith("+unipen") else (train, pens)
        ds = make_tf_dataset(data, 128, True, True, 0, class_weights(data.labels, data.n_classes), pen_images=copies,
                             pen_fraction=fraction, settings=settings)
        started = time.perf_counter()
        model.fit(ds, epochs=1, verbose=0)
        results[variant] = score(model)
        print(json.dumps({variant: results[variant], "seconds": round(time.perf_counter() - started)}), flush=True)
    names = list(results["shipped"])
    print(f"{'condition':22s}" + "".join(f" {v:>10s}" for v in results))
    for name in names:
        print(f"{name:22s}" + "".join(f" {results[v][name]:10.2%}" for v in results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
