"""How training runs fastest on this machine: XLA or not, and the CPU batch size, chosen from a
short probe (a few timed steps of each option) and cached in the user data folder per machine
(CPU model and core count), architecture and TensorFlow version. Asked-for values always win.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lenet_core import models
from lenet_core.paths import atomic_write, user_data_dir

CACHE_NAME = "training-probe.json"
CACHE_VERSION = 2  # 2: the probe trains with the fused batch norm the Trainer uses
BATCH_CANDIDATES = (128, 256, 512, 1024)  # those up to the architecture's largest_batch are probed
PROBE_CLASSES = 47  # the head's width barely changes a step's time; 47 is the balanced split


@dataclass(frozen=True)
class Option:
    jit: bool
    batch_size: int

    @property
    def label(self) -> str:
        return f"xla-{'on' if self.jit else 'off'}/{self.batch_size}"

    @classmethod
    def parse(cls, label: str) -> Option:
        mode, batch = label.split("/")
        return cls(mode == "xla-on", int(batch))


@dataclass(frozen=True)
class Choice:
    jit: bool
    batch_size: int
    learning_rate_scale: float = 1.0
    source: str = "asked"  # asked | probe | cache | gpu | strategy
    rates: dict[str, float] = field(default_factory=dict)  # samples/s per option label

    def describe(self) -> str:
        text = f"XLA {'on' if self.jit else 'off'}, batch {self.batch_size}"
        if self.learning_rate_scale != 1.0:
            text += f", learning rate ×{self.learning_rate_scale:.2g} for the batch"
        if self.rates:
            measured = ", ".join(f"{label} {rate:,.0f}/s" for label, rate in sorted(self.rates.items(), key=lambda kv: -kv[1]))
            text += f" ({'measured now' if self.source == 'probe' else 'measured earlier on this machine'}: {measured})"
        elif self.source == "gpu":
            text += " (GPU: XLA on, batch as asked)"
        elif self.source == "short":
            text += " (a short run: not worth probing or compiling)"
        elif self.source == "strategy":
            text += " (distributed: no probe, so every worker runs the same)"
        else:
            text += " (as asked)"
        return text

    def as_dict(self) -> dict:
        return {"jit": self.jit, "batch_size": self.batch_size, "learning_rate_scale": round(self.learning_rate_scale, 4),
                "source": self.source, "samples_per_second": {k: round(v, 1) for k, v in self.rates.items()}}


def learning_rate_scale(batch_size: int, reference_batch: int) -> float:
    """The rate's factor for `batch_size` instead of the reference batch: linear in the ratio.
    Measured (benchmarks/batch_learning_rate.py, lenet5, 3 epochs): batch 512 with the rate ×4
    reached 71.7 % against 70.0 % at batch 128, ×2 (square root) 64.1 %, unchanged 54.4 %;
    lenet-plus 79.9 % against 80.4 %, ×2 77.7 %, unchanged 72.6 %."""
    return batch_size / reference_batch


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_key(architecture: str, tf_version: str) -> str:
    return f"{cpu_model()} × {os.cpu_count()} cores | {architecture} | TensorFlow {tf_version}"


def cache_path() -> Path:
    return user_data_dir() / CACHE_NAME


def read_cache(path: Path | None = None) -> dict[str, dict[str, float]]:
    """{machine key: {option label: samples/s}}; a missing or unreadable cache is empty."""
    path = path or cache_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("rates"), dict):
        return {}
    return {key: {label: float(rate) for label, rate in rates.items()} for key, rates in data["rates"].items() if isinstance(rates, dict)}


def write_cache(table: dict[str, dict[str, float]], path: Path | None = None) -> None:
    path = path or cache_path()
    with atomic_write(path, "w") as handle:
        json.dump({"version": CACHE_VERSION, "rates": table}, handle, indent=1, sort_keys=True)


Measure = Callable[[Option], float]  # samples per second of one option


def choose(
    key: str,
    measure: Measure,
    jit: bool | None,
    batch_size: int,
    auto_batch: bool,
    candidates: tuple[int, ...] = BATCH_CANDIDATES,
    path: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> Choice:
    """The fastest option for what is not asked for. `jit` None: measure XLA on and off (at the
    asked batch, or the reference batch when the batch is also free); `auto_batch`: measure the
    candidate batches with the chosen mode. Rates already in the cache under `key` are reused;
    new ones are added to it (a cache that cannot be written is only logged)."""
    if jit is not None and not auto_batch:
        return Choice(jit, batch_size)
    table = read_cache(path)
    known = dict(table.get(key, {}))
    used: dict[str, float] = {}
    fresh = False

    def rate(option: Option) -> float:
        nonlocal fresh
        if option.label not in known:
            if not fresh:
                log("measuring which compile mode and batch size train fastest here (once per machine; a few steps each)")
            known[option.label] = float(measure(option))
            fresh = True
        used[option.label] = known[option.label]
        return known[option.label]

    chosen_jit = jit
    if chosen_jit is None:
        chosen_jit = rate(Option(True, batch_size)) > rate(Option(False, batch_size))
    chosen_batch = batch_size
    if auto_batch:
        chosen_batch = max(sorted({*candidates, batch_size}), key=lambda batch: rate(Option(chosen_jit, batch)))
    if fresh:
        table[key] = known
        try:
            write_cache(table, path)
        except OSError as error:
            log(f"could not keep the speed probe's results ({error}); it will run again next time")
    scale = learning_rate_scale(chosen_batch, batch_size) if chosen_batch != batch_size else 1.0
    return Choice(chosen_jit, chosen_batch, scale, "probe" if fresh else "cache", used)


def keras_measure(architecture: str, augment: bool, steps: int = 8, warmup: int = 2, budget_s: float = 4.0,
                  timer: Callable[[], float] = time.perf_counter, seed: int = 0) -> Measure:
    """Times real training steps of `architecture` on random images through the same input
    pipeline the Trainer uses: `warmup` steps (graph building, XLA compilation) are not timed,
    then up to `steps` steps or `budget_s` seconds, whichever ends first (at least 2 steps)."""
    warmup = max(1, warmup)

    def measure(option: Option) -> float:
        import keras
        import numpy as np

        from lenet_core import models, training
        from lenet_core.datasets import Dataset

        rng = np.random.default_rng(seed)
        n = option.batch_size * (warmup + steps)
        images = (rng.random((n, 28, 28)) < 0.2).astype(np.uint8) * 255
        labels = rng.integers(0, PROBE_CLASSES, n)
        data = Dataset("probe", images, labels, tuple(str(i) for i in range(PROBE_CLASSES)))
        dataset = training.make_tf_dataset(data, option.batch_size, True, augment, seed)
        model = models.build(architecture, PROBE_CLASSES, jit_compile=option.jit, fused_batch_norm=True)
        stamps: list[float] = []

        class Clock(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                stamps.append(timer())
                if len(stamps) - warmup >= 2 and stamps[-1] - stamps[warmup - 1] >= budget_s:
                    self.model.stop_training = True

        model.fit(dataset, epochs=1, verbose=0, callbacks=[Clock()], shuffle=False)
        keras.backend.clear_session()
        timed = len(stamps) - warmup
        seconds = stamps[-1] - stamps[warmup - 1]
        return option.batch_size * timed / seconds if seconds > 0 else math.inf

    return measure


SHORT_RUN_STEPS = 300  # fewer steps than this: probing (and compiling XLA) would cost more than it saves


def settle(config, device: str, log: Callable[[str], None], samples: int, measure: Measure | None = None) -> Choice:
    """The Trainer's hook: XLA and batch for this run of `samples` training samples. On a GPU,
    and under a tf.distribute strategy (every worker must run the same), nothing is probed;
    a short run uses what an earlier probe measured, or no XLA."""
    import tensorflow as tf

    if device.startswith("GPU"):
        return Choice(True if config.jit_compile is None else config.jit_compile, config.batch_size, source="gpu")
    if config.strategy != "default":
        return Choice(bool(config.jit_compile), config.batch_size, source="strategy")
    key = machine_key(config.architecture, tf.__version__)
    if config.jit_compile is None and not config.auto_batch_size and config.epochs * samples / config.batch_size < SHORT_RUN_STEPS:
        known = read_cache().get(key, {})
        on, off = (known.get(Option(jit, config.batch_size).label) for jit in (True, False))
        if on is not None and off is not None:
            return Choice(on > off, config.batch_size, source="cache", rates={Option(j, config.batch_size).label: r
                                                                             for j, r in ((True, on), (False, off))})
        return Choice(False, config.batch_size, source="short")
    if config.jit_compile is None or config.auto_batch_size:
        measure = measure or keras_measure(config.architecture, config.augment)
        largest = models.ARCHITECTURES[config.architecture].largest_batch
        return choose(key, measure, config.jit_compile, config.batch_size, config.auto_batch_size,
                      tuple(batch for batch in BATCH_CANDIDATES if batch <= largest), log=log)
    return Choice(config.jit_compile, config.batch_size)
