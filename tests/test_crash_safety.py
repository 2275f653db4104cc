"""Saves survive kill -9: the model saved before stays loadable, and the temporary file a killed
save leaves (a killed process cannot clean up after itself) is swept by the next run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TEST_DATA

from lenet_core import bundle, safety
from lenet_core.inference import Recognizer


def temp_files(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f".{name}.*.tmp"))


def loads_and_reads(path: Path) -> bool:
    model = bundle.read_bundle(path)
    probabilities = Recognizer(model).probabilities(np.zeros((28, 28), np.float32))
    return bool(np.isfinite(probabilities).all()) and len(probabilities) == len(model.classes)


def test_kill_9_while_train_writes_keeps_the_earlier_model_and_the_next_run_sweeps(tmp_path):
    models = tmp_path / "home" / "models"
    models.mkdir(parents=True)
    target = models / "X.lenet"
    shutil.copy(bundle.shipped_models_dir() / "emnist-digits.lenet", target)  # the earlier run's model
    before = target.read_bytes()
    env = {**os.environ, "LENET_STUDIO_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "lenet_core", "train", "--data", str(TEST_DATA / "emnist"), "--split", "digitsmini",
               "--arch", "lenet5", "--epochs", "1", "--max-samples", "64", "--batch-size", "32", "--no-augment", "--quiet",
               "--out", str(target)]
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    caught = False
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if temp_files(models, target.name):  # the save has begun: kill it mid-write
            process.send_signal(signal.SIGKILL)
            caught = True
            break
        time.sleep(0.0005)
    process.wait(timeout=30)
    assert caught, f"the save was never seen in progress (exit {process.returncode}: {log.read_text()[-300:]})"
    assert process.returncode == -signal.SIGKILL
    assert target.read_bytes() == before and loads_and_reads(target)
    assert temp_files(models, target.name), "a killed save leaves its temporary file (it cannot clean up)"
    listing = subprocess.run([sys.executable, "-m", "lenet_core", "models"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and "X" in listing.stdout
    assert temp_files(models, target.name) == [], "the next run sweeps what the killed save left"
    # TensorFlow's autograph files went to the run's own temp folder, not /tmp; the next training run removes it
    runs = tmp_path / "home" / "tmp"
    left = runs / f"run-{process.pid}"
    assert left.is_dir() and list(left.glob("__autograph_generated_file*.py")), sorted(runs.rglob("*"))[:5]
    assert safety.sweep_temp_runs(runs) == [left] and not left.exists()


WRITER = """
import os, sys
from lenet_core import bundle
payload = os.urandom(6 * 1024 * 1024)  # incompressible: the write takes a while
while True:
    bundle.write_bundle(sys.argv[1], {"name": "new", "classes": list("0123456789")}, payload)
"""


def test_kill_9_at_random_moments_never_loses_the_saved_model(tmp_path):
    target = tmp_path / "X.lenet"
    shutil.copy(bundle.shipped_models_dir() / "emnist-digits.lenet", target)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = np.random.default_rng(18)
    leftovers = 0
    for _ in range(10):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=ROOT, env=env)
        time.sleep(0.6 + float(rng.uniform(0, 0.5)))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        model = bundle.read_bundle(target)  # always a whole model: the earlier one or a finished save
        assert model.name in ("emnist-digits", "new") and len(model.tflite_bytes()) > 0
        leftovers += len(temp_files(tmp_path, target.name))
        safety.sweep_temp_files(tmp_path, target.name)
        assert temp_files(tmp_path, target.name) == []
    assert leftovers > 0, "some kill should land inside a write (otherwise this test tests nothing)"


def test_sweeping_spares_live_saves_and_other_files(tmp_path):
    live_own = tmp_path / f".a.lenet.{os.getpid()}.abc.tmp"
    live_other = tmp_path / ".a.lenet.1.abc.tmp"  # pid 1 is always running
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    dead_file = tmp_path / f".a.lenet.{dead.pid}.abc.tmp"
    old_nameless = tmp_path / ".a.lenet.xyz.tmp"  # the pre-pid naming, from before this process started
    unrelated = tmp_path / ".notes.tmp"
    for path in (live_own, live_other, dead_file, old_nameless, unrelated):
        path.write_bytes(b"x")
    os.utime(old_nameless, (time.time() - 3600, time.time() - 3600))
    removed = safety.sweep_temp_files(tmp_path)
    assert sorted(removed) == sorted([dead_file, old_nameless])
    assert live_own.exists() and live_other.exists() and unrelated.exists()


def test_atomic_write_names_its_temp_file_with_its_pid(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(source, target):
        seen.append(Path(source).name)
        return real(source, target)

    monkeypatch.setattr(os, "replace", spy)
    bundle.write_bundle(tmp_path / "m.lenet", {"name": "m", "classes": ["0", "1"]}, b"net")
    assert seen and seen[0].startswith(f".m.lenet.{os.getpid()}.") and seen[0].endswith(".tmp")


@pytest.mark.parametrize("where", ["save", "listing"])
def test_the_next_save_or_listing_sweeps(tmp_path, where):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = tmp_path / f".m.lenet.{dead.pid}.q1w2.tmp"
    leftover.write_bytes(b"half a zip")
    if where == "save":
        bundle.write_bundle(tmp_path / "m.lenet", {"name": "m", "classes": ["0", "1"]}, b"net")
    else:
        bundle.list_models(tmp_path)
    assert not leftover.exists()


def test_a_training_process_sweeps_killed_runs_temp_folders_and_removes_its_own(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / "tmp" / f"run-{dead.pid}"
    left.mkdir(parents=True)
    (left / "__autograph_generated_fileabc.py").write_text("x = 1\n")
    code = ("import tempfile; from lenet_core import training; training.setup_tensorflow(); "
            "print(tempfile.gettempdir())")
    env = {**os.environ, "LENET_STUDIO_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    own = Path(result.stdout.strip().splitlines()[-1])
    assert own.parent == tmp_path / "tmp" and own.name.startswith("run-")
    assert not left.exists() and not own.exists()  # the killed run's folder swept, its own removed at exit
