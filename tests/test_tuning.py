"""The speed probe (lenet_core.tuning): it picks the faster option from the timings it is given,
caches them per machine key, reuses them, and never overrides what the user asked for."""

from __future__ import annotations

import json

import pytest

from lenet_core import tuning
from lenet_core.training import TrainConfig, Trainer, TrainingCallbacks
from lenet_core.tuning import Option, choose


class FakeMeasure:
    """Samples/s per option from a table; records what was measured."""

    def __init__(self, rates: dict[str, float]):
        self.rates, self.calls = rates, []

    def __call__(self, option: Option) -> float:
        self.calls.append(option.label)
        return self.rates[option.label]


RATES = {"xla-on/128": 300.0, "xla-off/128": 1200.0, "xla-off/256": 1500.0, "xla-off/512": 1400.0,
         "xla-off/1024": 1300.0, "xla-on/256": 350.0, "xla-on/512": 380.0, "xla-on/1024": 370.0}


def test_the_probe_picks_the_faster_compile_mode_and_batch(tmp_path):
    measure = FakeMeasure(RATES)
    choice = choose("machine A", measure, jit=None, batch_size=128, auto_batch=True, path=tmp_path / "cache.json")
    assert (choice.jit, choice.batch_size, choice.source) == (False, 256, "probe")
    assert measure.calls == ["xla-on/128", "xla-off/128", "xla-off/256", "xla-off/512", "xla-off/1024"]  # batches only for the winner
    assert choice.learning_rate_scale == pytest.approx(2.0)  # linear in the batch
    faster_xla = FakeMeasure({**RATES, "xla-on/128": 5000.0, "xla-on/256": 4000.0, "xla-on/512": 6000.0, "xla-on/1024": 5500.0})
    other = choose("machine B", faster_xla, jit=None, batch_size=128, auto_batch=True, path=tmp_path / "cache.json")
    assert (other.jit, other.batch_size) == (True, 512)
    assert "XLA on, batch 512" in other.describe() and "xla-on/512 6,000/s" in other.describe()


def test_the_cache_is_per_key_and_reused(tmp_path):
    path = tmp_path / "cache.json"
    choose("machine A | lenet5", FakeMeasure(RATES), jit=None, batch_size=128, auto_batch=False, path=path)

    def must_not_measure(option):
        raise AssertionError(f"measured {option.label} again")

    again = choose("machine A | lenet5", must_not_measure, jit=None, batch_size=128, auto_batch=False, path=path)
    assert (again.jit, again.batch_size, again.source) == (False, 128, "cache")
    other_key = FakeMeasure({**RATES, "xla-on/128": 9000.0})
    assert choose("machine A | lenet-plus", other_key, jit=None, batch_size=128, auto_batch=False, path=path).jit is True
    assert other_key.calls == ["xla-on/128", "xla-off/128"]
    stored = json.loads(path.read_text())["rates"]
    assert set(stored) == {"machine A | lenet5", "machine A | lenet-plus"}
    assert stored["machine A | lenet5"]["xla-off/128"] == 1200.0
    # A batch choice later on the same key only measures what is missing.
    more = FakeMeasure(RATES)
    assert choose("machine A | lenet5", more, jit=None, batch_size=128, auto_batch=True, path=path).batch_size == 256
    assert more.calls == ["xla-off/256", "xla-off/512", "xla-off/1024"]


def test_a_broken_cache_is_measured_again_and_rewritten(tmp_path):
    path = tmp_path / "cache.json"
    path.write_text("{not json")
    measure = FakeMeasure(RATES)
    assert choose("k", measure, jit=None, batch_size=128, auto_batch=False, path=path).source == "probe"
    assert len(measure.calls) == 2 and json.loads(path.read_text())["version"] == tuning.CACHE_VERSION
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temporary file left behind


def test_what_the_user_asks_for_wins(tmp_path):
    def must_not_measure(option):
        raise AssertionError("nothing should be measured")

    asked = choose("k", must_not_measure, jit=True, batch_size=64, auto_batch=False, path=tmp_path / "c.json")
    assert (asked.jit, asked.batch_size, asked.learning_rate_scale, asked.source) == (True, 64, 1.0, "asked")
    measure = FakeMeasure(RATES)
    jit_asked = choose("k", measure, jit=True, batch_size=128, auto_batch=True, path=tmp_path / "c.json")
    assert jit_asked.jit is True and jit_asked.batch_size == 512  # the fastest batch *with XLA*, as asked
    assert all(label.startswith("xla-on/") for label in measure.calls)
    batch_asked = choose("k2", FakeMeasure(RATES), jit=None, batch_size=256, auto_batch=False, path=tmp_path / "c.json")
    assert (batch_asked.jit, batch_asked.batch_size) == (False, 256)


def test_the_real_measurement_times_steps_with_the_injected_timer():
    """Real training steps; the clock is fake (0.5 s per batch), so the rate is exact."""
    ticks = iter(range(1, 1000))
    measure = tuning.keras_measure("lenet5", augment=False, steps=3, warmup=2, timer=lambda: 0.5 * next(ticks))
    assert measure(Option(False, 32)) == pytest.approx(32 * 3 / 1.5)


class Logs(TrainingCallbacks):
    def __init__(self):
        self.logs, self.device = [], None

    def on_log(self, message):
        self.logs.append(message)

    def on_start(self, info):
        self.device = info.device


def test_the_trainer_uses_the_probe_logs_it_and_reuses_it(digits_mini, monkeypatch):
    measure = FakeMeasure(RATES)
    monkeypatch.setattr(tuning, "keras_measure", lambda architecture, augment: measure)
    config = TrainConfig(data=str(digits_mini), split="digitsmini", architecture="lenet5", epochs=1, batch_size=128,
                         learning_rate=2e-3, auto_batch_size=True, augment=False)
    logs = Logs()
    result = Trainer(config, logs).run()
    assert any(line.startswith("speed: XLA off, batch 256") and "measured now" in line for line in logs.logs), logs.logs
    assert any("batch 256, lr 0.004" in line for line in logs.logs), logs.logs  # 2e-3 × 2 for twice the batch
    assert result.tuning["batch_size"] == 256 and result.tuning["source"] == "probe"
    assert result.metadata("m")["training"]["tuning"]["jit"] is False
    assert len(measure.calls) == 5  # XLA on and off at 128, then 256, 512 and 1024 without
    second = Logs()
    assert Trainer(config, second).run().tuning["source"] == "cache"
    assert len(measure.calls) == 5 and any("measured earlier on this machine" in line for line in second.logs)
    explicit = Logs()
    result = Trainer(TrainConfig(**{**config.__dict__, "auto_batch_size": False, "jit_compile": False}), explicit).run()
    assert result.tuning["source"] == "asked" and result.tuning["batch_size"] == 128


def test_a_short_run_is_not_probed_but_uses_an_earlier_probe():
    def must_not_measure(option):
        raise AssertionError("a short run should not probe")

    short = TrainConfig(architecture="lenet5", epochs=2, batch_size=128)  # 2 × 1,000 / 128 = 16 steps
    choice = tuning.settle(short, "CPU (2 cores)", lambda message: None, samples=1000, measure=must_not_measure)
    assert (choice.jit, choice.source) == (False, "short")
    import tensorflow as tf

    key = tuning.machine_key("lenet5", tf.__version__)
    tuning.write_cache({key: {"xla-on/128": 900.0, "xla-off/128": 300.0}})
    choice = tuning.settle(short, "CPU (2 cores)", lambda message: None, samples=1000, measure=must_not_measure)
    assert (choice.jit, choice.source) == (True, "cache")
    long = TrainConfig(architecture="lenet5", epochs=10, batch_size=128)
    assert tuning.settle(long, "CPU", lambda message: None, samples=100_000, measure=must_not_measure).jit is True
    on_gpu = tuning.settle(long, "GPU: H200", lambda message: None, samples=100_000, measure=must_not_measure)
    assert (on_gpu.jit, on_gpu.source) == (True, "gpu")  # the GPU path is as it was: XLA on, batch as asked


@pytest.mark.parametrize(("architecture", "largest"), [("lenet5", 1024), ("lenet-plus", 512)])
def test_the_probe_tries_batches_up_to_the_architectures_largest(architecture, largest):
    """lenet5 trains as well at batch 1024 (rate ×8) as at 128; lenet-plus lost 1.4 points there,
    so its probe stops at 512 even where 1024 would be faster."""
    measure = FakeMeasure({label: rate * (2.0 if label.endswith("/1024") else 1.0) for label, rate in RATES.items()})
    config = TrainConfig(architecture=architecture, epochs=10, batch_size=128, auto_batch_size=True, jit_compile=False)
    choice = tuning.settle(config, "CPU (2 cores)", lambda message: None, samples=100_000, measure=measure)
    assert max(Option.parse(label).batch_size for label in measure.calls) == largest
    assert choice.batch_size == (1024 if largest == 1024 else 256)
    assert choice.learning_rate_scale == pytest.approx(choice.batch_size / 128)
