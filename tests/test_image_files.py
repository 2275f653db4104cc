"""Image files as users have them, through `read_image` and the reader: each bad one gives one
clear line, each odd-but-valid one a sensible reading, and none a crash or a long wait."""

from __future__ import annotations

import time

import numpy as np
import pytest
from bad_images import EXPECTED, write_all
from PIL import Image, ImageOps

from lenet_core.imageio import MAX_SIDE, ImageReadError, _orient, read_image
from lenet_core.inference import Recognizer


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_file_gives_a_message_or_a_sensible_reading(files, recognizer, name):
    kind, expected = EXPECTED[name]
    started = time.perf_counter()
    if kind == "error":
        with pytest.raises(ImageReadError) as raised:
            read_image(files[name])
        message = str(raised.value)
        assert expected in message and name in message and "\n" not in message
    else:
        image = read_image(files[name])
        assert max(image.shape[:2]) <= MAX_SIDE
        reading = recognizer.read(image)
        assert reading.text == expected or (expected and reading.text in expected), (name, reading.text)
    assert time.perf_counter() - started < 10


def test_bytes_work_like_files(files):
    data = files["cmyk.jpg"].read_bytes()
    np.testing.assert_array_equal(read_image(data, "clipboard"), read_image(files["cmyk.jpg"]))
    with pytest.raises(ImageReadError, match="clipboard: is empty"):
        read_image(b"", "clipboard")


def test_deep_colour_keeps_its_16_bits(files):
    image = read_image(files["dark-rgb16.png"])
    assert image.dtype == np.uint16 and image.ndim == 3
    assert image.max() > 255  # Pillow alone would have cut it to 8 bits


def test_huge_images_are_refused_before_decoding(files):
    started = time.perf_counter()
    with pytest.raises(ImageReadError, match="20000×20000 pixels"):
        read_image(files["huge-20000x20000.png"])
    assert time.perf_counter() - started < 1.0  # the header alone says so


def test_big_jpeg_is_reduced_while_decoding(files):
    image = read_image(files["big-6000x4500.jpg"])
    assert image.shape == (2250, 3000)


def test_exif_rotation_is_respected(files):
    image = read_image(files["phone-exif-rotated.jpg"])
    assert image.shape[:2] == (360, 300)  # stored 300 high and 360 wide; shown upright


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_matches_pillow(orientation, tmp_path):
    pixels = (np.arange(3 * 5 * 3, dtype=np.uint8) * 5).reshape(3, 5, 3)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(tmp_path / "o.png", exif=exif)
    with Image.open(tmp_path / "o.png") as reopened:
        expected = np.asarray(ImageOps.exif_transpose(reopened))
    np.testing.assert_array_equal(_orient(pixels, orientation), expected)
