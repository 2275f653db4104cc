"""Pipeline fixes found by comparing real inputs with EMNIST's (issue 13): small photo crops."""

from __future__ import annotations

import cv2
import numpy as np

from lenet_core import preprocess


def photo_of_a_seven(side: int = 320) -> np.ndarray:
    """Dark ink on grey paper with sensor noise, RGB."""
    rng = np.random.default_rng(1)
    paper = np.full((side, side), 200, np.float32)
    ink = np.zeros((side, side), np.uint8)
    s = side / 320
    cv2.line(ink, (int(100 * s), int(80 * s)), (int(220 * s), int(80 * s)), 255, max(1, int(18 * s)), cv2.LINE_AA)
    cv2.line(ink, (int(220 * s), int(80 * s)), (int(140 * s), int(250 * s)), 255, max(1, int(18 * s)), cv2.LINE_AA)
    gray = paper * (1 - 0.7 * ink.astype(np.float32) / 255) + rng.normal(0, 3, (side, side))
    return np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_small_photo_crop_is_enlarged_before_the_ink_is_found():
    small = cv2.resize(photo_of_a_seven(), (24, 24), interpolation=cv2.INTER_AREA)
    result = preprocess.run(small, preprocess.PHOTO)
    assert result.stage("gray").shape == (preprocess.PHOTO_MIN_SIDE, preprocess.PHOTO_MIN_SIDE)
    x, y, w, h = result.box  # still in the 24-px original's coordinates
    assert 0 <= x and 0 <= y and x + w <= 24 and y + h <= 24 and w >= 8 and h >= 12
    # The 28×28 input is close to the one the full-size photo gives; without enlarging (the
    # stages run on the 24-px crop itself) it is blocky and further away.
    reference = preprocess.run(photo_of_a_seven(), preprocess.PHOTO).input
    gray = preprocess.merge_channels(small)
    cleaned = preprocess.clean(preprocess.normalise_photo(gray), preprocess.PHOTO)
    _, unenlarged, _ = preprocess.character(cleaned, preprocess.PHOTO)
    assert np.abs(result.input - reference).mean() < 0.8 * np.abs(unenlarged - reference).mean()


def test_enlarge_small_is_pure_and_leaves_big_images_alone():
    gray = np.random.default_rng(0).random((30, 20)).astype(np.float32)
    copy = gray.copy()
    enlarged = preprocess.enlarge_small(gray)
    np.testing.assert_array_equal(gray, copy)
    assert enlarged.shape == (96, 64) and enlarged.dtype == np.float32
    assert 0.0 <= enlarged.min() and enlarged.max() <= 1.0
    big = np.zeros((100, 40), np.float32)
    assert preprocess.enlarge_small(big) is big


def test_drawings_are_not_enlarged():
    small = np.zeros((40, 40), np.uint8)
    cv2.line(small, (10, 5), (10, 35), 255, 4)
    result = preprocess.run(small, preprocess.DRAWING)
    assert result.stage("gray").shape == (40, 40)
