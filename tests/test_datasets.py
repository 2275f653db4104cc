"""Loaders for every format users download, on small files the tests make, and every way a
file can be broken."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_EMNIST, glyph, needs_shared_data

from lenet_core import datasets
from lenet_core.datasets import DatasetError, load_dataset, open_source, write_idx

LETTERS_MAPPING = "".join(f"{i} {64 + i} {96 + i}\n" for i in range(1, 27))
BALANCED_LIKE_MAPPING = "0 48\n1 49\n2 65\n"  # three classes: '0', '1', 'A'


def make_images(n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    images = np.stack([glyph("L") if i % 2 == 0 else glyph("7") for i in range(n)])
    labels = np.array([i % 2 for i in range(n)], dtype=np.uint8)
    return images, labels


def write_split(folder: Path, split: str, part: str, images, labels, gz: bool = True, nist: bool = True) -> None:
    ext = ".gz" if gz else ""
    write_idx(
        folder / f"emnist-{split}-{part}-images-idx3-ubyte{ext}",
        folder / f"emnist-{split}-{part}-labels-idx1-ubyte{ext}",
        images, labels, nist_layout=nist,
    )


# --- IDX folders ----------------------------------------------------------------------------


def test_idx_folder_detects_splits_and_counts(tmp_path):
    images, labels = make_images(6)
    write_split(tmp_path, "digits", "train", images, labels)
    write_split(tmp_path, "digits", "test", images[:4], labels[:4], gz=False)
    write_split(tmp_path, "letters", "test", images[:2], labels[:2] + 1)
    (tmp_path / "emnist-letters-mapping.txt").write_text(LETTERS_MAPPING)
    infos = {info.name: info for info in open_source(tmp_path).splits()}
    assert infos["digits"].parts == {"test": 4, "train": 6}
    assert infos["letters"].parts == {"test": 2}
    assert infos["letters"].classes[:3] == ("A", "B", "C")


def test_emnist_records_are_made_upright(tmp_path):
    images, labels = make_images(2)
    write_split(tmp_path, "digits", "train", images, labels)
    raw = gzip.decompress((tmp_path / "emnist-digits-train-images-idx3-ubyte.gz").read_bytes())
    stored = np.frombuffer(raw, np.uint8, offset=16).reshape(2, 28, 28)
    assert not np.array_equal(stored[0], images[0]), "the file must hold the NIST (transposed) layout"
    data = load_dataset(tmp_path, "digits", "train")
    np.testing.assert_array_equal(data.images, images)
    assert data.classes == tuple("0123456789")


def test_mnist_names_are_not_transposed(tmp_path):
    images, labels = make_images(4)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", tmp_path / "train-labels-idx1-ubyte.gz", images, labels, nist_layout=False)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte", images[:2], labels[:2], nist_layout=False)
    infos = open_source(tmp_path).splits()
    assert [(i.name, i.parts) for i in infos] == [("mnist", {"test": 2, "train": 4})]
    np.testing.assert_array_equal(load_dataset(tmp_path, "mnist", "test").images, images[:2])


def test_letters_labels_map_to_characters(tmp_path):
    images, labels = make_images(4)
    write_split(tmp_path, "letters", "train", images, np.array([1, 2, 26, 1], np.uint8))
    (tmp_path / "emnist-letters-mapping.txt").write_text(LETTERS_MAPPING)
    data = load_dataset(tmp_path, "letters", "train")
    assert data.n_classes == 26
    assert [data.classes[i] for i in data.labels] == ["A", "B", "Z", "A"]


def test_real_test_slices_load(digits_mini):
    data = load_dataset(digits_mini, "balancedmini", "test")
    assert data.images.shape == (470, 28, 28) and data.n_classes == 47
    assert np.all(data.class_counts() == 10)
    assert data.classes[36:] == tuple("abdefghnqrt")


@needs_shared_data()
def test_shared_emnist_folder_lists_the_x_splits():
    infos = {info.name: info for info in open_source(SHARED_EMNIST).splits()}
    assert infos["balancedx"].parts == {"test": 18800, "train": 90605}
    assert infos["lettersx"].parts["test"] == 15600
    assert len(infos["balancedx"].classes) == 47


# --- the NIST gzip.zip ----------------------------------------------------------------------


def test_gzip_zip_is_read_without_unpacking(tmp_path):
    folder = tmp_path / "gzip"
    folder.mkdir()
    images, labels = make_images(6)
    write_split(folder, "balanced", "train", images, labels)
    write_split(folder, "balanced", "test", images[:3], labels[:3])
    (folder / "emnist-balanced-mapping.txt").write_text(BALANCED_LIKE_MAPPING)
    archive = tmp_path / "gzip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in folder.iterdir():
            zf.write(file, f"gzip/{file.name}")
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()
    infos = open_source(archive).splits()
    assert [(i.name, i.parts) for i in infos] == [("balanced", {"test": 3, "train": 6})]
    data = load_dataset(archive, "balanced", "test")
    np.testing.assert_array_equal(data.images, images[:3])
    assert data.classes == ("0", "1", "A")


def test_damaged_zip_member_is_a_clear_error(tmp_path):
    images, labels = make_images(4)
    write_split(tmp_path, "digits", "train", images, labels)
    archive = tmp_path / "gzip.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file in tmp_path.glob("emnist-*"):
            zf.write(file, f"gzip/{file.name}")
    data = bytearray(archive.read_bytes())
    data[60:120] = bytes(60)  # scribble over the first member's compressed bytes
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetError) as error:
        load_dataset(archive, "digits", "train")
    assert "gzip.zip" in str(error.value) or "emnist-digits" in str(error.value)


def test_not_a_zip(tmp_path):
    bogus = tmp_path / "gzip.zip"
    bogus.write_bytes(b"this is not a zip")
    with pytest.raises(DatasetError, match="not a readable zip archive"):
        open_source(bogus)


# --- Kaggle CSV -----------------------------------------------------------------------------


def csv_text(images, labels, header: bool, nist: bool = True) -> str:
    out = io.StringIO()
    if header:
        out.write("label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)) + "\n")
    for image, label in zip(images, labels):
        pixels = image.T if nist else image
        out.write(f"{label}," + ",".join(str(v) for v in pixels.ravel()) + "\n")
    return out.getvalue()


def test_kaggle_emnist_csv(tmp_path):
    images, labels = make_images(4)
    (tmp_path / "emnist-balanced-train.csv").write_text(csv_text(images, labels, header=False))
    (tmp_path / "emnist-balanced-mapping.txt").write_text(BALANCED_LIKE_MAPPING)
    infos = open_source(tmp_path).splits()
    assert [(i.name, i.parts) for i in infos] == [("balanced", {"train": 4})]
    data = load_dataset(tmp_path / "emnist-balanced-train.csv")
    np.testing.assert_array_equal(data.images, images)
    assert data.classes == ("0", "1", "A")


def test_kaggle_mnist_csv_with_header_is_upright(tmp_path):
    images, labels = make_images(3)
    path = tmp_path / "mnist_train.csv"
    path.write_text(csv_text(images, labels, header=True, nist=False))
    data = load_dataset(path)
    assert data.name == "mnist-train"
    np.testing.assert_array_equal(data.images, images)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("3," + ",".join(["0"] * 100) + "\n", "row 1 has 101 values"),
        ("3," + ",".join(["x"] * 784) + "\n", "not an integer"),
        ("3," + ",".join(["300"] * 784) + "\n", "pixel values must be 0..255"),
        ("", "holds no rows"),
    ],
)
def test_bad_csv(tmp_path, content, problem):
    path = tmp_path / "mnist_test.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=problem) as error:
        load_dataset(path)
    assert "mnist_test.csv" in str(error.value)


# --- Matlab ---------------------------------------------------------------------------------


def test_matlab_file(tmp_path):
    import scipy.io

    images, labels = make_images(4)
    records = images.transpose(0, 2, 1).reshape(4, 784)  # Matlab files hold NIST records too
    dataset = {
        "train": {"images": records, "labels": labels.reshape(-1, 1).astype(np.float64), "writers": np.zeros((4, 1))},
        "test": {"images": records[:2], "labels": labels[:2].reshape(-1, 1).astype(np.float64), "writers": np.zeros((2, 1))},
        "mapping": np.array([[0, 48], [1, 49], [2, 65]]),
    }
    path = tmp_path / "emnist-balanced.mat"
    scipy.io.savemat(path, {"dataset": dataset})
    infos = open_source(path).splits()
    assert [(i.name, i.parts, i.classes) for i in infos] == [("balanced", {"train": 4, "test": 2}, ("0", "1", "A"))]
    data = load_dataset(path, "balanced", "train")
    np.testing.assert_array_equal(data.images, images)


def test_matlab_without_dataset_struct(tmp_path):
    import scipy.io

    path = tmp_path / "emnist-digits.mat"
    scipy.io.savemat(path, {"something": np.zeros(3)})
    with pytest.raises(DatasetError, match="no 'dataset' struct"):
        open_source(path).splits()


def test_garbage_mat_file(tmp_path):
    path = tmp_path / "emnist-digits.mat"
    path.write_bytes(b"\x00garbage" * 20)
    with pytest.raises(DatasetError, match="not a readable Matlab file"):
        open_source(path).splits()


# --- the user's own images ------------------------------------------------------------------


def test_image_folder_goes_through_the_pipeline(tmp_path):
    import cv2

    for label, kind in (("L", "L"), ("7", "7")):
        folder = tmp_path / label
        folder.mkdir()
        for i in range(3):
            big = 255 - glyph(kind, side=140)  # dark ink on white paper, larger than 28 px
            cv2.imwrite(str(folder / f"{i}.png"), big)
    (tmp_path / "7" / "notes.txt").write_text("not an image")
    (tmp_path / "7" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (tmp_path / "L" / "blank.png").write_bytes(cv2.imencode(".png", np.full((50, 50), 255, np.uint8))[1].tobytes())
    data = load_dataset(tmp_path)
    assert data.classes == ("7", "L")
    assert len(data) == 6 and list(data.class_counts()) == [3, 3]
    assert data.images.dtype == np.uint8 and data.images.max() == 255
    # white ink on black, like EMNIST: the corners are background
    assert data.images[:, 0, 0].max() == 0
    assert any("broken.png" in note for note in data.notes)
    assert any("blank.png" in note and "no ink" in note for note in data.notes)


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="no IDX, CSV"):
        open_source(tmp_path)


# --- broken IDX files -----------------------------------------------------------------------


def broken_folder(tmp_path, change) -> Path:
    images, labels = make_images(4)
    write_split(tmp_path, "digits", "train", images, labels, gz=False)
    change(tmp_path / "emnist-digits-train-images-idx3-ubyte", tmp_path / "emnist-digits-train-labels-idx1-ubyte")
    return tmp_path


def _replace(path: Path, start: int, data: bytes) -> None:
    content = bytearray(path.read_bytes())
    content[start : start + len(data)] = data
    path.write_bytes(bytes(content))


@pytest.mark.parametrize(
    ("change", "file", "problem"),
    [
        (lambda im, lb: _replace(im, 0, (1234).to_bytes(4, "big")), "images", "wrong magic number 1234"),
        (lambda im, lb: im.write_bytes(im.read_bytes()[:-100]), "images", "truncated"),
        (lambda im, lb: lb.write_bytes(lb.read_bytes() + b"\x01"), "labels", "count mismatch"),
        (lambda im, lb: _replace(lb, 4, (3).to_bytes(4, "big")) or lb.write_bytes(lb.read_bytes()[:-1]), "labels", "count mismatch: 3 labels for 4 images"),
        (lambda im, lb: _replace(lb, 8, b"\x2a"), "labels", r"labels out of range of the mapping: \[42\]"),
        (lambda im, lb: _replace(im, 8, (32).to_bytes(4, "big")), "images", "expected 28×28"),
        (lambda im, lb: im.write_bytes(b"\x00\x00"), "images", "too short"),
    ],
)
def test_broken_idx_files_name_the_file_and_the_problem(tmp_path, change, file, problem):
    folder = broken_folder(tmp_path, change)
    with pytest.raises(DatasetError, match=problem) as error:
        load_dataset(folder, "digits", "train")
    assert f"emnist-digits-train-{file}" in str(error.value)


def test_truncated_gzip(tmp_path):
    images, labels = make_images(4)
    write_split(tmp_path, "digits", "train", images, labels)
    path = tmp_path / "emnist-digits-train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DatasetError, match="not a complete gzip file") as error:
        load_dataset(tmp_path, "digits", "train")
    assert path.name in str(error.value)


def test_missing_mapping_is_named(tmp_path):
    images, _ = make_images(4)
    write_split(tmp_path, "letters", "train", images, np.array([1, 2, 20, 26], np.uint8))
    with pytest.raises(DatasetError, match="expected emnist-letters-mapping.txt next to it"):
        load_dataset(tmp_path, "letters", "train")


def test_missing_labels_file(tmp_path):
    images, labels = make_images(4)
    write_split(tmp_path, "digits", "train", images, labels)
    (tmp_path / "emnist-digits-train-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "emnist-digits-test-labels-idx1-ubyte.gz").write_bytes(b"")  # keeps the split listed
    with pytest.raises(DatasetError):
        load_dataset(tmp_path, "digits", "train")


def test_bad_mapping_file(tmp_path):
    images, labels = make_images(2)
    write_split(tmp_path, "letters", "train", images, labels + 1)
    (tmp_path / "emnist-letters-mapping.txt").write_text("1 65\nA B\n")
    with pytest.raises(DatasetError, match="line 2 of the mapping is not numbers"):
        load_dataset(tmp_path, "letters", "train")


def test_unknown_split_lists_what_exists(tmp_path):
    images, labels = make_images(2)
    write_split(tmp_path, "digits", "train", images, labels)
    with pytest.raises(DatasetError, match=r"has no split 'balanced' \(found: digits\)"):
        load_dataset(tmp_path, "balanced", "train")


def test_dataset_checks_its_own_shape():
    with pytest.raises(ValueError):
        datasets.Dataset("x", np.zeros((2, 27, 28), np.uint8), np.zeros(2, np.int64), ("0",))
