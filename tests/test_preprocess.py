"""Every pipeline stage on made-up images: polarity, colour models, bit depths, empty input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import glyph

from lenet_core import preprocess
from lenet_core.preprocess import DRAWING, PHOTO, PipelineOptions


def canvas_with(kind: str = "7", side: int = 280, ink_width: int = 18) -> np.ndarray:
    """A white-on-black drawing of a 7 (or L) like the drawing pad produces."""
    image = np.zeros((side, side), np.uint8)
    if kind == "7":
        cv2.line(image, (70, 60), (210, 60), 255, ink_width, cv2.LINE_AA)
        cv2.line(image, (210, 60), (120, 230), 255, ink_width, cv2.LINE_AA)
    else:
        cv2.line(image, (90, 50), (90, 230), 255, ink_width, cv2.LINE_AA)
        cv2.line(image, (90, 230), (200, 230), 255, ink_width, cv2.LINE_AA)
    return image


def test_stage_names_and_shapes():
    result = preprocess.run(canvas_with(), DRAWING)
    names = [stage.name for stage in result.stages]
    assert names == ["original", "gray", "normalised", "cleaned", "cropped", "centred", "input"]
    assert result.stage("centred").shape == (preprocess.WORK_SIDE, preprocess.WORK_SIDE)
    assert result.input.shape == (28, 28) and result.input.dtype == np.float32
    assert result.input.max() == pytest.approx(1.0)
    assert 0.0 <= result.input.min()


def test_dark_on_light_equals_light_on_dark():
    white_on_black = preprocess.run(canvas_with(), DRAWING).input
    black_on_white = preprocess.run(255 - canvas_with(), DRAWING).input
    np.testing.assert_allclose(white_on_black, black_on_white, atol=0.02)


def test_invert_override():
    paper = 255 - canvas_with()  # dark ink on light paper
    auto = preprocess.run(paper, DRAWING).input
    np.testing.assert_allclose(preprocess.run(paper, PipelineOptions(invert="on")).input, auto)
    # Told the ink is light when it is dark, nothing stands out from the background.
    assert preprocess.run(paper, PipelineOptions(invert="off")).empty
    assert preprocess.run(canvas_with(), PipelineOptions(invert="on")).empty


def test_character_is_centred_with_a_border_like_emnist():
    result = preprocess.run(canvas_with("L"), DRAWING).input
    rows, cols = np.nonzero(result > 50 / 255)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert 22 <= max(height, width) <= 26  # EMNIST: median 24 of 28 at this threshold
    assert rows.min() >= 1 and cols.min() >= 1 and rows.max() <= 26 and cols.max() <= 26
    centre_y, centre_x = (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2
    assert abs(centre_y - 13.5) <= 1 and abs(centre_x - 13.5) <= 1


def test_crop_box_is_in_original_coordinates():
    image = np.zeros((300, 400), np.uint8)
    image[100:200, 250:290] = 255
    result = preprocess.run(image, DRAWING)
    x, y, w, h = result.box
    assert abs(x - 250) <= 2 and abs(y - 100) <= 2 and abs(w - 40) <= 3 and abs(h - 100) <= 3


def test_thin_pen_is_thickened_to_emnist_stroke_width():
    thin = preprocess.run(canvas_with(ink_width=3), DRAWING)
    thick = preprocess.run(canvas_with(ink_width=30), DRAWING)
    widths = [preprocess.stroke_width(result.stage("centred")) for result in (thin, thick)]
    for width in widths:
        assert 0.7 * preprocess.EMNIST_STROKE_WIDTH <= width <= 1.6 * preprocess.EMNIST_STROKE_WIDTH
    assert thin.input.sum() > 60  # not a faint hairline at 28 px


def test_explicit_stroke_change():
    plain = preprocess.run(canvas_with(), PipelineOptions(stroke=0.0)).input
    bolder = preprocess.run(canvas_with(), PipelineOptions(stroke=2.0)).input
    assert bolder.sum() > plain.sum() * 1.2


def test_rgba_with_transparent_background():
    ink = canvas_with()
    dark_ink_rgba = np.zeros((*ink.shape, 4), np.uint8)  # black strokes, alpha = ink, rest transparent
    dark_ink_rgba[..., 3] = ink
    light_ink_rgba = np.dstack([np.full_like(ink, 255)] * 3 + [ink])
    reference = preprocess.run(ink, DRAWING).input
    for rgba in (dark_ink_rgba, light_ink_rgba):
        np.testing.assert_allclose(preprocess.run(rgba, DRAWING).input, reference, atol=0.03)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64, bool])
def test_bit_depths(dtype):
    ink = canvas_with()
    if dtype is np.uint16:
        image = ink.astype(np.uint16) * 257
    elif dtype is bool:
        image = ink > 127
    else:
        image = ink.astype(dtype) / 255.0 * 40.0 - 3.0  # float outside [0, 1]
    result = preprocess.run(image, DRAWING)
    tolerance = 0.25 if dtype is bool else 0.12  # thresholding loses the anti-aliased edge
    np.testing.assert_allclose(result.input, preprocess.run(ink, DRAWING).input, atol=tolerance)


def test_rgb_colour_ink():
    ink = canvas_with()
    rgb = np.full((*ink.shape, 3), 240, np.uint8)
    rgb[ink > 0] = (30, 40, 200)  # blue pen on white paper
    result = preprocess.run(rgb, PHOTO)
    assert not result.empty
    assert np.corrcoef(result.input.ravel(), preprocess.run(ink, DRAWING).input.ravel())[0, 1] > 0.9


@pytest.mark.parametrize("image", [np.zeros((200, 200), np.uint8), np.full((200, 200), 255, np.uint8), np.full((50, 80, 3), 128, np.uint8)])
def test_no_ink_is_an_empty_result_not_an_error(image):
    for options in (DRAWING, PHOTO):
        result = preprocess.run(image, options)
        assert result.empty and result.input is None and result.box is None
        assert result.stage("input").shape == (28, 28)
        with pytest.raises(ValueError, match="nothing to read"):
            result.as_uint8()


def test_photo_of_dark_ink_on_unevenly_lit_noisy_paper():
    rng = np.random.default_rng(1)
    ink = cv2.resize(glyph("7"), (300, 300), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    ramp = np.linspace(0.45, 0.95, 300, dtype=np.float32)[None, :] * np.ones((300, 1), np.float32)  # shadow on the left
    paper = ramp * (1 - 0.75 * ink) + rng.normal(0, 0.03, (300, 300)).astype(np.float32)
    photo = np.clip(paper * 255, 0, 255).astype(np.uint8)
    photo = np.dstack([photo, photo, (photo * 0.95).astype(np.uint8)])
    result = preprocess.run(photo, PHOTO)
    clean = preprocess.run(cv2.resize(glyph("7"), (300, 300)), DRAWING).input
    assert not result.empty
    assert np.corrcoef(result.input.ravel(), clean.ravel())[0, 1] > 0.85
    # the shadow did not leak in: the cleaned stage's left edge is background
    assert result.stage("cleaned")[:, :20].max() == 0


def test_ruled_lines_are_removed_from_photos():
    image = np.full((300, 300), 235, np.uint8)
    for y in range(20, 300, 40):
        cv2.line(image, (0, y), (299, y), 150, 2)  # lined paper
    cv2.line(image, (150, 60), (150, 240), 20, 14)  # a "1"
    result = preprocess.run(image, PHOTO)
    x, y, w, h = result.box
    assert w < 40 and h > 150  # the rules did not widen the crop


def test_specks_of_dust_do_not_move_the_crop():
    image = canvas_with()
    image[5:7, 5:7] = 255
    image[270:272, 270:272] = 255
    result = preprocess.run(255 - image, PHOTO)
    x, y, w, h = result.box
    assert x > 40 and y > 40 and x + w < 240 and y + h < 250


def test_merge_channels_rejects_non_images():
    with pytest.raises(ValueError, match="not an image array"):
        preprocess.merge_channels(np.zeros((4, 4, 7)))


def test_stroke_width_measures_lines():
    for width in (3, 6, 12, 20):
        image = np.zeros((200, 200), np.float32)
        image[100 : 100 + width, 20:180] = 1.0
        assert preprocess.stroke_width(image) == pytest.approx(width, rel=0.1, abs=1.0)
