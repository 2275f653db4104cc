"""Seed recipes against ours on the EMNIST x splits, in one run, and evidence about real
handwriting: for every trained model, test accuracy and weighted F1, then accuracy on the same
test characters drawn on the pad (round trip), photographed on paper (synthetic photos) and
written with thin and thick pens — all read through the app's own pipeline.

Full run (hours on 2 CPU cores):  python benchmarks/accuracy.py
Quick look:                      python benchmarks/accuracy.py --splits digitsx --epochs 2 --max-samples 20000
Only score existing models:      python benchmarks/accuracy.py --bundles resources/models/*.lenet
Seeds trained, ours as shipped:  python benchmarks/accuracy.py --recipes lenet5-classic lenet5 --bundles resources/models/*.lenet
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lenet_core import robustness  # noqa: E402
from lenet_core.bundle import read_bundle  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402
from lenet_core.evaluate import evaluate  # noqa: E402
from lenet_core.inference import Recognizer  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "emnist"
SPLITS = ("balancedx", "lettersx", "digitsx")
SEED_SCORES = {"balancedx": 0.854, "lettersx": 0.921, "digitsx": 0.9918}  # measured here, 10 epochs
GOALS = {"balancedx": 0.90, "lettersx": 0.95, "digitsx": 0.996}

# The recipes compared. Seed recipes as the original notebooks ran them: constant learning
# rate, no augmentation, no class weights, 10 epochs. Ours: the shipped models' settings, which
# differ per split (the README's training commands); SPLIT_SETTINGS holds what differs.
RECIPES = {
    "lenet5-classic": dict(architecture="lenet5-classic", epochs=10, schedule="constant", augment=False, balance_classes=False),
    "lenet5": dict(architecture="lenet5", epochs=10, schedule="constant", augment=False, balance_classes=False),
    "lenet-plus": dict(architecture="lenet-plus", epochs=24, schedule="cosine", augment=True, balance_classes=True, label_smoothing=0.1),
}
SPLIT_SETTINGS = {
    ("lenet-plus", "balancedx"): dict(epochs=20, dropout=0.0, validation_fraction=0.0),
    ("lenet-plus", "lettersx"): dict(epochs=16, dropout=0.0, validation_fraction=0.0),
    ("lenet-plus", "digitsx"): dict(epochs=12, dropout=0.0, validation_fraction=0.0),
}


def score(recognizer: Recognizer, split: str, robustness_samples: int) -> dict:
    test = load_dataset(SHARED, split, "test")
    probabilities = recognizer.probabilities_batched(test.images.astype("float32") / 255.0)
    result = evaluate(probabilities, test.labels, test.classes)
    robust = robustness.measure(recognizer, test, samples=robustness_samples)
    return {"accuracy": result.accuracy, "weighted_f1": result.weighted_f1, **{f"robust_{k}": v for k, v in robust.as_dict().items()}}


def train(split: str, recipe: str, epochs: int | None, max_samples: int | None, out: Path) -> tuple[Path, dict]:
    from lenet_core.training import TrainConfig, Trainer

    settings = {**RECIPES[recipe], **SPLIT_SETTINGS.get((recipe, split), {})}
    if epochs is not None:
        settings["epochs"] = epochs
    config = TrainConfig(data=str(SHARED), split=split, max_samples=max_samples, **settings)
    started = time.perf_counter()
    result = Trainer(config).run()
    path = result.save(out / f"{split}-{recipe}.lenet", f"{split}-{recipe}")
    return path, {"train_seconds": time.perf_counter() - started, "epochs": len(result.history), "parameters": int(result.model.count_params())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), help="recipes to train (default: all, or none with --bundles)")
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs (quick runs)")
    parser.add_argument("--max-samples", type=int, help="train on a random subset (quick runs)")
    parser.add_argument("--robustness-samples", type=int, default=1000)
    parser.add_argument("--bundles", nargs="+", type=Path, help="score these model files instead of training")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "accuracy")
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"the EMNIST data is not at {SHARED}")
    rows = []
    recipes = args.recipes if args.recipes is not None else ([] if args.bundles else list(RECIPES))
    for path in args.bundles or []:
        bundle = read_bundle(path)
        split = {10: "digitsx", 26: "lettersx", 47: "balancedx"}[len(bundle.classes)]
        training_info = bundle.meta.get("training", {})
        rows.append({"split": split, "model": bundle.name, "architecture": bundle.architecture,
                     "parameters": bundle.meta.get("parameters"), "epochs": training_info.get("epochs_run"),
                     "train_seconds": training_info.get("seconds"), **score(Recognizer(bundle), split, args.robustness_samples)})
        print(json.dumps(rows[-1]), flush=True)
    if recipes:
        args.out.mkdir(parents=True, exist_ok=True)
        for split in args.splits:
            for recipe in recipes:
                path, info = train(split, recipe, args.epochs, args.max_samples, args.out)
                rows.append({"split": split, "model": path.name, "architecture": recipe, **info,
                             **score(Recognizer(path), split, args.robustness_samples)})
                print(json.dumps(rows[-1]), flush=True)
    header = f"{'split':10s} {'model':28s} {'params':>8s} {'ep':>3s} {'train s':>8s} {'test acc':>8s} {'wF1':>6s} {'round':>6s} {'photo':>6s}  pen 4/10/24/40 px"
    print(header)
    print("-" * len(header))
    for row in rows:
        pens = "/".join(f"{v:.3f}" for v in row["robust_pen_widths"].values())
        print(f"{row['split']:10s} {row['model'][:28]:28s} {row['parameters'] or 0:8,d} {row['epochs'] or 0:3d} {row['train_seconds'] or 0:8.0f} "
              f"{row['accuracy']:8.4f} {row['weighted_f1']:6.4f} {row['robust_round_trip']:6.3f} {row['robust_photo']:6.3f}  {pens}")
    for split in sorted({row["split"] for row in rows}):
        best = max((r for r in rows if r["split"] == split), key=lambda r: r["accuracy"])
        print(f"{split}: best {best['model']} {best['accuracy']:.2%} (seed recipe here {SEED_SCORES[split]:.2%}, goal {GOALS[split]:.1%}); "
              f"round trip within {abs(best['robust_direct'] - best['robust_round_trip']) * 100:.1f} points of direct")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
