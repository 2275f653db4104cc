"""The Recognizer: batches, test-time averaging, and bad model files."""

from __future__ import annotations

import numpy as np
import pytest

from lenet_core import bundle
from lenet_core.datasets import load_dataset
from lenet_core.inference import AVERAGING_VIEWS, Recognizer, averaging_views


@pytest.fixture(scope="module")
def test_images(digits_mini):
    data = load_dataset(digits_mini, "balancedmini", "test")
    return data.images[:40].astype(np.float32) / 255, data.labels[:40]


def test_averaging_views_keep_the_input_first(test_images):
    images, _ = test_images
    views = averaging_views(images[:3])
    assert views.shape == (3, 1 + len(AVERAGING_VIEWS), 28, 28)
    np.testing.assert_array_equal(views[:, 0], images[:3])
    assert not np.allclose(views[:, 1], images[:3])


def test_averaged_probabilities_are_a_distribution(test_images):
    images, _ = test_images
    recognizer = Recognizer()
    plain = recognizer.probabilities(images)
    averaged = recognizer.probabilities(images, averaging=True)
    assert averaged.shape == plain.shape
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, atol=1e-4)
    assert not np.allclose(averaged, plain)
    np.testing.assert_allclose(recognizer.probabilities_batched(images, batch_size=7, averaging=True), averaged, atol=1e-6)
    np.testing.assert_allclose(recognizer.probabilities(images[5], averaging=True), averaged[5], atol=1e-6)


def test_recognise_uses_averaging_unless_switched_off(test_images):
    images, _ = test_images
    drawing = np.zeros((280, 280), np.uint8)
    drawing[60:220, 130:150] = 255
    averaged = Recognizer().recognise(drawing)
    plain = Recognizer(averaging=False).recognise(drawing)
    input28 = plain.pipeline.input
    assert averaged.top[0][1] == pytest.approx(float(Recognizer().probabilities(input28, averaging=True).max()), abs=1e-6)
    assert plain.top[0][1] == pytest.approx(float(Recognizer().probabilities(input28).max()), abs=1e-6)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"not a zip at all"])
def test_unreadable_model_files(tmp_path, content):
    path = tmp_path / "bad.lenet"
    path.write_bytes(content)
    with pytest.raises(bundle.BundleError) as error:
        Recognizer(path)
    assert "bad.lenet" in str(error.value)


def test_garbage_network_inside_a_valid_bundle(tmp_path):
    path = bundle.write_bundle(tmp_path / "garbage.lenet", {"name": "garbage", "classes": list("0123456789")}, b"\x00" * 64)
    with pytest.raises(bundle.BundleError, match="the network cannot be loaded"):
        Recognizer(path)
