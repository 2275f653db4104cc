"""How the learning rate should follow the batch size (what `--batch-size auto` does): the same
short run at the reference batch 128 and at a larger batch with the rate ×1, ×√ratio and ×ratio,
scored on the test set. `lenet_core.tuning.learning_rate_scale` uses the rule this supports.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from lenet_core import models, training  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "emnist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(SHARED))
    parser.add_argument("--architecture", default="lenet5")
    parser.add_argument("--samples", type=int, default=30000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    train = load_dataset(args.data, "balancedx", "train")
    test = load_dataset(args.data, "balancedx", "test")
    train = train.subset(np.sort(np.random.default_rng(0).choice(len(train), args.samples, replace=False)))
    base = models.ARCHITECTURES[args.architecture].learning_rate
    ratio = args.batch / 128
    runs = [("batch 128, reference rate", 128, base)] + [
        (f"batch {args.batch}, rate ×{scale:.3g} ({rule})", args.batch, base * scale)
        for rule, scale in (("unchanged", 1.0), ("square root", math.sqrt(ratio)), ("linear", ratio))
    ]
    results = {}
    for label, batch, rate in runs:
        config = training.TrainConfig(architecture=args.architecture, epochs=args.epochs, batch_size=batch, learning_rate=rate,
                                      validation_fraction=0.0, augment=False, jit_compile=False, restore_best=False)
        result = training.Trainer(config, train=train, test=test).run()
        results[label] = result.evaluation.accuracy
        print(f"{label:40s} test accuracy {result.evaluation.accuracy:.2%}  ({result.seconds:.0f} s, load {os.getloadavg()[0]:.1f})",
              flush=True)
    print(json.dumps({"architecture": args.architecture, "samples": len(train), "epochs": args.epochs,
                      "accuracy": {label: round(value, 4) for label, value in results.items()}}))


if __name__ == "__main__":
    main()
