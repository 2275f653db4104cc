"""`lenet-studio read IMAGE...`: the string in each image, boxes and top-k with --json, one clear
line per bad file, and exactly the reading the Photo page's code path gives."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from bad_images import seven_on_paper
from photo_maker import handwriting_line, photograph, pick

from lenet_core import cli
from lenet_core.datasets import load_dataset
from lenet_core.imageio import read_image
from lenet_core.inference import Recognizer


@pytest.fixture(scope="module")
def line_photo(tmp_path_factory):
    from conftest import TEST_DATA

    data = load_dataset(TEST_DATA / "emnist", "balancedmini", "test")
    rng = np.random.default_rng(21)
    glyphs, _ = pick(data, 5, rng)
    path = tmp_path_factory.mktemp("read") / "line.jpg"
    cv2.imwrite(str(path), photograph(handwriting_line(glyphs, rng=rng), rng)[..., ::-1])
    return path


def run(capsys, *args):
    code = cli.main(["read", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_read_prints_the_string_the_page_reads(capsys, line_photo):
    code, out, err = run(capsys, line_photo)
    assert code == 0 and err == ""
    expected = Recognizer().read(read_image(line_photo)).text
    assert out == f"{line_photo}: {expected}\n"
    assert len(expected) == 5


def test_json_has_boxes_and_top_k_per_character(capsys, line_photo):
    code, out, _ = run(capsys, "--json", "--top", "3", line_photo)
    record = json.loads(out)
    assert code == 0 and record["path"] == str(line_photo)
    characters = record["characters"]
    assert len(characters) == 5 and "".join(c["top"][0]["char"] for c in characters) == record["text"]
    lefts = [c["box"][0] for c in characters]
    assert lefts == sorted(lefts)
    width, height = record["size"]
    for character in characters:
        x, y, w, h = character["box"]
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
        assert len(character["top"]) == 3
        assert character["top"][0]["p"] >= character["top"][1]["p"]


def test_region_and_one_character(capsys, line_photo, tmp_path):
    _, out, _ = run(capsys, "--json", line_photo)
    boxes = [c["box"] for c in json.loads(out)["characters"]]
    x, y, w, h = boxes[1]
    _, out, _ = run(capsys, "--json", "--region", f"{x - 5},{0},{w + 10},{2000}", line_photo)
    part = json.loads(out)["characters"]
    assert len(part) == 1 and abs(part[0]["box"][0] - x) <= 2
    seven = tmp_path / "seven.png"
    cv2.imwrite(str(seven), seven_on_paper())
    _, out, _ = run(capsys, "--one", seven)
    assert out.strip().endswith(": 7")


def test_bad_files_are_one_line_each_and_the_rest_still_read(capsys, line_photo, tmp_path):
    notes, empty, blank = tmp_path / "notes.png", tmp_path / "empty.png", tmp_path / "blank.png"
    notes.write_text("not an image")
    empty.write_bytes(b"")
    cv2.imwrite(str(blank), np.full((100, 160), 230, np.uint8))
    code, out, err = run(capsys, notes, line_photo, empty, blank, tmp_path / "missing.jpg")
    assert code == cli.EXIT_ERROR
    errors = err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("lenet-studio: error: ") for line in errors)
    assert "not an image file" in errors[0] and "empty (0 bytes)" in errors[1] and "does not exist" in errors[2]
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{line_photo}: ") and lines[1] == f"{blank}: nothing to read (no ink found)"


def test_bad_regions(capsys, line_photo):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["read", "--region", "1,2,3", str(line_photo)])
    assert exit_.value.code == cli.EXIT_USAGE
    assert "X,Y,W,H" in capsys.readouterr().err
    code, out, err = run(capsys, "--region", "5000,10,50,50", line_photo)
    assert code == cli.EXIT_ERROR and out == ""
    height, width = read_image(line_photo).shape[:2]
    assert err.strip() == f"lenet-studio: error: {line_photo}: the region 5000,10,50,50 lies outside the {width}×{height} image"


def test_json_has_the_chosen_character_words_and_the_second_best_reading(capsys, line_photo):
    code, out, _ = run(capsys, "--json", line_photo)
    record = json.loads(out)
    assert code == 0 and "alternative" in record and isinstance(record["alternative"], str)
    assert record["alternative"] != record["text"]  # "" or a different reading
    assert "".join(c["char"] for c in record["characters"]) == record["text"].replace(" ", "").replace("\n", "")
    assert all(isinstance(c["word"], int) for c in record["characters"])


def test_charset_limits_read_and_predict(capsys, line_photo, tmp_path):
    code, out, _ = run(capsys, "--json", "--charset", "digits", line_photo)
    record = json.loads(out)
    assert code == 0 and record["text"].replace(" ", "").isdigit()
    assert all(top["char"].isdigit() for c in record["characters"] for top in c["top"])
    seven = tmp_path / "seven.png"
    cv2.imwrite(str(seven), seven_on_paper())
    code = cli.main(["predict", "--json", "--charset", "ABC", str(seven)])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and {top["char"] for top in record["top"]} <= set("ABC")


@pytest.mark.parametrize("command", ["read", "predict"])
def test_a_bad_charset_is_one_line(capsys, line_photo, command):
    code = cli.main([command, "--charset", "#%", str(line_photo)])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and err.startswith("lenet-studio: error: --charset:") and "#%" in err


def test_the_old_reader_is_still_there(capsys, line_photo):
    code, out, _ = run(capsys, "--components", line_photo)
    assert code == 0 and out == f"{line_photo}: {Recognizer().read(read_image(line_photo), search=False).text}\n"
