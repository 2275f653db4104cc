"""Training images cut out of touching neighbours (lenet_core.touching, issue 12): the little
lines really join their ink, the piece cut out is the middle character's (with at most slivers of
its neighbours), and the Trainer adds them when asked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import ROOT

from lenet_core import preprocess, touching
from lenet_core.datasets import load_dataset

MINI = ROOT / "tests" / "data" / "emnist"


@pytest.fixture(scope="module")
def digits():
    return load_dataset(MINI, "digitsmini", "train")


def ink_components(image: np.ndarray) -> int:
    """Connected pieces of dark ink (dark on white uint8), ignoring specks."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((image < 128).astype(np.uint8), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= 20).sum())


def test_touching_line_joins_the_ink_of_neighbours(digits):
    rng = np.random.default_rng(0)
    joined = 0
    for n in range(10):
        pieces = [touching._glyph(digits.images[i]) for i in (3 * n, 3 * n + 1, 3 * n + 2)]
        line, spans = touching.touching_line(pieces, rng)
        assert line.dtype == np.uint8 and len(spans) == 3
        assert all(a < b for a, b in spans) and spans[0][0] < spans[1][0] < spans[2][0]
        assert all(spans[k][1] > spans[k + 1][0] for k in range(2))  # the boxes overlap
        alone = sum(ink_components(255 - np.round(255 * p).astype(np.uint8)) for p in pieces)
        joined += ink_components(line) < alone
    assert joined >= 9  # apart they are three or more pieces of ink; written touching, fewer


def test_cut_out_is_the_middle_character(digits):
    """The reader's piece for the middle of a touching triple looks like that character read
    alone far more than like either neighbour read alone."""
    rng = np.random.default_rng(1)
    closer = tried = 0
    for _ in range(12):
        chosen = [int(i) for i in rng.choice(len(digits), 3, replace=False)]
        line, spans = touching.touching_line([touching._glyph(digits.images[i]) for i in chosen], rng)
        piece = touching.cut_out(line, spans[1])
        if piece is None:
            continue
        tried += 1
        assert piece.shape == (28, 28) and 0.0 <= piece.min() and piece.max() <= 1.0
        alone = [preprocess.run(255 - digits.images[i], preprocess.PHOTO).input for i in chosen]
        distance = [float(np.abs(piece - a).mean()) for a in alone]
        closer += distance[1] < min(distance[0], distance[2])
    assert tried >= 9 and closer >= tried - 1


def test_touching_crops_are_labelled_inputs(digits):
    images, labels = touching.touching_crops(digits.images, digits.labels, 60, seed=3)
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
    assert 50 <= len(images) <= 60 and len(labels) == len(images)
    assert set(labels.tolist()) <= set(range(10)) and len(set(labels.tolist())) >= 6
    again, _ = touching.touching_crops(digits.images, digits.labels, 60, seed=3)
    assert np.array_equal(images, again)  # deterministic for a seed
    # Not copies of training images: each is a new cut (slivers of neighbours, seams).
    train = {image.tobytes() for image in digits.images}
    assert not any(image.tobytes() in train for image in images)


def test_trainer_adds_touching_crops(digits):
    from lenet_core.training import TrainConfig, Trainer, TrainingError

    logs = []

    class Log:
        def on_log(self, message):
            logs.append(message)

    trainer = Trainer(TrainConfig(data=str(MINI), split="digitsmini", touching=120))
    trainer.callbacks.on_log = Log().on_log
    loaded, _ = trainer.load_data()
    assert 100 <= len(loaded) - len(digits) <= 120
    assert any("touching" in message for message in logs)
    with pytest.raises(TrainingError, match="touching"):
        Trainer(TrainConfig(data=str(MINI), split="digitsmini", touching=-1))
