"""The training-throughput benchmark's Trainer measurement runs (it once broke when the Trainer
began refusing a run with nothing to test on) and gives a rate from the later epochs only."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
from conftest import ROOT, TEST_DATA


def _benchmark():
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks" / "train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_measures_the_trainer_on_tiny_data():
    from lenet_core.datasets import load_dataset

    benchmark = _benchmark()
    data = load_dataset(TEST_DATA / "emnist", "digitsmini", "train").subset(np.arange(256))
    test = load_dataset(TEST_DATA / "emnist", "digitsmini", "test").subset(np.arange(64))
    rate, speed, cpu_us, choice = benchmark.ours("lenet5", data, test, 2, False, 64)
    assert math.isfinite(rate) and rate > 0
    assert 0 < cpu_us < 1e6  # a second of CPU per 28×28 sample would be no measurement
    assert speed.startswith("speed: XLA off, batch 64")
    assert (choice["jit"], choice["batch_size"]) == (False, 64)
