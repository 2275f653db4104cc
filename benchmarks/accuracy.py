"""Seed recipes against ours on the EMNIST x splits, in one run, and evidence about real
handwriting: for every trained model, test accuracy and weighted F1, then accuracy on the same
test characters drawn on the pad (round trip), photographed on paper (synthetic photos) and
written with thin and thick pens — all read through the app's own pipeline.

Full run (hours on 2 CPU cores):  python benchmarks/accuracy.py
Quick look:                      python benchmarks/accuracy.py --splits digitsx --epochs 2 --max-samples 20000
Only score existing models:      python benchmarks/accuracy.py --bundles resources/models/*.lenet
Seeds trained, ours as shipped:  python benchmarks/accuracy.py --recipes lenet5-classic lenet5 --bundles resources/models/*.lenet
Real-handwriting conditions, old and new models side by side on the same inputs:
                                 python benchmarks/accuracy.py --compare OLD.lenet NEW.lenet [--robustness-samples 2000]
  (test accuracy; file round trip at 28/64/112/400 px; pad drawing; round pens 4-40 px on a 280 px
  pad; synthetic photos full size and as 24-40 px crops; UNIPEN real pen-tablet characters, all
  writers and the held-out writers — see lenet_core/robustness.py)
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

# ../shared/data next to the checkout (a worktree one level deeper finds it one level up).
SHARED = next((p / "shared" / "data" / "emnist" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "data" / "emnist").exists()),
              ROOT.parent / "shared" / "data" / "emnist")
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


def compare(paths: list[Path], samples: int, seed: int = 0) -> list[dict]:
    """Every model on the same inputs of every condition; one table per split."""
    bundles = [read_bundle(path) for path in paths]
    rows = []
    for n_classes in sorted({len(b.classes) for b in bundles}, reverse=True):
        split = {10: "digitsx", 26: "lettersx", 47: "balancedx"}[n_classes]
        group = [b for b in bundles if len(b.classes) == n_classes]
        test = load_dataset(SHARED, split, "test")
        unipen = None
        folder = SHARED.parent / robustness.UNIPEN_FOLDER
        if folder.exists():
            images, labels, writers = robustness.load_unipen(folder, test.classes)
            unipen = (images, labels, "UNIPEN all")
        started = time.perf_counter()
        conditions, _ = robustness.benchmark_inputs(test, samples, seed, unipen)
        if unipen is not None:
            held = robustness.held_out_writer(writers)
            inputs, labels, readable = conditions["UNIPEN all"]
            conditions["UNIPEN held-out writers"] = (inputs[held], labels[held], readable[held])
        print(f"{split}: inputs of {len(conditions)} conditions made in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        scores = []
        for bundle in group:
            recognizer = Recognizer(bundle)
            full = recognizer.probabilities_batched(test.images.astype("float32") / 255.0)
            scores.append({"test (all)": float((full.argmax(axis=1) == test.labels).mean()), **robustness.score_inputs(recognizer, conditions)})
        names = [f"{b.name} ({b.path.parent.name}/{b.path.name})" for b in group]
        print(f"\n{split}, {samples} test characters per condition; UNIPEN {len(unipen[1]) if unipen else 0} characters")
        print(f"{'condition':26s}" + "".join(f" {'model ' + str(i + 1):>9s}" for i in range(len(group))) + "   gap to direct")
        for condition in scores[0]:
            values = [s[condition] for s in scores]
            gaps = " ".join(f"{(v - s['direct']) * 100:+5.1f}" for v, s in zip(values, scores))
            print(f"{condition:26s}" + "".join(f" {v:9.2%}" for v in values) + f"   {gaps}")
        for i, name in enumerate(names):
            print(f"  model {i + 1}: {name}")
        for bundle, score_row in zip(group, scores):
            rows.append({"split": split, "model": bundle.name, "path": str(bundle.path), "samples": samples,
                         **{k: round(v, 4) for k, v in score_row.items()}})
    return rows


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
    parser.add_argument("--compare", nargs="+", type=Path, metavar="BUNDLE",
                        help="score these models side by side on the real-handwriting conditions (no training)")
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"the EMNIST data is not at {SHARED}")
    if args.compare:
        print(json.dumps({"rows": compare(args.compare, args.robustness_samples)}))
        return
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
