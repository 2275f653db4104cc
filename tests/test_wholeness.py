"""The reader's whole-character network (lenet_core.wholeness, issue 12): what it is shown (a
candidate in its line, at a fixed line height) and that the shipped network tells whole
characters from fragments and merges on lines it was not trained on (the repo's mini EMNIST set)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import ROOT
from line_maker import draw_line, emnist_glyphs, pick_line, whole_overlap

from lenet_core import reader, wholeness
from lenet_core.datasets import load_dataset

MINI = ROOT / "tests" / "data" / "emnist"


def bar_line(height: int = 60) -> np.ndarray:
    """A cleaned image (ink 1.0 on 0) of two upright bars `height` tall, 1.2 heights apart."""
    image = np.zeros((2 * height, 4 * height), np.float32)
    cv2.line(image, (height, height // 2), (height, height // 2 + height), 1.0, 8)
    cv2.line(image, (int(2.2 * height), height // 2), (int(2.2 * height), height // 2 + height), 1.0, 8)
    return image


def test_a_window_shows_the_candidate_centred_at_the_line_height_with_its_neighbour_beside_it():
    cleaned = bar_line(60)
    graphs, _ = reader.line_graphs(cleaned)
    assert len(graphs) == 1
    found = reader.candidates(graphs[0])
    views = wholeness.windows(cleaned, graphs[0], found)
    rows, columns = wholeness.WINDOW
    assert views.shape == (len(found), rows, columns, 2) and views.dtype == np.float32
    assert 0.0 <= views.min() and views.max() <= 1.0
    first = next(i for i, c in enumerate(found) if c.last - c.first == 1 and c.box[0] < 100)
    own, line = views[first, :, :, 0], views[first, :, :, 1]
    ys, xs = np.nonzero(own > 0.5)
    assert abs((ys.max() - ys.min() + 1) - wholeness.HEIGHT) <= 2  # the bar (the line's height) scaled to HEIGHT
    assert abs(xs.mean() - columns / 2) <= 1.5 and abs(ys.mean() - rows / 2) <= 1.5
    right_of = line[:, columns // 2 + 8 :]  # the neighbour, 1.2 heights (24 px) to the right, is in the line channel only
    assert right_of.max() > 0.5 and own[:, columns // 2 + 8 :].max() == 0.0


@pytest.fixture(scope="module")
def judge():
    return wholeness.shipped()


def test_the_shipped_network_rates_whole_characters_above_the_other_candidates(judge):
    """On touching and broken lines of the mini set's characters, a whole character (its ink
    columns cover a drawn character's, overlap ≥ 75 %) gets a higher logit than a fragment or a
    merge in most pairs: AUC ≥ 0.85 (the reader's hand-made features alone give about 0.9 on
    real lines, the network about 0.97)."""
    data = load_dataset(MINI, "balancedmini", "test")
    glyphs = emnist_glyphs(data, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 400, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    logits, whole = [], []
    score = lambda batch: np.full((len(batch), 47), 1 / 47, np.float32)  # noqa: E731  (the character network is not needed here)
    for n in range(24):
        spans: list = []
        image, _ = draw_line(pick_line(glyphs, 5, rng), ("touching", "broken", "separated")[n % 3], rng, spans=spans)
        made = reader.draft(image, score, [str(k) for k in range(47)], judge=judge)
        for found, line_logits in zip(made.candidates, made.whole):
            logits += line_logits.tolist()
            whole += [whole_overlap(made, candidate, spans) >= 0.75 for candidate in found]
    logits, whole = np.array(logits), np.array(whole)
    assert 0.1 < whole.mean() < 0.5
    pairs = (logits[whole][:, None] > logits[~whole][None, :]).mean()
    assert pairs >= 0.85, f"AUC {pairs:.3f}"


def test_the_judge_answers_one_logit_per_window_and_none_for_none(judge):
    views = np.zeros((3, *wholeness.WINDOW, 2), np.float32)
    assert judge(views).shape == (3,)
    assert judge(np.zeros((0, *wholeness.WINDOW, 2), np.float32)).shape == (0,)
    assert np.isfinite(judge(views)).all()


@pytest.fixture
def damaged_network(tmp_path, monkeypatch):
    """The shipped network's file missing (a broken installation), not yet loaded."""
    monkeypatch.setattr(wholeness, "NETWORK_FILE", ("reader", "no-such-network.tflite"))
    wholeness.shipped.cache_clear()
    yield
    wholeness.shipped.cache_clear()


def test_a_missing_network_is_one_clear_line_in_the_cli(damaged_network, tmp_path, capsys):
    from lenet_core import cli

    image = np.full((240, 400), 255, np.uint8)  # "11"
    cv2.line(image, (100, 60), (100, 200), 0, 12, cv2.LINE_AA)
    cv2.line(image, (220, 60), (220, 200), 0, 12, cv2.LINE_AA)
    cv2.imwrite(str(tmp_path / "line.png"), image)
    assert cli.main(["read", str(tmp_path / "line.png")]) == 1
    error = capsys.readouterr().err.strip()
    assert "no-such-network.tflite is missing; reinstall LeNet Studio" in error
    assert len(error.splitlines()) == 1 and "Traceback" not in error


def test_a_damaged_network_says_so(tmp_path, monkeypatch):
    (tmp_path / "reader").mkdir()
    (tmp_path / "reader" / "whole-character.tflite").write_bytes(b"TFL3 truncated")
    monkeypatch.setattr(wholeness, "resource_path", lambda *parts: tmp_path.joinpath(*parts))
    wholeness.shipped.cache_clear()
    try:
        with pytest.raises(wholeness.NetworkMissing, match="cannot be loaded"):
            wholeness.shipped()
    finally:
        wholeness.shipped.cache_clear()
