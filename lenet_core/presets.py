"""Named training recipes: "quick" (a good model in minutes on a laptop CPU) and "full" (the
EMNIST-only recipe of the earlier shipped balanced model; the shipped one also trains on extra
pool images and real pen writers, see the README). A preset fills in only the settings a user leaves unset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    settings: dict[str, Any]  # TrainConfig fields


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "quick",
            "≥ 88 % on EMNIST balanced in about 10 minutes on 2 CPU cores: 6 epochs, batch 256, warm-up then cosine",
            # Measured (benchmarks/time_to_accuracy.py, benchmarks/README.md): twice lenet-plus's 2e-3 for
            # twice its batch (linear scaling, benchmarks/batch_learning_rate.py), reached over half an epoch
            # of warm-up, trains stably; the test accuracy passed 88 % in epoch 3 and ended at 88.99 %.
            dict(architecture="lenet-plus", epochs=6, batch_size=256, learning_rate=4e-3, warmup_epochs=0.5,
                 label_smoothing=0.1, dropout=0.0, validation_fraction=0.0, schedule="cosine"),
        ),
        Preset(
            "full",
            "the EMNIST-only balanced recipe (89.6 %): 20 epochs, about 40 minutes on 2 CPU cores",
            dict(architecture="lenet-plus", epochs=20, batch_size=128, label_smoothing=0.1, dropout=0.0,
                 validation_fraction=0.0, schedule="cosine"),
        ),
    )
}


def preset_config(name: str, base=None, keep: frozenset[str] | set[str] = frozenset()):
    """`base` (a TrainConfig; default: the defaults) with the preset's settings, except the
    fields named in `keep` (those the user set). Unknown names raise ValueError."""
    from lenet_core.training import TrainConfig

    try:
        preset = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})") from None
    base = base if base is not None else TrainConfig()
    return replace(base, **{key: value for key, value in preset.settings.items() if key not in keep})
