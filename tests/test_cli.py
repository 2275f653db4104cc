"""The command line end to end, as scripts use it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, SHARED_EMNIST, needs_shared_data

from lenet_core import bundle
from lenet_core.datasets import load_dataset


def cli(*args: str, env_home=None) -> subprocess.CompletedProcess:
    env = None
    if env_home is not None:
        import os

        env = {**os.environ, "LENET_STUDIO_HOME": str(env_home)}
    return subprocess.run([sys.executable, "-m", "lenet_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def sample_images(tmp_path_factory, digits_mini):
    """Real EMNIST digits saved as images users would have: a scan-like dark-on-light PNG,
    a big canvas export, and a JPEG photo."""
    folder = tmp_path_factory.mktemp("images")
    data = load_dataset(digits_mini, "digitsmini", "test")
    paths, labels = [], []
    for index in range(6):
        image, label = data.images[index], data.classes[data.labels[index]]
        big = cv2.resize(image, (300, 300), interpolation=cv2.INTER_CUBIC)
        if index % 3 == 0:
            path = folder / f"scan-{index}.png"
            cv2.imwrite(str(path), 255 - big)
        elif index % 3 == 1:
            path = folder / f"canvas-{index}.png"
            cv2.imwrite(str(path), cv2.resize(image, (900, 900), interpolation=cv2.INTER_CUBIC))
        else:
            path = folder / f"photo-{index}.jpg"
            paper = (235 - 0.8 * big).astype(np.uint8)
            cv2.imwrite(str(path), cv2.merge([paper, paper, paper]), [cv2.IMWRITE_JPEG_QUALITY, 85])
        paths.append(path)
        labels.append(label)
    return paths, labels


def test_predict_json_for_many_images(sample_images):
    paths, labels = sample_images
    result = cli("predict", "--model", "emnist-balanced", "--top", "3", "--json", *map(str, paths))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(p) for p in paths]
    for record in records:
        assert len(record["top"]) == 3 and record["model"] == "emnist-balanced"
        assert record["top"][0]["p"] >= record["top"][1]["p"] >= record["top"][2]["p"]
    correct = sum(record["top"][0]["char"] == label for record, label in zip(records, labels))
    assert correct >= 4, records


def test_predict_plain_output(sample_images):
    paths, _ = sample_images
    result = cli("predict", str(paths[0]))
    assert result.returncode == 0
    assert result.stdout.startswith(f"{paths[0]}: ") and "%" in result.stdout


def test_bad_images_give_one_line_each_and_others_still_run(sample_images, tmp_path):
    paths, _ = sample_images
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    result = cli("predict", "--json", str(empty), str(paths[0]), str(text), str(tmp_path / "missing.png"), str(blank))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("lenet-studio: error: ") for line in errors)
    assert "empty (0 bytes)" in errors[0] and "not an image" in errors[1] and "does not exist" in errors[2]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(paths[0]), str(blank)]
    assert records[1]["empty"] is True and records[1]["top"] == []
    assert "Traceback" not in result.stderr


def test_unknown_model_is_one_line(sample_images):
    result = cli("predict", "--model", "no-such-model", str(sample_images[0][0]))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no such model" in result.stderr


def test_evaluate_on_a_test_slice(digits_mini):
    result = cli("evaluate", "--model", "emnist-balanced", "--data", str(digits_mini), "--split", "balancedmini", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["samples"] == 470 and 0.5 < summary["accuracy"] <= 1.0 and 0.5 < summary["weighted_f1"] <= 1
    assert len(summary["worst_confusions"]) == 10
    assert 0.5 < summary["accuracy_averaged"] <= 1.0


def test_evaluate_refuses_a_mismatched_split(digits_mini):
    result = cli("evaluate", "--model", "emnist-balanced", "--data", str(digits_mini), "--split", "digitsmini")
    assert result.returncode == 1
    assert "47 classes" in result.stderr and "10" in result.stderr


def test_train_saves_a_model_that_predict_can_use(digits_mini, tmp_path, sample_images):
    out = tmp_path / "digits.lenet"
    result = cli(
        "train", "--data", str(digits_mini), "--split", "digitsmini", "--arch", "lenet5", "--epochs", "3",
        "--batch-size", "32", "--lr", "0.003", "--no-augment", "--dropout", "0.15", "--out", str(out), "--quiet",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["saved"] == str(out) and summary["epochs_run"] == 3 and summary["accuracy"] > 0.3
    assert bundle.read_bundle(out).meta["training"]["dropout"] == 0.15
    predicted = cli("predict", "--model", str(out), "--json", str(sample_images[0][0]))
    assert predicted.returncode == 0
    assert json.loads(predicted.stdout)["top"][0]["char"] in "0123456789"


def test_train_on_everything_without_validation(digits_mini, tmp_path):
    """--validation 0, as the shipped balanced/letters models are trained: every training image is
    used, progress has no empty validation columns, and the test part still scores the model."""
    out = tmp_path / "all.lenet"
    result = cli(
        "train", "--data", str(digits_mini), "--split", "digitsmini", "--arch", "lenet5", "--epochs", "2",
        "--batch-size", "32", "--lr", "0.003", "--no-augment", "--validation", "0", "--out", str(out),
    )
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 2 and not any("val_" in line or "nan" in line for line in epochs), epochs
    meta = bundle.read_bundle(out).meta
    assert meta["dataset"]["train_samples"] == 800 and meta["dataset"]["validation_samples"] == 0
    assert meta["dataset"]["test_samples"] == 200 and meta["metrics"]["accuracy"] > 0.2


def test_train_with_bad_data_is_one_line(tmp_path):
    result = cli("train", "--data", str(tmp_path / "nowhere"), "--epochs", "1")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--dropout", "1.5", "dropout"), ("--augment-strength", "-1", "augmentation strength"),
    ("--real-repeat", "0", "real-data repeat"), ("--real-repeat", "100000000", "real-data repeat"),
    ("--extra-per-class", "-5", "extra images per class"),
])
def test_train_with_a_bad_setting_is_one_line(digits_mini, option, value, message):
    result = cli("train", "--data", str(digits_mini), "--split", "digitsmini", "--epochs", "1", option, value)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr


def test_the_readme_commands_are_how_the_shipped_models_were_trained():
    """Each shipped model's stored training settings are what its README command asks for."""
    import dataclasses
    import shlex

    from lenet_core.cli import build_parser, train_config

    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("lenet-studio train ") and "resources/models/" in line]
    assert len(lines) == 3, lines
    for line in lines:
        args = build_parser().parse_args(shlex.split(line)[1:])
        asked = dataclasses.asdict(train_config(args))
        stored = bundle.read_bundle(ROOT / args.out).meta["training"]
        defaults = {"dropout": None, "augment_strength": 1.0, "base": None, "replay": True,  # settings added after some models were trained
                    "warmup_epochs": 0.0, "auto_batch_size": False, "strategy": "default",
                    "pen_fraction": 0.0, "extra_data": None, "extra_per_class": 4000, "real_data": None, "real_repeat": 2, "touching": 0}
        for key, value in asked.items():
            if key == "fused_batch_norm":  # which kernel computes batch norm, not what is trained: the same arithmetic
                continue
            if key in ("data", "real_data") and value is not None:
                assert Path(stored[key]).name == Path(value).name, (args.out, key)
            else:
                assert stored.get(key, defaults.get(key)) == value, (args.out, key)
        assert stored["epochs_run"] == args.epochs and not stored["partial"]


def test_models_lists_the_shipped_ones():
    result = cli("models")
    assert result.returncode == 0
    shipped = [line for line in result.stdout.splitlines() if "shipped" in line]
    for name in ("emnist-balanced", "emnist-letters", "emnist-digits"):
        assert any(name in line for line in shipped), result.stdout


# The seed recipes' test accuracy on the same splits (10 epochs): the shipped models must at least match it.
SEED_SCORES = {"emnist-balanced": ("balancedx", 0.854), "emnist-letters": ("lettersx", 0.921), "emnist-digits": ("digitsx", 0.9918)}


@needs_shared_data()
@pytest.mark.parametrize("model", SEED_SCORES)
def test_shipped_model_beats_its_seed_recipe_on_a_test_slice(model):
    split, seed = SEED_SCORES[model]
    result = cli("evaluate", "--model", model, "--data", str(SHARED_EMNIST), "--split", split, "--limit", "4000", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["samples"] == 4000 and summary["model"] == model
    assert summary["accuracy"] >= seed, f"{model} must at least match the seed recipe ({seed:.2%})"


def test_piped_train_and_evaluate_show_progress_within_the_work(digits_mini, tmp_path):
    """Piped (as here), progress comes as plain lines: a few within each epoch, and for evaluate."""
    out = tmp_path / "progress.lenet"
    result = cli(
        "train", "--data", str(digits_mini), "--split", "digitsmini", "--arch", "lenet5", "--epochs", "1",
        "--batch-size", "16", "--no-augment", "--validation", "0", "--out", str(out),
    )
    assert result.returncode == 0, result.stderr
    within = [line for line in result.stderr.splitlines() if line.strip().startswith("batch ")]
    assert 1 <= len(within) <= 10, result.stderr  # the Trainer reports a few times a second: one line a tenth at most
    assert "\r" not in result.stderr, "no terminal control characters in a pipe"
    evaluated = cli("evaluate", "--model", str(out), "--data", str(digits_mini), "--split", "digitsmini")
    assert evaluated.returncode == 0, evaluated.stderr
    assert any(line.startswith("evaluating: ") and "(100%" in line for line in evaluated.stderr.splitlines()), evaluated.stderr


def test_ctrl_c_before_the_first_epoch_ends_saves_nothing_and_says_so(digits_mini, tmp_path):
    import signal

    out = tmp_path / "interrupted.lenet"
    process = subprocess.Popen(
        [sys.executable, "-m", "lenet_core", "train", "--data", str(digits_mini), "--split", "digitsmini", "--arch", "lenet-plus",
         "--epochs", "3", "--batch-size", "2", "--no-augment", "--validation", "0", "--out", str(out)],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    lines = []
    for line in process.stderr:  # the first progress line inside epoch 1: interrupt there
        lines.append(line)
        if line.strip().startswith("batch "):
            process.send_signal(signal.SIGINT)
            break
    stdout, rest = process.communicate(timeout=300)
    lines += rest.splitlines(keepends=True)
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert not epochs, "the interrupt came within the first epoch"
    assert process.returncode == 130, lines
    assert "nothing was saved" in lines[-1] and not out.exists() and stdout == ""
