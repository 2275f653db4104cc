"""`lenet-studio train --base` and `lenet-studio export` as scripts use them: real processes,
exit codes, files that load, and one-line errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_adapt import write_folder
from test_cli import cli

from lenet_core import bundle
from lenet_core.datasets import load_dataset


def one_line_error(result, *fragments):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def own_digits(tmp_path_factory, digits_mini):
    data = load_dataset(digits_mini, "digitsmini", "test")
    return write_folder(tmp_path_factory.mktemp("own"), data, 3)


def test_fine_tune_from_the_command_line_then_export(own_digits, tmp_path):
    out = tmp_path / "mine.lenet"
    result = cli("train", "--base", "emnist-digits", "--data", str(own_digits), "--out", str(out), "--epochs", "1",
                 "--name", "emnist-digits + mine", "--quiet", env_home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["saved"] == str(out) and summary["architecture"] == "lenet-plus"
    assert summary["adaptation"]["base"] == "emnist-digits" and summary["adaptation"]["replay_mixed_in"] == 200
    model = bundle.read_bundle(out)
    assert model.classes == tuple("0123456789") and model.meta["base"]["name"] == "emnist-digits"

    exported = cli("export", str(out), "--format", "tflite", "--out", str(tmp_path / "export"))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["files"] == ["model.tflite", "labels.json", "README.md"]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tmp_path / "export" / "model.tflite"))
    interpreter.allocate_tensors()
    shape = interpreter.get_input_details()[0]["shape"]
    assert list(shape[1:]) == [28, 28, 1]
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.zeros(shape, np.float32))
    interpreter.invoke()
    assert interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).shape[-1] == 10


def test_fine_tune_bad_input_is_one_line(own_digits, tmp_path):
    one_line_error(cli("train", "--base", "no-such-model", "--data", str(own_digits), "--out", str(tmp_path / "x.lenet")),
                   "no-such-model", "no such model")
    letters = tmp_path / "letters"
    (letters / "x").mkdir(parents=True)
    for name in ("0", "x"):
        (letters / name).mkdir(exist_ok=True)
        for source in sorted((own_digits / "1").iterdir()):
            (letters / name / source.name).write_bytes(source.read_bytes())
    one_line_error(cli("train", "--base", "emnist-digits", "--data", str(letters), "--out", str(tmp_path / "x.lenet")),
                   "class 'x'", "emnist-digits")
    one_line_error(cli("train", "--base", "emnist-digits", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "x.lenet")),
                   "does not exist")
    assert not (tmp_path / "x.lenet").exists()


def test_export_bad_input_is_one_line(tmp_path):
    one_line_error(cli("export", "no-such-model", "--format", "keras", "--out", str(tmp_path / "a")), "no such model")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    one_line_error(cli("export", "emnist-digits", "--format", "keras", "--out", str(tmp_path / "busy")), "not empty")
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
    (tmp_path / "plain").write_text("x")
    one_line_error(cli("export", "emnist-digits", "--format", "tflite", "--out", str(tmp_path / "plain")), "not a folder")
    usage = cli("export", "emnist-digits", "--format", "onnx", "--out", str(tmp_path / "b"))
    assert usage.returncode == 2 and "invalid choice" in usage.stderr and "Traceback" not in usage.stderr
    fine = cli("export", "emnist-digits", "--format", "keras", "--out", str(tmp_path / "keras"))
    assert fine.returncode == 0, fine.stderr
    assert json.loads((tmp_path / "keras" / "labels.json").read_text())["classes"] == list("0123456789")
