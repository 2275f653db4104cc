"""Reading by recognition (`lenet_core.reader`): candidate cuts through touching ink, merges of
a character drawn in several strokes, the graph search, the character set and the context prior."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import TEST_DATA
from line_maker import Glyph, centre_line, draw_line

from lenet_core import charset, preprocess, reader, segment
from lenet_core.datasets import load_dataset
from lenet_core.inference import Recognizer

CLASSES = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()


@pytest.fixture(scope="module")
def glyphs():
    data = load_dataset(TEST_DATA / "emnist", "balancedmini", "test")
    return [Glyph(data.classes[label], centre_line(image, white_ink=True), f"mini{i}") for i, (image, label) in enumerate(zip(data.images, data.labels))]


def strokes(*lines, size=(240, 400), width=12) -> np.ndarray:
    """Dark strokes on white paper: each ((x0, y0), (x1, y1))."""
    image = np.full(size, 255, np.uint8)
    for a, b in lines:
        cv2.line(image, a, b, 0, width, cv2.LINE_AA)
    return image


def graph_of(image: np.ndarray) -> reader.LineGraph:
    cleaned = preprocess.prepare(image, preprocess.PHOTO)[-1].image
    labels, found = segment._find_characters(cleaned)
    (line,) = reader.line_groups([box for box, _ in found])
    blobs = [found[i] for i in line]
    return reader.over_segment(cleaned, labels, blobs, float(np.percentile([b[3] for b, _ in blobs], 80)))


# --- over-segmentation ------------------------------------------------------------------------


def test_a_touching_pair_gets_a_cut_where_the_characters_meet(glyphs):
    rng = np.random.default_rng(3)
    pair = [g for g in glyphs if g.label in "0O"][:1] + [g for g in glyphs if g.label == "1"][:1]
    spans: list = []
    image, _ = draw_line(pair, "touching", rng, height=120, pen=10, spans=spans)
    cleaned = preprocess.prepare(image, preprocess.PHOTO)[-1].image
    assert len(segment.character_boxes(cleaned)) == 1  # one blob: the old reader sees one character
    graph = graph_of(image)
    seams = [b for b in graph.boundaries if b.kind == "seam"]
    assert seams, "no candidate cut inside the touching pair"
    junction = (spans[0][1] + spans[1][0]) / 2
    assert min(abs(float(np.median(b.seam)) - junction) for b in seams) < 0.2 * 120
    # every seam is a top-to-bottom path through the blob's rows, moving at most a column a row
    for boundary in seams:
        assert np.abs(np.diff(boundary.seam)).max() <= 1


TOUCHING_PAIRS = {  # one blob of ink each; the old reader reads one character
    "4L": (((100, 45), (40, 140)), ((40, 140), (130, 140)), ((110, 90), (110, 195)), ((110, 195), (150, 195)),
           ((150, 45), (150, 195)), ((150, 195), (220, 195))),  # the 4's foot runs into the L
    "47": (((100, 45), (40, 140)), ((40, 140), (130, 140)), ((110, 90), (110, 195)), ((130, 140), (150, 50)),
           ((150, 50), (240, 50)), ((240, 50), (180, 195))),  # the 4's bar runs into the 7
}


def test_an_l_whose_foot_runs_into_the_next_letter_gets_a_cut_before_it():
    """L's foot is one stroke thick all the way to the next letter: no valley of the ink
    profile, so only the plateau rule proposes the cut just before the second stem."""
    mask = np.zeros((100, 130), bool)
    for x in (10, 62):  # two Ls: stems 8 px wide, feet along the bottom
        mask[:, x : x + 8] = True
        mask[92:, x : x + 58] = True
    columns = reader._cut_columns(mask, 100.0, 8.0)
    assert any(48 <= x < 62 for x in columns), columns
    saved = reader.PLATEAU
    try:
        reader.PLATEAU = 0.0
        assert not any(48 <= x < 62 for x in reader._cut_columns(mask, 100.0, 8.0))  # the rule is what finds it
    finally:
        reader.PLATEAU = saved
    bar = np.zeros((100, 130), bool)
    bar[40:48, 5:125] = True  # a lone bar (a T's top broken from its stem): nothing on either side to part
    assert not reader._cut_columns(bar, 100.0, 8.0)


@pytest.mark.parametrize("pair", sorted(TOUCHING_PAIRS))
def test_a_touching_pair_is_read_as_two_characters(recognizer, pair):
    image = strokes(*TOUCHING_PAIRS[pair], size=(240, 300))
    cleaned = preprocess.prepare(image, preprocess.PHOTO)[-1].image
    assert len(segment.character_boxes(cleaned)) == 1  # one blob of ink
    assert len(recognizer.read(image, search=False).characters) == 1
    reading = recognizer.read(image)
    assert len(reading.characters) == 2
    assert reading.characters[0].box[0] < reading.characters[1].box[0]
    for expected, character in zip(pair, reading.characters):
        assert expected in [char for char, _ in character.top[:3]]


def test_an_h_drawn_in_three_strokes_stays_one_character(recognizer):
    # Two bars and a bar across with gaps between them: three blobs, one character.
    image = strokes(((100, 60), (100, 200)), ((122, 130), (168, 130)), ((190, 60), (190, 200)), size=(300, 400))
    cleaned = preprocess.prepare(image, preprocess.PHOTO)[-1].image
    assert len(segment.character_boxes(cleaned)) >= 2  # the old reader's blobs: "11"-like pieces
    reading = recognizer.read(image)
    assert len(reading.characters) == 1
    assert "H" in [char for char, _ in reading.characters[0].top[:3]]


def test_the_cuts_are_a_stage_of_every_characters_pipeline(recognizer, glyphs):
    image, _ = draw_line(glyphs[:4], "touching", np.random.default_rng(1), height=90, pen=8)
    reading = recognizer.read(image)
    names = [stage.name for stage in reading.segmentation.stages]
    assert names[-2:] == ["cleaned", "cuts"]
    cuts = reading.segmentation.stage("cuts")
    assert cuts.ndim == 3 and cuts.shape[2] == 3 and cuts.dtype == np.uint8
    assert ((cuts[..., 0] > 200) & (cuts[..., 1] < 80)).any()  # red seams drawn
    for character in reading.characters:
        assert [s.name for s in character.pipeline.stages][: len(names)] == names
        assert character.pipeline.input.shape == (28, 28)


# --- the search -------------------------------------------------------------------------------


def toy_graph(n: int) -> reader.LineGraph:
    atoms = tuple(reader.Atom((10 * i, 0, 8, 10), np.ones((10, 8), np.float32), i) for i in range(n))
    return reader.LineGraph(atoms, tuple(reader.Boundary("gap", gap=0.2) for _ in range(n - 1)), 10.0)


def test_the_best_path_and_the_second_best_reading():
    graph = toy_graph(3)
    found = [reader.Candidate(i, j, (0, 0, 1, 1), np.zeros((1, 1), np.float32)) for i in range(3) for j in range(i + 1, 4)]
    scores = []
    for candidate in found:
        if (candidate.first, candidate.last) == (0, 2):
            scores.append([(7, -0.1), (8, -2.0)])  # atoms 0+1 read well as class 7
        elif (candidate.first, candidate.last) == (2, 3):
            scores.append([(3, -0.2)])
        else:
            scores.append([(1, -3.0)])
    weights = reader.Weights(close_split=0.0)
    paths = reader.best_paths(graph, found, scores, weights, keep=3)
    best = [(found[i].first, found[i].last, klass) for i, klass in paths[0].steps]
    assert best == [(0, 2, 7), (2, 3, 3)]
    assert paths[0].score == pytest.approx(-0.3)
    assert paths[1].score <= paths[0].score and paths[1].steps != paths[0].steps
    second = [(found[i].first, found[i].last, klass) for i, klass in paths[1].steps]
    assert second == [(0, 2, 8), (2, 3, 3)]  # the runner-up differs in one class


def test_a_character_bonus_trades_merges_against_splits():
    graph = toy_graph(2)
    found = [reader.Candidate(0, 1, (0, 0, 1, 1), None), reader.Candidate(1, 2, (0, 0, 1, 1), None),
             reader.Candidate(0, 2, (0, 0, 1, 1), None)]
    scores = [[(1, -0.2)], [(1, -0.2)], [(17, -0.1)]]  # "11" or one "H"
    merge = reader.best_paths(graph, found, scores, reader.Weights(close_split=0.0))[0]
    assert [i for i, _ in merge.steps] == [2]
    # the bonus is part of the edge scores: with a large one, two characters win
    bonus = [[(c, s + 1.0) for c, s in row] for row in scores]
    split = reader.best_paths(graph, found, bonus, reader.Weights(close_split=0.0))[0]
    assert [i for i, _ in split.steps] == [0, 1]


def test_a_clean_line_keeps_one_character_per_blob_unless_the_search_is_far_better():
    graph = toy_graph(3)  # three blobs 0.8 line heights wide, 0.2 apart: all look like characters
    assert reader.clean_line(graph)
    found = [reader.Candidate(i, j, (0, 0, 1, 1), None) for i in range(3) for j in range(i + 1, 4)]
    merged = {(0, 2): -0.5}  # the network likes blobs 0+1 as one character a little better
    scores = [[(5, merged.get((c.first, c.last), -1.0 if c.last == c.first + 1 else -9.0))] for c in found]
    weights = reader.Weights(close_split=0.0, components_margin=2.0)
    searched = reader.best_paths(graph, found, scores, weights)
    assert [(found[i].first, found[i].last) for i, _ in searched[0].steps] == [(0, 2), (2, 3)]
    paths = reader.prefer_components(graph, found, scores, searched, weights)
    assert [(found[i].first, found[i].last) for i, _ in paths[0].steps] == [(0, 1), (1, 2), (2, 3)]
    assert paths[0].score == pytest.approx(-3.0)
    assert paths[1].steps == searched[0].steps  # the search's reading stays the runner-up
    # far better by the network (more than the margin): the search's path wins
    merged[(0, 2)] = 4.0
    scores = [[(5, merged.get((c.first, c.last), -1.0 if c.last == c.first + 1 else -9.0))] for c in found]
    searched = reader.best_paths(graph, found, scores, weights)
    assert reader.prefer_components(graph, found, scores, searched, weights)[0].steps == searched[0].steps
    # a blob much wider than a character (or much lower) makes the line not clean: the search decides
    wide = reader.LineGraph(graph.atoms[:2] + (reader.Atom((20, 0, 18, 10), np.ones((10, 18), np.float32), 2),), graph.boundaries, 10.0)
    low = reader.LineGraph(graph.atoms[:2] + (reader.Atom((20, 6, 8, 3), np.ones((3, 8), np.float32), 2),), graph.boundaries, 10.0)
    assert not reader.clean_line(wide) and not reader.clean_line(low)


def test_a_separated_line_of_whole_characters_keeps_the_components_count(recognizer, glyphs):
    rng = np.random.default_rng(24)
    clean = 0
    for _ in range(8):
        image, truth = draw_line([glyphs[int(i)] for i in rng.choice(len(glyphs), 6, replace=False)], "separated", rng, height=80, pen=7)
        old = recognizer.read(image, search=False)
        made = reader.draft(image, recognizer.probabilities, recognizer.classes)
        blobs = {atom.blob for graph in made.graphs for atom in graph.atoms}
        if len(old.characters) != len(truth) or len(made.graphs) != 1 or not reader.clean_line(made.graphs[0]) \
                or len(blobs) != len(truth):
            continue  # a glyph drawn in pieces or very wide: the search may rightly differ
        clean += 1
        reading = recognizer.read(image, context=False)
        assert len(reading.characters) == len(truth), (truth, old.text, reading.text)
        assert [c.box for c in reading.characters] == [c.box for c in old.characters]
    assert clean >= 4  # most of these lines are clean; the check above ran on them


def test_closeness_makes_a_split_between_overlapping_pieces_cost():
    assert reader.boundary_cost(reader.Boundary("gap", gap=-0.1)) > reader.boundary_cost(reader.Boundary("gap", gap=0.05))
    assert reader.boundary_cost(reader.Boundary("gap", gap=0.5)) == 0.0
    assert reader.boundary_cost(reader.Boundary("seam", strokes=2.0)) >= reader.boundary_cost(reader.Boundary("seam", strokes=1.0))


# --- words and lines --------------------------------------------------------------------------


def test_words_keep_their_space_and_lines_their_break(recognizer, glyphs):
    rng = np.random.default_rng(4)
    first, _ = draw_line(glyphs[10:15], "separated", rng, height=80, pen=7, word_breaks=(2,))
    second, _ = draw_line(glyphs[20:23], "separated", rng, height=80, pen=7)
    width = max(first.shape[1], second.shape[1])
    page = np.vstack([np.pad(first, ((0, 0), (0, width - first.shape[1])), constant_values=255),
                      np.pad(second, ((0, 0), (0, width - second.shape[1])), constant_values=255)])
    text = recognizer.read(page).text
    lines = text.split("\n")
    assert len(lines) == 2
    assert len(lines[0].split(" ")) == 2  # the word gap after the second character
    assert " " not in lines[1]


def test_line_groups_keep_the_pieces_of_a_broken_character_on_their_line():
    # a tall stroke, the upper and lower half of a broken character next to it, and a second line
    boxes = [(0, 0, 10, 100), (20, 0, 30, 45), (20, 55, 30, 45), (60, 5, 10, 90), (0, 200, 10, 100)]
    assert reader.line_groups(boxes) == [[0, 1, 2, 3], [4]]


# --- character set and context ----------------------------------------------------------------


def test_named_and_custom_character_sets():
    digits = charset.mask("digits", CLASSES)
    assert [c for c, keep in zip(CLASSES, digits) if keep] == list("0123456789")
    upper = charset.mask("upper", CLASSES)
    lower = charset.mask("Lower case", CLASSES)
    assert upper[CLASSES.index("A")] and not upper[CLASSES.index("a")] and not upper[CLASSES.index("5")]
    assert lower[CLASSES.index("a")] and not lower[CLASSES.index("A")]
    assert lower[CLASSES.index("C")]  # Balanced merges c into C: a lower-case c is read as that class
    assert charset.mask("all", CLASSES) is None and charset.mask(None, CLASSES) is None
    custom = charset.mask("ABc12", CLASSES)
    assert [c for c, keep in zip(CLASSES, custom) if keep] == ["1", "2", "A", "B", "C"]


def test_a_character_set_no_class_fits_is_an_error():
    with pytest.raises(charset.CharsetError, match="no character the model knows"):
        charset.mask("#%&", CLASSES)
    with pytest.raises(charset.CharsetError):
        charset.mask("letters", list("0123456789"))


def test_masking_renormalises_the_probabilities():
    rows = np.array([[0.5, 0.3, 0.2, 0.0], [0.0, 0.0, 0.0, 1.0]], np.float32)
    allowed = np.array([False, True, True, False])
    masked = charset.apply(rows, allowed)
    assert masked[0] == pytest.approx([0.0, 0.6, 0.4, 0.0])
    assert masked[1] == pytest.approx([0.0, 0.5, 0.5, 0.0])  # no mass left: the allowed classes share it
    assert charset.apply(rows, None) is rows


def test_the_charset_limits_every_reading(recognizer):
    image = strokes(((100, 60), (100, 200)), ((122, 130), (168, 130)), ((190, 60), (190, 200)), size=(300, 400))
    digits = recognizer.read(image, charset="digits")
    assert digits.characters and all(c.isdigit() for c in digits.text.replace(" ", ""))
    assert all(char.isdigit() for character in digits.characters for char, _ in character.top)
    assert abs(sum(p for _, p in digits.characters[0].top) - 1.0) < 0.02 or len(digits.characters[0].top) == 5
    prediction = recognizer.recognise(image, preprocess.PHOTO, 3, charset="upper")
    assert all(char.isalpha() and char.upper() == char for char, _ in prediction.top)


def one_hot(classes, **probabilities) -> np.ndarray:
    row = np.full(len(classes), 1e-4, np.float32)
    for char, p in probabilities.items():
        row[classes.index(char.strip("_"))] = p
    return row / row.sum()


def test_look_alikes_follow_their_neighbours():
    c = CLASSES
    word = np.stack([one_hot(c, H=0.95), one_hot(c, E=0.9), one_hot(c, L=0.9), one_hot(c, O=0.4, _0=0.55)])
    adjusted = reader.context_prior(word, [0, 0, 0, 0], c)
    assert c[int(np.argmax(adjusted[3]))] == "O"  # a letter among letters
    numbers = np.stack([one_hot(c, _4=0.9), one_hot(c, _2=0.9), one_hot(c, O=0.6, _0=0.35)])
    assert c[int(np.argmax(reader.context_prior(numbers, [0, 0, 0], c)[2]))] == "0"  # a digit among digits
    clear = np.stack([one_hot(c, _4=0.9), one_hot(c, _2=0.9), one_hot(c, O=0.9, _0=0.08)])
    assert c[int(np.argmax(reader.context_prior(clear, [0, 0, 0], c)[2]))] == "O"  # the ink says otherwise
    other = np.stack([one_hot(c, _4=0.9), one_hot(c, _2=0.9), one_hot(c, L=0.5, _6=0.4)])
    assert c[int(np.argmax(reader.context_prior(other, [0, 0, 0], c)[2]))] == "L"  # L and 6 are no look-alikes
    apart = reader.context_prior(numbers, [0, 0, 1], c)  # a word of its own keeps its reading
    assert c[int(np.argmax(apart[2]))] == "O"
    case = np.stack([one_hot(c, a=0.9), one_hot(c, b=0.9), one_hot(c, D=0.5, d=0.45)])
    assert c[int(np.argmax(reader.context_prior(case, [0, 0, 0], c)[2]))] == "d"  # one case per word
    for row in reader.context_prior(word, [0, 0, 0, 0], c):
        assert row.sum() == pytest.approx(1.0, abs=1e-5)


def test_look_alikes_share_only_their_own_probability_and_codes_keep_their_reading():
    c = CLASSES
    # A 1 in a word of letters: the push goes to its look-alike I, not to the L the network put
    # second, whose probability stays exactly as it was.
    word = np.stack([one_hot(c, H=0.95), one_hot(c, E=0.9), one_hot(c, _1=0.5, L=0.3, I=0.15)])
    adjusted = reader.context_prior(word, [0, 0, 0], c)
    assert c[int(np.argmax(adjusted[2]))] == "I"
    assert adjusted[2][c.index("L")] == pytest.approx(word[2][c.index("L")], rel=1e-5)
    assert adjusted[2].sum() == pytest.approx(1.0, abs=1e-5)
    # A code: clear letters and a clear digit beside the 1 give no kind to follow; it stays a 1.
    code = np.stack([one_hot(c, H=0.95), one_hot(c, K=0.9), one_hot(c, _7=0.9), one_hot(c, _1=0.5, L=0.25, I=0.2)])
    assert np.allclose(reader.context_prior(code, [0, 0, 0, 0], c)[3], code[3])
