"""The installer. First, from source: what the spec leaves out is never loaded by a windowed run
(GUI, training, export, evaluation). Then the bundle itself, built with packaging/build.sh and run
the way a user does (from another folder, a fresh user data folder): it starts, recognises without
TensorFlow, survives a broken model and a read-only home, and still trains and exports.

The bundle tests are slow (a cold build takes minutes); LENET_SKIP_BUNDLE=1 skips them. To test an
existing bundle without rebuilding: LENET_BUNDLE_DIR=dist/lenet-studio.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, TEST_DATA

SPEC = ROOT / "packaging" / "lenet-studio.spec"

# One process the way a windowed build runs it (no stdout/stderr): the GUI smoke test, then
# training with the LiteRT export, evaluation and prediction; then what it loaded.
WINDOWED_RUN = """
import json, sys
record, data, image, model = sys.argv[1:5]
sys.stdout = sys.stderr = sys.__stdout__ = sys.__stderr__ = None
from app.main import main
codes = [
    main(["--smoke-test"]),
    main(["train", "--data", data, "--split", "digitsmini", "--arch", "lenet5", "--epochs", "1", "--max-samples", "300", "--out", model]),
    main(["evaluate", "--model", model, "--data", data, "--split", "digitsmini"]),
    main(["predict", "--model", model, image]),
]
libraries = sorted({line.split()[-1] for line in open("/proc/self/maps") if ".so" in line.split()[-1]})
json.dump({"codes": codes, "modules": sorted(sys.modules), "libraries": libraries}, open(record, "w"))
"""


def spec_lists() -> dict[str, list[str]]:
    """EXCLUDES (module names) and DROP (bundle paths) as written in the spec."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("EXCLUDES", "DROP")
    }


def test_windowed_run_loads_nothing_the_spec_leaves_out(tmp_path, private_home):
    record_path, model = tmp_path / "record.json", tmp_path / "windowed.lenet"
    image = TEST_DATA / "snapshots" / "pad-letter-a-light-on-dark.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", WINDOWED_RUN, str(record_path), str(TEST_DATA / "emnist"), str(image), str(model)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    record = json.loads(record_path.read_text())
    assert record["codes"] == [0, 0, 0, 0]  # no crash without a console: fit and export write nothing there
    assert model.stat().st_size > 0
    lists = spec_lists()
    loaded = set(record["modules"])
    assert lists["EXCLUDES"] and lists["DROP"]
    used = sorted(name for name in lists["EXCLUDES"] if any(m == name or m.startswith(name + ".") for m in loaded))
    assert not used, f"the spec excludes modules the app imports: {used}"
    relative = [path.split("site-packages/", 1)[1] for path in record["libraries"] if "site-packages/" in path]
    dropped = sorted(path for path in relative if any(fnmatch.fnmatch(path, pattern) for pattern in lists["DROP"]))
    assert not dropped, f"the spec drops libraries the app loads: {dropped}"
    sources = [path.read_text(encoding="utf-8") for folder in ("app", "lenet_core") for path in (ROOT / folder).rglob("*.py")]
    assert not any("QTranslator" in text for text in sources)  # why the spec can drop Qt's translations


@pytest.fixture(scope="module")
def bundle() -> Path:
    if os.environ.get("LENET_SKIP_BUNDLE") == "1":
        pytest.skip("LENET_SKIP_BUNDLE=1: the installer is not built")
    prebuilt = os.environ.get("LENET_BUNDLE_DIR")
    if prebuilt:
        return Path(prebuilt).resolve()
    started = time.perf_counter()
    result = subprocess.run(
        [str(ROOT / "packaging" / "build.sh"), "--no-archive"], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    assert result.returncode == 0, f"build.sh failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    print(f"bundle built in {time.perf_counter() - started:.0f} s:", *result.stdout.splitlines()[-3:], sep="\n")
    return ROOT / "dist" / "lenet-studio"


def run_bundle(bundle: Path, cwd: Path, home: Path | str, *args: str, timeout: float = 180, env: dict | None = None):
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LENET_STUDIO_HOME": str(home), **(env or {})}
    environment.pop("PYTHONPATH", None)  # the bundle must not lean on the source checkout
    return subprocess.run(
        [str(bundle / "lenet-studio"), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


def smoke_record(result) -> dict:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.bundle
def test_bundle_layout(bundle):
    assert (bundle / "lenet-studio").is_file() and os.access(bundle / "lenet-studio", os.X_OK)
    assert (bundle / "_internal" / "resources" / "models" / "emnist-balanced.lenet").is_file()
    assert (bundle / "_internal" / "resources" / "icons" / "lenet-studio.png").is_file()
    assert (bundle / "_internal" / "resources" / "reader" / "whole-character.tflite").is_file()  # the reader's judge
    assert list((bundle / "_internal" / "resources" / "samples").rglob("*.json"))
    entry = (bundle / "lenet-studio.desktop").read_text()
    assert "Name=LeNet Studio" in entry and "Categories=Education;Graphics;" in entry and "Icon=lenet-studio" in entry
    assert (bundle / "lenet-studio.png").is_file() and os.access(bundle / "install.sh", os.X_OK)


@pytest.mark.bundle
def test_bundle_smoke_test_from_another_folder(bundle, tmp_path):
    home = tmp_path / "home"
    before = sorted(path.relative_to(bundle) for path in bundle.rglob("*"))
    record = smoke_record(run_bundle(bundle, tmp_path, home, "--smoke-test"))
    assert record["top1"] == record["expected"] and record["model"] == "emnist-balanced"
    assert record["tensorflow_imported"] is False
    assert record["skipped"] == [] and record["user_data_problem"] is None
    assert "model emnist-balanced active" in (home / "logs" / "lenet-studio.log").read_text()
    assert (home / "settings.ini").is_file()
    assert sorted(path.relative_to(bundle) for path in bundle.rglob("*")) == before  # nothing written next to the executable
    print("bundle launch:", json.dumps(record))


@pytest.mark.bundle
def test_bundle_reports_a_broken_user_model(bundle, tmp_path):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "broken.lenet").write_bytes(b"PK\x03\x04 truncated")
    record = smoke_record(run_bundle(bundle, tmp_path, home, "--smoke-test"))
    assert record["model"] == "emnist-balanced" and record["top1"] == record["expected"]
    assert len(record["skipped"]) == 1 and "broken.lenet" in record["skipped"][0]
    assert "broken.lenet" in (home / "logs" / "lenet-studio.log").read_text()


@pytest.mark.bundle
def test_bundle_starts_without_a_writable_home(bundle, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the home folder should be")
    env = {"HOME": str(blocker / "home"), "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": ""}
    result = run_bundle(bundle, tmp_path, "", "--smoke-test", env=env)
    record = smoke_record(result)
    assert record["model"] == "emnist-balanced" and record["top1"] == record["expected"]
    assert str(blocker / "home") in record["user_data_problem"]
    assert "not writable" in result.stderr


@pytest.mark.bundle
def test_bundle_trains_exports_and_predicts(bundle, tmp_path):
    """TensorFlow training and the LiteRT export inside the bundle, then recognition with the result."""
    model = tmp_path / "x.lenet"
    result = run_bundle(
        bundle,
        tmp_path,
        tmp_path / "home",
        "train",
        "--data",
        str(TEST_DATA / "emnist"),
        "--split",
        "digitsmini",
        "--arch",
        "lenet5",
        "--epochs",
        "1",
        "--max-samples",
        "300",
        "--out",
        str(model),
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "AutoGraph could not transform" not in result.stderr  # the sources tf.function converts are bundled
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["saved"] == str(model) and summary["epochs_run"] == 1 and summary["device"].startswith("CPU")
    image = TEST_DATA / "snapshots" / "pad-letter-a-light-on-dark.png"
    result = run_bundle(bundle, tmp_path, tmp_path / "home", "predict", "--json", "--model", str(model), str(image))
    assert result.returncode == 0, result.stderr[-4000:]
    prediction = json.loads(result.stdout.strip().splitlines()[-1])
    assert prediction["model"] == "x" and len(prediction["top"]) == 5
    listing = run_bundle(bundle, tmp_path, tmp_path / "home", "models")
    assert listing.returncode == 0 and "emnist-balanced" in listing.stdout


@pytest.mark.bundle
def test_bundle_reads_a_touching_pair(bundle, tmp_path):
    """The reader inside the bundle: its whole-character network (resources/reader) loads and the
    4 whose foot runs into an L, one blob of ink, reads as two characters."""
    import cv2
    import numpy as np

    image = np.full((240, 300), 255, np.uint8)
    for a, b in (((100, 45), (40, 140)), ((40, 140), (130, 140)), ((110, 90), (110, 195)), ((110, 195), (150, 195)),
                 ((150, 45), (150, 195)), ((150, 195), (220, 195))):
        cv2.line(image, a, b, 0, 12, cv2.LINE_AA)
    cv2.imwrite(str(tmp_path / "4L.png"), image)
    result = run_bundle(bundle, tmp_path, tmp_path / "home", "read", "--json", str(tmp_path / "4L.png"))
    assert result.returncode == 0, result.stderr[-4000:]
    reading = json.loads(result.stdout.strip().splitlines()[-1])
    assert reading["text"] == "4L" and len(reading["characters"]) == 2
