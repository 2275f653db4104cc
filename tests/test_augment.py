"""Training augmentation for real handwriting (issue 13): each change moves images the intended
way, is deterministic for a seed, and keeps shapes and dtypes; extra training data never holds a
test image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT

from lenet_core import augment, extra_data, preprocess
from lenet_core.datasets import Dataset


def bar_images(n: int = 4, width: int = 5) -> np.ndarray:
    """White-on-black 28×28 characters: an L of strokes `width` px wide (EMNIST-like soft edge)."""
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        cv2.line(images[i], (8, 4 + i), (8, 23), 255, width, cv2.LINE_AA)
        cv2.line(images[i], (8, 23), (20, 23 - i), 255, width, cv2.LINE_AA)
    return images


def stroke(image: np.ndarray) -> float:
    return preprocess.stroke_width(cv2.resize(image.astype(np.float32) / 255, (128, 128)))


def test_skeletons_are_one_pixel_centre_lines():
    masks = np.zeros((2, 30, 30), bool)
    masks[0, 5:25, 10:17] = True  # a 7-px-wide vertical bar
    masks[1, 12:17, 3:27] = True  # a horizontal one
    lines = augment.skeletons(masks)
    assert lines.shape == masks.shape and lines.dtype == bool
    assert (lines <= masks).all()  # inside the shape
    assert lines[0].sum(axis=1).max() == 1  # one pixel across the vertical bar
    assert lines[1].sum(axis=0).max() == 1
    assert np.flatnonzero(lines[0].any(axis=1)).size >= 12  # and along most of its length
    assert cv2.connectedComponents(lines[0].astype(np.uint8))[0] == 2  # background + one line


def test_pen_width_sets_the_stroke_width():
    images = bar_images()
    thin = augment.redraw_with_pen(images, np.full(len(images), 3.0))
    thick = augment.redraw_with_pen(images, np.full(len(images), 8.0))
    assert thin.shape == images.shape and thin.dtype == np.uint8
    assert thin.max() == 255 and thick.max() == 255  # peak scaled to full range, as EMNIST
    for a, b in zip(thin, thick):
        assert stroke(b) > stroke(a) * 1.6
        assert b.astype(float).sum() > a.astype(float).sum() * 1.5
    # The character keeps its place: a straight bar's centre line moves by under half a pixel.
    bar = np.zeros((1, 28, 28), np.uint8)
    cv2.line(bar[0], (14, 4), (14, 23), 255, 5)
    for width in (3.0, 8.0):
        redrawn = augment.redraw_with_pen(bar, np.array([width]))[0]
        columns = [float((x.sum(axis=0) * np.arange(28)).sum() / x.sum()) for x in (bar[0].astype(float), redrawn.astype(float))]
        assert abs(columns[0] - columns[1]) < 0.5


def test_pen_copies_are_deterministic_for_a_seed():
    images = bar_images(6)
    first, again, other = augment.pen_copies(images, seed=3), augment.pen_copies(images, seed=3), augment.pen_copies(images, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert augment.pen_copies(images[:0]).shape == (0, 28, 28)


def test_blank_image_passes_through_the_pen():
    images = np.zeros((2, 28, 28), np.uint8)
    np.testing.assert_array_equal(augment.redraw_with_pen(images, np.array([4.0, 6.0])), images)


@pytest.fixture(scope="module")
def tf():
    pytest.importorskip("tensorflow")
    from lenet_core.training import setup_tensorflow

    setup_tensorflow()
    import tensorflow

    return tensorflow


def soft_share(x: np.ndarray) -> float:
    """Share of the ink pixels that are grey (between 0.1 and 0.9): higher is blurrier."""
    return float(((x > 0.1) & (x < 0.9)).sum() / max((x > 0.1).sum(), 1))


def only(**changes) -> augment.AugmentSettings:
    none = dataclasses.replace(augment.AugmentSettings().without_quality(), rotation_deg=0.0, shear=0.0, scale=(1.0, 1.0),
                               aspect=0.0, shift_px=0.0, stroke=0.0)
    return dataclasses.replace(none, **changes)


def run_degrade(tf, settings, seed=0, n=16):
    import keras

    keras.utils.set_random_seed(seed)
    x = bar_images(n, 3).astype(np.float32)[..., None] / 255
    return x[..., 0], augment.degrade_batch(tf.constant(x), settings).numpy()[..., 0]


def test_blur_and_sharpen_move_edges_the_right_way(tf):
    x, blurred = run_degrade(tf, only(blur=1.0, sharpen=0.0))
    _, sharpened = run_degrade(tf, dataclasses.replace(only(), blur=0.0, sharpen=1.0))
    assert blurred.shape == x.shape and blurred.dtype == np.float32
    assert np.mean([soft_share(b) for b in blurred]) > np.mean([soft_share(a) for a in x]) + 0.03
    # Sharpening steepens the edges: the largest step between neighbours grows.
    def steepness(images):
        return float(np.mean([np.abs(np.diff(i, axis=1)).max() for i in images]))
    assert steepness(sharpened) > steepness(x)


def test_elastic_moves_ink_but_keeps_the_amount(tf):
    x, moved = run_degrade(tf, only(elastic_px=1.5))
    assert np.abs(moved - x).mean() > 0.01
    ratio = moved.sum(axis=(1, 2)) / x.sum(axis=(1, 2))
    assert np.all((ratio > 0.75) & (ratio < 1.33))  # stretched or squeezed a little, not lost


def test_low_resolution_loses_detail(tf):
    x, coarse = run_degrade(tf, only(low_res=1.0))
    high = np.array([np.abs(cv2.Laplacian(i, cv2.CV_32F)).sum() for i in x])
    low = np.array([np.abs(cv2.Laplacian(i, cv2.CV_32F)).sum() for i in coarse])
    assert np.all(low < high)


def test_noise_touches_only_the_ink(tf):
    x, noisy = run_degrade(tf, only(noise=0.1))
    assert np.abs(noisy - x)[x > 0.05].mean() > 0.005
    np.testing.assert_array_equal(noisy[x <= 0.05], x[x <= 0.05])
    assert noisy.min() >= 0.0


def test_degradation_is_deterministic_for_a_seed(tf):
    settings = augment.AugmentSettings().with_quality()
    _, first = run_degrade(tf, settings, seed=5)
    _, again = run_degrade(tf, settings, seed=5)
    _, other = run_degrade(tf, settings, seed=6)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_whole_augmentation_keeps_range_shape_and_dtype(tf):
    x = tf.constant(bar_images(8).astype(np.float32)[..., None] / 255)
    out = augment.augment_batch(x, augment.AugmentSettings().with_quality()).numpy()
    assert out.shape == (8, 28, 28, 1) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.allclose(out.max(axis=(1, 2, 3)), 1.0, atol=1e-5)


def test_zero_strength_changes_nothing_new():
    settings = augment.AugmentSettings().with_quality().scaled(0.0)
    assert (settings.blur, settings.sharpen, settings.elastic_px, settings.low_res, settings.noise) == (0, 0, 0, 0, 0)


# --- extra training data ------------------------------------------------------------------------


def tiny(images: np.ndarray, labels, name: str) -> Dataset:
    return Dataset(name, images, np.array(labels), ("0", "1"))


def test_extra_images_skip_test_and_train_images_and_respect_the_cap():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    train = tiny(images[:2], [0, 1], "train")
    test = tiny(images[2:4], [0, 1], "test")
    pool_images = np.concatenate([images[:4], images[4:12], images[4:5]])  # train, test, new, a duplicate
    pool = tiny(pool_images, [0, 1, 0, 1] + [0, 1] * 4 + [0], "pool")
    extra = extra_data.extra_training_images(pool, train, [test], per_class_total=3)
    assert np.bincount(extra.labels, minlength=2).tolist() == [2, 2]  # each class topped up to 3
    banned = set(extra_data.image_hashes(images[:4]).tolist())
    picked = extra_data.image_hashes(extra.images).tolist()
    assert not banned & set(picked) and len(set(picked)) == len(picked)
    both = extra_data.combined(train, extra)
    assert len(both) == 6 and both.classes == train.classes


SHARED = next((p / "shared" / "data" / "emnist" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "data" / "emnist").exists()), None)


@pytest.mark.skipif(SHARED is None, reason="the shared EMNIST pool (../shared/data/emnist) is not on this machine")
def test_shipped_recipe_extra_data_holds_no_balancedx_test_image():
    """The extra images the shipped balanced model trains on (README: --extra-data bymerge:test)
    hold no image of balancedx-test, by pixel hash, though bymerge-test shares ~9,000 with it."""
    from lenet_core.datasets import load_dataset

    train = load_dataset(SHARED, "balancedx", "train")
    test = load_dataset(SHARED, "balancedx", "test")
    pool = load_dataset(SHARED, "bymerge", "test")
    test_hashes = set(extra_data.image_hashes(test.images).tolist())
    assert len(test_hashes & set(extra_data.image_hashes(pool.images).tolist())) > 5000  # the check can fail
    extra = extra_data.extra_training_images(pool, train, [test], per_class_total=4000)
    assert len(extra) > 20000
    assert not test_hashes & set(extra_data.image_hashes(extra.images).tolist())
    # And the Trainer's own loading path gives the same images.
    from lenet_core.training import TrainConfig, Trainer

    loaded, loaded_test = Trainer(TrainConfig(data=str(SHARED), split="balancedx", extra_data="bymerge:test")).load_data()
    assert len(loaded) == len(train) + len(extra)
    assert not set(extra_data.image_hashes(loaded_test.images).tolist()) & set(extra_data.image_hashes(loaded.images).tolist())




def fake_unipen(folder: Path, writers: int = 20) -> None:
    """A UNIPEN-like folder: 64×64 dark-on-white PNGs and labels.csv (path,label_char,writer)."""
    (folder / "images").mkdir(parents=True)
    lines = ["path,label_char,writer,source_file,segment_delineation"]
    for w in range(writers):
        for char, label in (("1", "1"), ("o", "o")):
            image = np.full((64, 64), 255, np.uint8)
            if char == "1":
                cv2.line(image, (22 + w, 10), (30, 54), 0, 3)  # a different slant for every writer
            else:
                cv2.ellipse(image, (32, 32), (6 + w, 24), 0, 0, 360, 0, 3)  # and width
            name = f"images/{char}_{w}.png"
            cv2.imwrite(str(folder / name), image)
            lines.append(f"{name},{label},inst/W{w:03d},x.dat,1")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")


def test_real_pen_images_come_only_from_train_writers(tmp_path):
    from lenet_core import robustness

    fake_unipen(tmp_path)
    classes = ("1", "O")  # lower-case o folds to O
    images, labels, writers = robustness.load_unipen(tmp_path, classes)
    assert images.shape == (40, 64, 64) and sorted(set(labels.tolist())) == [0, 1]
    held = robustness.held_out_writer(writers)
    assert 0 < held.sum() < len(held)
    np.testing.assert_array_equal(held, robustness.held_out_writer(writers))  # stable
    real = extra_data.pen_tablet_images(tmp_path, classes, repeat=2)
    assert len(real) == 2 * int((~held).sum())
    assert real.images.dtype == np.uint8 and real.images.shape[1:] == (28, 28)
    # Every training image is the pipeline's input of a train writer's image, none of a held-out one.
    held_inputs = {preprocess.run(image, preprocess.DRAWING).as_uint8().tobytes() for image in images[held]}
    train_inputs = {preprocess.run(image, preprocess.DRAWING).as_uint8().tobytes() for image in images[~held]}
    got = {x.tobytes() for x in real.images}
    assert got == train_inputs and not got & held_inputs
