"""Own samples and fine-tuning in the core: the samples store (an image-folder data set the
loader reads), mapping a data set's classes onto a model's (folded classes, missing ones),
a short fine-tuning run that keeps the base's classes and records it, and the export that
loads with TensorFlow and with LiteRT and reads the same."""

from __future__ import annotations

import json
import zipfile

import cv2
import numpy as np
import pytest
from conftest import glyph

from lenet_core import adapt, bundle, samples
from lenet_core.datasets import Dataset, load_dataset
from lenet_core.export import ExportError, export_model
from lenet_core.inference import Recognizer
from lenet_core.training import TrainConfig, Trainer, TrainingError


def write_folder(root, data: Dataset, per_class: int, names=None, dark_on_light=True):
    """An image folder (one sub-folder per class) of big PNG crops made from EMNIST images."""
    for position, label in enumerate(np.unique(data.labels)):
        name = names[position] if names else data.classes[label]
        for index in np.flatnonzero(data.labels == label)[:per_class]:
            image = cv2.resize(data.images[index], (96, 96), interpolation=cv2.INTER_CUBIC)
            (root / name).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / name / f"{index}.png"), 255 - image if dark_on_light else image)
    return root


@pytest.fixture(scope="module")
def digits_test(digits_mini):
    return load_dataset(digits_mini, "digitsmini", "test")


# --- the samples store ----------------------------------------------------------------------


def test_samples_are_an_image_folder_the_loader_reads(tmp_path):
    root = tmp_path / "samples"
    crop = 255 - cv2.resize(glyph("7"), (120, 90))  # a non-square dark-on-light crop, as drawn
    first = samples.add_sample(crop, "7", root)
    samples.add_sample(crop, "7", root)
    samples.add_sample(255 - cv2.resize(glyph("L"), (80, 80)), "L", root)
    assert first.parent == root / "7" and first.suffix == ".png"
    assert cv2.imread(str(first), cv2.IMREAD_GRAYSCALE).shape == (90, 120)  # the crop itself, not 28×28
    assert samples.counts(root) == {"7": 2, "L": 1} and samples.total(root) == 3
    data = load_dataset(root)
    assert data.classes == ("7", "L") and data.class_counts().tolist() == [2, 1]
    assert not list(root.rglob(".*.tmp"))  # atomic writes leave no temporary files


def test_labels_that_cannot_name_a_folder_are_refused(tmp_path):
    for bad in ("", " ", "a/b", "..", ".x", "a:b", "toolonglabel", "a\n"):
        assert samples.label_problem(bad), bad
        with pytest.raises(samples.SampleError):
            samples.add_sample(glyph(), bad, tmp_path)
    assert samples.label_problem("é") is None and samples.label_problem("c") is None
    assert not any(tmp_path.iterdir())


def test_delete_import_and_export_zip(tmp_path):
    root = tmp_path / "samples"
    path = samples.add_sample(glyph("L"), "L", root)
    kept = samples.add_sample(glyph("7"), "7", root)
    samples.delete_sample(path, root)
    assert not path.exists() and not (root / "L").exists() and samples.counts(root) == {"7": 1}
    with pytest.raises(samples.SampleError, match="not one of your samples"):
        samples.delete_sample(tmp_path / "elsewhere.png", root)

    source = tmp_path / "import"
    (source / "a").mkdir(parents=True)
    cv2.imwrite(str(source / "a" / "one.png"), glyph("L"))
    (source / "a" / "broken.png").write_bytes(b"not a png")
    (source / "a" / "notes.txt").write_text("ignored")
    assert samples.import_folder(source, root) == 1
    assert samples.counts(root) == {"7": 1, "a": 1}
    (source / "bad:name").mkdir()
    cv2.imwrite(str(source / "bad:name" / "x.png"), glyph("L"))
    with pytest.raises(samples.SampleError, match="bad:name"):
        samples.import_folder(source, root)
    with pytest.raises(samples.SampleError, match="not a folder"):
        samples.import_folder(tmp_path / "missing", root)

    archive = samples.export_zip(tmp_path / "mine", root)
    assert archive.name == "mine.zip"
    with zipfile.ZipFile(archive) as opened:
        assert sorted(name.split("/")[0] for name in opened.namelist()) == ["7", "a"]
        assert f"7/{kept.name}" in opened.namelist()
    with pytest.raises(samples.SampleError, match="no samples"):
        samples.export_zip(tmp_path / "none.zip", tmp_path / "empty")


# --- classes ----------------------------------------------------------------------------------


def test_folded_classes_map_to_the_model_and_missing_ones_are_named():
    balanced = bundle.resolve("emnist-balanced").classes
    letters = bundle.resolve("emnist-letters").classes
    assert adapt.class_index("c", balanced) == balanced.index("C")  # balanced merges c into C
    assert adapt.class_index("a", balanced) == balanced.index("a")  # ...but keeps a apart
    assert adapt.class_index("a", letters) == letters.index("A")
    assert adapt.class_index("%", balanced) is None
    data = Dataset("own", np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 2]), ("7", "a", "c"))
    mapped = adapt.to_model_classes(data, balanced, "emnist-balanced")
    assert mapped.classes == balanced and [balanced[i] for i in mapped.labels] == ["7", "a", "C"]
    with pytest.raises(adapt.AdaptError, match=r"class 'a' is not one emnist-digits knows"):
        adapt.to_model_classes(data, bundle.resolve("emnist-digits").classes, "emnist-digits")


def test_a_class_the_base_lacks_stops_the_run_before_training(tmp_path, digits_test):
    folder = write_folder(tmp_path / "own", digits_test.subset(np.flatnonzero(digits_test.labels < 2)), 2, names=["0", "x"])
    with pytest.raises(TrainingError, match=r"class 'x' is not one emnist-digits knows"):
        Trainer(TrainConfig(data=str(folder), base="emnist-digits", epochs=1)).run()
    with pytest.raises(TrainingError, match="no such model"):
        Trainer(TrainConfig(data=str(folder), base="no-such-model", epochs=1)).run()


def test_replay_sets_ship_for_the_shipped_models():
    for name in ("emnist-balanced", "emnist-letters", "emnist-digits"):
        classes = bundle.resolve(name).classes
        replay = adapt.replay_for(classes)
        assert replay is not None and replay.train.classes == classes
        assert (replay.train.class_counts() == 20).all() and (replay.check.class_counts() == 10).all()
    assert adapt.replay_for(("x", "y")) is None


# --- fine-tuning and export ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory, digits_test):
    """A short fine-tuning run of the shipped digits model on 4 samples per digit."""
    folder = write_folder(tmp_path_factory.mktemp("own"), digits_test, 4)
    config = TrainConfig(data=str(folder), base="emnist-digits", epochs=2, batch_size=32, validation_fraction=0.25, jit_compile=False)
    result = Trainer(config).run()
    path = result.save(tmp_path_factory.mktemp("models") / "digits + mine.lenet", "emnist-digits + mine")
    return result, path


def test_fine_tuning_keeps_the_base_classes_and_records_the_base(fine_tuned):
    result, path = fine_tuned
    base = bundle.resolve("emnist-digits")
    assert result.classes == base.classes and result.config.architecture == base.architecture
    assert result.counts["own_train_samples"] == 30 and result.counts["train_samples"] == 30 + 200  # + the replay set
    adaptation = result.adaptation
    assert adaptation.own_samples == 10 and adaptation.replay_samples == 100 and adaptation.replay_mixed_in == 200
    for value in (adaptation.own_before, adaptation.own_after, adaptation.replay_before, adaptation.replay_after):
        assert 0.0 <= value <= 1.0
    saved = bundle.read_bundle(path)
    assert saved.name == "emnist-digits + mine" and saved.classes == base.classes
    assert saved.meta["base"] == {"name": "emnist-digits", "file": "emnist-digits.lenet"}
    assert saved.meta["training"]["base"] == "emnist-digits"
    assert saved.meta["adaptation"]["replay_after"] == adaptation.replay_after


def test_export_loads_in_tensorflow_and_litert_with_the_same_top1(fine_tuned, tmp_path, digits_test):
    _, path = fine_tuned
    images = digits_test.images[:60, ..., None].astype(np.float32) / 255.0
    keras_files = export_model(str(path), "keras", tmp_path / "keras")
    tflite_files = export_model(str(path), "tflite", tmp_path / "tflite")
    assert [f.name for f in keras_files] == ["model.keras", "labels.json", "README.md"]
    assert [f.name for f in tflite_files] == ["model.tflite", "labels.json", "README.md"]
    labels = json.loads((tmp_path / "keras" / "labels.json").read_text())["classes"]
    assert labels == list("0123456789")
    card = (tmp_path / "tflite" / "README.md").read_text()
    assert "white ink on a black background" in card and "fine-tuned from emnist-digits" in card and "Interpreter" in card

    import keras

    from_keras = keras.saving.load_model(tmp_path / "keras" / "model.keras", compile=False).predict(images, verbose=0)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tmp_path / "tflite" / "model.tflite"))
    detail_in, detail_out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(detail_in["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail_in["index"], images)
    interpreter.invoke()
    from_litert = interpreter.get_tensor(detail_out["index"])
    assert (from_keras.argmax(1) == from_litert.argmax(1)).all()
    app_reads = Recognizer(path, averaging=False).probabilities(images[..., 0])
    assert (app_reads.argmax(1) == from_litert.argmax(1)).all()
    assert np.mean(from_litert.argmax(1) == digits_test.labels[:60]) > 0.5  # it still reads digits


def test_export_refuses_what_it_cannot_write(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not empty"):
        export_model("emnist-digits", "keras", tmp_path / "full")
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        export_model("emnist-digits", "tflite", tmp_path / "file")
    with pytest.raises(ExportError, match="unknown format"):
        export_model("emnist-digits", "onnx", tmp_path / "new")
    with pytest.raises(bundle.BundleError, match="no such model"):
        export_model("no-such-model", "keras", tmp_path / "new")
