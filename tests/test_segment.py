"""Several characters in one photo: segmentation (count, order, merging, lines, words, boxes)
and reading with the shipped model, on made-up photos of real EMNIST handwriting."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import TEST_DATA, glyph
from photo_maker import handwriting_line, photograph, pick, stack_lines

from lenet_core import preprocess, segment
from lenet_core.datasets import load_dataset
from lenet_core.inference import Recognizer


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()


@pytest.fixture(scope="module")
def handwriting():
    return load_dataset(TEST_DATA / "emnist", "balancedmini", "test")


def clean_reading(recognizer, glyphs) -> str:
    """What the model reads from the EMNIST images themselves: the best a photo can give."""
    batch = np.stack(glyphs).astype(np.float32) / 255
    return "".join(recognizer.classes[i] for i in recognizer.probabilities(batch).argmax(1))


def ink_of(*strokes, size=(200, 400)) -> np.ndarray:
    """White-on-black strokes drawn with OpenCV: ("line", p0, p1) or ("dot", centre, radius)."""
    image = np.zeros(size, np.uint8)
    for kind, a, b in strokes:
        if kind == "line":
            cv2.line(image, a, b, 255, 9, cv2.LINE_AA)
        else:
            cv2.circle(image, a, b, 255, -1, cv2.LINE_AA)
    return image


def test_a_line_of_handwriting_is_counted_ordered_and_read(recognizer, handwriting):
    rng = np.random.default_rng(11)
    lines = counted = agreed = total = 0
    for trial in range(12):
        glyphs, labels = pick(handwriting, 6, rng)
        photo = photograph(handwriting_line(glyphs, height=int(rng.integers(50, 130)), rng=rng), rng,
                           ruled=(None, "lined", "squared")[trial % 3])
        reading = recognizer.read(photo, context=False)  # random characters: no word for look-alikes to follow
        lines += 1
        if len(reading.characters) != len(glyphs):
            continue
        counted += 1
        xs = [character.box[0] for character in reading.characters]
        assert xs == sorted(xs), "reading order is left to right"
        expected = clean_reading(recognizer, glyphs)
        agreed += sum(a == b for a, b in zip(reading.text, expected))
        total += len(expected)
    assert counted >= 11, f"only {counted} of {lines} lines were split into the right number of characters"
    assert agreed / total >= 0.8, f"the photos read like the clean images for only {agreed}/{total} characters"


def test_boxes_cover_the_characters_in_original_coordinates(handwriting):
    rng = np.random.default_rng(3)
    glyphs, _ = pick(handwriting, 5, rng)
    ink = handwriting_line(glyphs, height=300, gap=0.5, rng=rng)  # wider than the 1600-px working size
    photo = photograph(ink, rng, rotate=0)
    assert photo.shape[1] > 1600
    found = segment.segment(photo)
    assert len(found.characters) == 5
    for character in found.characters:
        x, y, w, h = character.box
        inside = ink[y : y + h, x : x + w]
        assert inside.sum() > 0.8 * ink[max(0, y - 40) : y + h + 40, max(0, x - 10) : x + w + 10].sum() * 0.9
        assert 0 <= x and x + w <= photo.shape[1] and y + h <= photo.shape[0]
    # Boxes do not overlap: each character got its own ink.
    boxes = [character.box for character in found.characters]
    for left, right in zip(boxes, boxes[1:]):
        assert left[0] + left[2] <= right[0] + 2


def test_dot_of_i_and_j_and_broken_strokes_are_merged():
    i_and_j = ink_of(
        ("line", (60, 80), (60, 160)), ("dot", (60, 50), 8),  # i
        ("line", (150, 80), (150, 170)), ("line", (150, 170), (125, 185)), ("dot", (150, 50), 8),  # j
        ("line", (240, 40), (240, 95)), ("line", (240, 115), (240, 170)),  # an l broken in two
        ("line", (300, 40), (360, 40)), ("line", (340, 60), (320, 170)),  # a 7 whose bar came loose
    )
    found = segment.segment(255 - i_and_j)
    assert len(found.characters) == 4
    tops = [character.box[1] for character in found.characters]
    assert tops[0] < 50 and tops[1] < 50  # the dots belong to their letters


def test_lines_are_read_top_to_bottom_and_words_are_spaced(handwriting, recognizer):
    rng = np.random.default_rng(5)
    rows, expected = [], []
    for breaks in ((), (2,), ()):
        glyphs, _ = pick(handwriting, 4, rng)
        rows.append(handwriting_line(glyphs, height=70, rng=rng, word_breaks=breaks))
        expected.append(clean_reading(recognizer, glyphs))
    photo = photograph(stack_lines(rows, spacing=0.25), rng, rotate=1.0)
    reading = recognizer.read(photo)
    lines = reading.text.split("\n")
    assert [len(line.replace(" ", "")) for line in lines] == [4, 4, 4]
    assert lines[1][2] == " " and " " not in lines[0] + lines[2]
    assert [character.line for character in reading.characters] == [0] * 4 + [1] * 4 + [2] * 4


def test_region_reads_only_that_part_and_keeps_photo_coordinates(handwriting):
    rng = np.random.default_rng(8)
    glyphs, _ = pick(handwriting, 6, rng)
    photo = photograph(handwriting_line(glyphs, height=80, gap=0.5, rng=rng), rng, rotate=0)
    everything = segment.segment(photo)
    assert len(everything.characters) == 6
    third, fourth = everything.characters[2].box, everything.characters[3].box
    region = (third[0] - 10, 0, fourth[0] + fourth[2] + 10 - (third[0] - 10), photo.shape[0])
    part = segment.segment(photo, region=region)
    assert len(part.characters) == 2
    for inside, whole in zip(part.characters, everything.characters[2:4]):
        assert np.allclose(inside.box, whole.box, atol=3)
    assert part.stage("original").shape[1] == region[2]


def test_one_character_mode_is_the_single_character_pipeline():
    photo = 255 - ink_of(("line", (60, 80), (60, 160)), ("dot", (60, 50), 8))
    whole = segment.segment(photo, preprocess.PHOTO, split=False)
    single = preprocess.run(photo, preprocess.PHOTO)
    assert len(whole.characters) == 1
    np.testing.assert_array_equal(whole.characters[0].pipeline.input, single.input)
    assert whole.characters[0].box == single.box


@pytest.mark.parametrize(("kind", "accepted"), [("7", "7"), ("L", "L")])
def test_a_photographed_character_stays_recognisable(recognizer, kind, accepted):
    """Dark ink on light paper, lit from one side, noisy, textured, slightly rotated."""
    rng = np.random.default_rng(2)
    ink = np.pad(cv2.resize(glyph(kind), (240, 240), interpolation=cv2.INTER_LINEAR), 80).astype(np.float32) / 255
    for light in ((0.5, 0.95), (0.2, 0.9), (0.25, 0.4)):  # ordinary, a deep shadow, a dim room
        photo = photograph(ink, rng, light=light, rotate=5, noise=0.04)
        prediction = recognizer.recognise(photo, preprocess.PHOTO)
        assert not prediction.empty
        assert prediction.best[0] in accepted, (light, prediction.top[:3])
        reading = recognizer.read(photo)
        assert reading.text in accepted


def test_uneven_light_does_not_become_ink():
    rng = np.random.default_rng(4)
    ink = np.pad(cv2.resize(glyph("L"), (160, 160)), 100).astype(np.float32) / 255
    photo = photograph(ink, rng, light=(0.15, 0.95), rotate=0)
    cleaned = segment.segment(photo).stage("cleaned")
    rows, cols = np.nonzero(cleaned)
    assert rows.min() > 80 and cols.min() > 80 and rows.max() < 280 and cols.max() < 280


@pytest.mark.parametrize("conditions", [{}, {"noise": 0.08}, {"light": (0.15, 0.95)}, {"texture": 0.15}, {"ruled": "squared"}])
def test_blank_paper_holds_nothing_to_read(recognizer, conditions):
    photo = photograph(np.zeros((300, 450), np.float32), np.random.default_rng(0), **conditions)
    assert recognizer.read(photo).empty
    assert preprocess.run(photo, preprocess.PHOTO).empty


def test_light_ink_on_a_dark_board_is_read_like_dark_ink(handwriting, recognizer):
    rng = np.random.default_rng(9)
    glyphs, _ = pick(handwriting, 5, rng)
    photo = photograph(handwriting_line(glyphs, rng=rng), rng)
    dark_ink = recognizer.read(photo)
    chalk = recognizer.read(255 - photo)
    assert len(chalk.characters) == len(dark_ink.characters) == 5
    assert sum(a == b for a, b in zip(chalk.text, dark_ink.text)) >= 4


def test_a_dense_page_is_read_up_to_the_limit(handwriting):
    rng = np.random.default_rng(12)
    rows = [handwriting_line(pick(handwriting, 45, rng)[0], height=36, gap=0.3, margin=0.3, rng=rng) for _ in range(10)]
    photo = photograph(stack_lines(rows, spacing=0.3), rng, rotate=0, texture=0.02)
    found = segment.segment(photo)
    assert len(found.characters) == segment.MAX_CHARACTERS
    assert 30 <= found.left_out <= 60  # 450 written
    assert [c.line for c in found.characters] == sorted(c.line for c in found.characters)


def test_no_ink_gives_an_empty_segmentation():
    found = segment.segment(np.full((100, 100, 3), 200, np.uint8))
    assert found.empty and found.characters == ()
    assert [stage.name for stage in found.stages] == ["original", "gray", "normalised", "cleaned"]
