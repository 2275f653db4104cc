"""`train`'s speed options: --preset, --jit, --batch-size auto, --warmup, --strategy; what each
sets in the TrainConfig, that the user's own options beat a preset, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from lenet_core.cli import build_parser, train_config
from lenet_core.presets import PRESETS, preset_config
from lenet_core.training import TrainConfig


def config(*options: str) -> TrainConfig:
    argv = ["train", "--data", "somewhere", *options]
    args = build_parser().parse_args(argv)
    args.argv = argv
    return train_config(args)


def test_the_quick_preset_is_a_short_warm_started_cosine_run_on_everything():
    quick = config("--preset", "quick")
    assert quick.architecture == "lenet-plus" and quick.epochs == 6 and quick.batch_size == 256
    assert quick.learning_rate == pytest.approx(4e-3) and quick.warmup_epochs == 0.5 and quick.schedule == "cosine"
    assert quick.validation_fraction == 0.0 and quick.dropout == 0.0 and quick.label_smoothing == 0.1
    assert quick.jit_compile is None and not quick.auto_batch_size  # XLA probed; the batch is the recipe's
    assert quick == preset_config("quick", TrainConfig(data="somewhere"))


def test_the_full_preset_is_the_readmes_emnist_only_balanced_recipe():
    line = next(line for line in (ROOT / "README.md").read_text().splitlines()
                if line.startswith("lenet-studio train ") and "--name emnist-balanced-emnist-only" in line)
    readme = config(*line.split()[4:])  # the options after `--data ../shared/data/emnist`
    full = config("--preset", "full", "--split", "balancedx", "--name", "emnist-balanced",
                  "--out", "resources/models/emnist-balanced.lenet")
    for key in PRESETS["full"].settings:
        assert getattr(full, key) == getattr(readme, key), key


def test_the_users_options_win_over_the_preset_even_at_their_default_values():
    mine = config("--preset", "quick", "--epochs", "10", "--batch-size", "128", "--lr", "0.001", "--validation", "0.1")
    assert (mine.epochs, mine.batch_size, mine.learning_rate, mine.validation_fraction) == (10, 128, 0.001, 0.1)
    assert mine.warmup_epochs == 0.5 and mine.architecture == "lenet-plus"  # the rest is still the preset's
    assert config("--preset", "quick", "--arch", "lenet5").architecture == "lenet5"
    assert config("--preset", "quick", "--no-augment").augment is False


def test_jit_batch_and_strategy_options(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 1}}')
    assert [config("--jit", value).jit_compile for value in ("on", "off", "auto")] == [True, False, None]
    auto = config("--batch-size", "auto")
    assert auto.auto_batch_size and auto.batch_size == 128  # the rate is meant for 128 and scales from there
    assert not config("--batch-size", "64").auto_batch_size
    assert config("--warmup", "1.5", "--epochs", "4").warmup_epochs == 1.5
    assert config().strategy == "default" and config("--strategy", "multi-worker").strategy == "multi-worker"


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    return subprocess.run([sys.executable, "-m", "lenet_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**environ, **env})


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--jit", "fast", "--jit must be on, off or auto"),
    ("--preset", "slow", "--preset must be one of quick, full"),
    ("--strategy", "cloud", "--strategy must be one of default, mirrored, multi-worker"),
    ("--warmup", "30", "--warmup must be"),
])
def test_bad_values_are_one_line(digits_mini, option, value, message):
    result = cli("train", "--data", str(digits_mini), "--split", "digitsmini", "--epochs", "1", option, value)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_multi_worker_without_a_cluster_is_one_line(digits_mini, tmp_path):
    result = cli("train", "--data", str(digits_mini), "--split", "digitsmini", "--epochs", "1", "--strategy", "multi-worker",
                 "--out", str(tmp_path / "m.lenet"))
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "needs TF_CONFIG" in result.stderr and not (tmp_path / "m.lenet").exists()
