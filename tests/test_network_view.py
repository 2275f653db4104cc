"""The layer view and the "why" map (issue 15): activations from LiteRT equal Keras's, the
occlusion map follows the ink, bundles without the layer view still work, and re-exporting a
bundle adds it without touching the rest."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from lenet_core import bundle, models
from lenet_core.datasets import load_dataset
from lenet_core.network_view import OLDER_VERSION, NetworkInspector, occlusion_offsets, tile
from tests.conftest import glyph


def _input() -> np.ndarray:
    return glyph("7").astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def keras_models():
    pytest.importorskip("tensorflow")
    from lenet_core.training import setup_tensorflow

    setup_tensorflow()
    return {name: models.build(name, 5, jit_compile=False) for name in models.ARCHITECTURES}


@pytest.mark.parametrize("architecture", list(models.ARCHITECTURES))
def test_activations_equal_keras(keras_models, architecture):
    import keras

    from lenet_core.network_export import export_activations, shown_stages
    from lenet_core.training import export_litert

    model = keras_models[architecture]
    rng = np.random.default_rng(1)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()])  # not all-default
    network, description = export_activations(model, architecture)
    inspector = NetworkInspector(export_litert(model, architecture, 5), tuple("abcde"), (network, description))
    assert inspector.available
    stages = shown_stages(model)
    kinds = [layer.kind for layer in inspector.layers]
    assert kinds[0] == "conv" and kinds[-1] == "output" and "pool" in kinds and "dense" in kinds
    image = _input()
    expected = keras.Model(model.inputs[0], [layer.output for layer, _ in stages])(image[None, :, :, None], training=False)
    picture = inspector.picture(image)
    assert len(picture.layers) == len(expected)
    for shown, reference in zip(picture.layers, expected):
        reference = np.asarray(reference)[0]
        assert shown.values.shape == reference.shape == shown.layer.shape
        np.testing.assert_allclose(shown.values, reference, rtol=1e-4, atol=1e-5, err_msg=shown.layer.name)
    np.testing.assert_allclose(picture.probabilities.sum(), 1.0, atol=1e-5)
    first = model.layers[1]
    assert picture.filters_layer == first.name
    np.testing.assert_allclose(picture.filters, first.get_weights()[0][:, :, 0, :].transpose(2, 0, 1), atol=1e-6)
    why = inspector.why(image)  # works for every architecture, through the classifying network
    assert why.top_map.shape == (28, 28) and np.isfinite(why.contrast).all()


def test_saving_and_re_exporting_a_bundle_keeps_everything_else(keras_models, tmp_path):
    from lenet_core.network_export import add_activations
    from lenet_core.training import export_litert, keras_model_bytes

    model = keras_models["lenet5"]
    meta = {"name": "old", "classes": list("abcde"), "architecture": "lenet5"}
    path = bundle.write_bundle(tmp_path / "old.lenet", meta, export_litert(model, "lenet5", 5), keras_model_bytes(model))
    old = bundle.read_bundle(path)
    assert old.activations_members() is None
    before = {info.filename: zipfile.ZipFile(path).read(info) for info in zipfile.ZipFile(path).infolist()}
    for _ in range(2):  # safe to run again
        add_activations(path)
        with zipfile.ZipFile(path) as archive:
            after = {name: archive.read(name) for name in archive.namelist()}
        assert sorted(after) == sorted([*before, bundle.ACTIVATIONS_NAME, bundle.ACTIVATIONS_META_NAME])
        assert all(after[name] == data for name, data in before.items())
    inspector = NetworkInspector.from_bundle(bundle.read_bundle(path))
    assert inspector.available and inspector.layers[-1].shape == (5,)


def test_a_bundle_without_the_layer_view_still_works(tmp_path):
    shipped = bundle.resolve("emnist-digits")
    meta = {key: value for key, value in shipped.meta.items() if key not in ("format_version", "created")}
    old = bundle.read_bundle(bundle.write_bundle(tmp_path / "older.lenet", meta, shipped.tflite_bytes()))
    inspector = NetworkInspector.from_bundle(old)
    assert not inspector.available and "older version" in OLDER_VERSION
    with pytest.raises(RuntimeError, match="older version"):
        inspector.picture(_input())
    assert inspector.why(_input()).top[0] in shipped.classes  # the heat map needs only the classifier


def test_a_broken_layer_view_is_a_clear_error(tmp_path):
    shipped = bundle.resolve("emnist-digits")
    meta = {key: value for key, value in shipped.meta.items() if key not in ("format_version", "created")}
    path = bundle.write_bundle(tmp_path / "broken.lenet", meta, shipped.tflite_bytes(),
                               activations=(b"\x00" * 64, {"layers": [{"name": "x", "kind": "output", "shape": [10]}]}))
    with pytest.raises(bundle.BundleError, match="layer view"):
        NetworkInspector(shipped.tflite_bytes(), shipped.classes, bundle.read_bundle(path).activations_members())
    inspector = NetworkInspector.from_bundle(bundle.read_bundle(path))  # the heat map still works, the view says why not
    assert not inspector.available and "cannot be shown" in inspector.problem and "layer view" in inspector.problem
    assert inspector.why(_input()).top[0] in shipped.classes
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[bundle.ACTIVATIONS_META_NAME] = b"{not json"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(bundle.BundleError, match="unreadable activations.json"):
        bundle.read_bundle(path).activations_members()
    assert "unreadable activations.json" in NetworkInspector.from_bundle(bundle.read_bundle(path)).problem


def test_shipped_models_have_the_layer_view():
    for name in ("emnist-balanced", "emnist-letters", "emnist-digits"):
        inspector = NetworkInspector.from_bundle(bundle.resolve(name))
        assert inspector.available, f"{name}: run tools/reexport_bundles.py"
        picture = inspector.picture(_input())
        assert [layer.layer.kind for layer in picture.layers][0] == "conv"
        assert picture.filters is not None and picture.filters.shape[0] == picture.layers[0].layer.maps


def _centroid_row(heat: np.ndarray) -> float:
    weights = np.clip(heat, 0, None)
    return float((weights.sum(axis=1) * np.arange(28)).sum() / max(weights.sum(), 1e-9))


def test_the_heat_map_moves_up_when_the_lower_half_is_erased(digits_mini):
    data = load_dataset(digits_mini, "digitsmini", "test")
    inspector = NetworkInspector.from_bundle(bundle.resolve("emnist-digits"))
    moved = 0
    samples = [i for i in range(len(data.labels)) if data.classes[data.labels[i]] in "2358"][:6]
    for index in samples:
        image = data.images[index].astype(np.float32) / 255.0
        whole = inspector.why(image)
        erased = image.copy()
        erased[14:] = 0
        half = inspector.why(erased)
        assert np.abs(half.top_map[20:]).sum() < np.abs(whole.top_map[20:]).sum()
        assert _centroid_row(np.abs(half.top_map)) < _centroid_row(np.abs(whole.top_map))  # every one moves up
        moved += _centroid_row(np.abs(half.top_map)) < _centroid_row(np.abs(whole.top_map)) - 1.0
    # ...and by more than a row: all six with the earlier digits model; with the one retrained on
    # real pen digits, a 3 whose map already sat in its top half (row 6.95) moves 0.9 rows
    assert samples and moved >= len(samples) - 1


def test_the_heat_map_is_zero_where_no_ink_is_near():
    inspector = NetworkInspector.from_bundle(bundle.resolve("emnist-digits"))
    image = np.zeros((28, 28), np.float32)
    image[4:12, 4:12] = 1.0
    why = inspector.why(image)
    assert why.positions < len(occlusion_offsets()) ** 2
    assert np.abs(why.top_map[18:, 18:]).max() == 0.0
    assert np.abs(why.top_map[4:12, 4:12]).max() > 0.0
    assert why.caption.startswith("Red:")
    other = inspector.why(image, explain=(why.runner[0], why.top[0]))  # the top-k's pair, when it differs
    assert other.top[0] == why.runner[0] and other.runner[0] == why.top[0]
    np.testing.assert_allclose(other.contrast, -why.contrast, atol=1e-6)


def test_tile_places_each_map():
    maps = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    mosaic = tile(maps, 2)
    assert mosaic.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(mosaic[0:2, 4:7], maps[..., 1])
    np.testing.assert_array_equal(mosaic[6:8, 0:3], maps[..., 4])
    assert np.isnan(mosaic[6:8, 4:7]).all()
