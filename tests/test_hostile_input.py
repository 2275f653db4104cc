"""Every file a user opens is untrusted: generated hostile images, data sets, model files and
arguments, each with its exact outcome — a clean one-line refusal saying what is wrong, or a
correct read — and no other program started while any of them is opened.

Most cases call the library directly (what the GUI and the CLI both use); a few run the CLI
to check its contract: one line on stderr, a non-zero exit, no OpenCV log lines.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TEST_DATA
from hostile_files import (
    Refused,
    bundle_bytes,
    digits_images,
    gzip_bomb,
    idx_images,
    idx_labels,
    idx_zip_files,
    image_cases,
    meta,
    patch_zip,
    write_idx_split,
    zip_of,
)

from lenet_core import bundle, cli, datasets, formats, safety
from lenet_core.bundle import BundleError, read_bundle
from lenet_core.datasets import DatasetError, load_dataset
from lenet_core.imageio import ImageReadError, read_image


class StartedAProcess(AssertionError):
    pass


@pytest.fixture
def no_processes(monkeypatch):
    """Opening a file must never start another program (Pillow's EPS plugin runs Ghostscript)."""
    import _posixsubprocess

    def refuse(*args, **kwargs):
        raise StartedAProcess(f"a process was started: {args[:1]}")

    class NoPopen:
        def __init__(self, *args, **kwargs):
            refuse(*args)

    monkeypatch.setattr(subprocess, "Popen", NoPopen)
    monkeypatch.setattr(_posixsubprocess, "fork_exec", refuse)
    for name in ("system", "fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve", "execvp", "execvpe", "spawnv", "spawnve", "popen"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)


def refused_as(error: BaseException, expect: Refused, name: str) -> None:
    message = str(error)
    assert "\n" not in message, message
    assert any(phrase in message for phrase in expect.phrases), (message, expect.phrases)
    assert name in message, (message, name)


# --- the guard itself -------------------------------------------------------------------------


def test_the_guard_catches_pillow_starting_ghostscript(tmp_path, no_processes):
    """Without `formats=`, Pillow hands a PostScript file to Ghostscript: the guard must see it."""
    import shutil

    if not shutil.which("gs"):
        pytest.skip("Ghostscript is not installed, so Pillow would not start it")
    from PIL import Image

    path = tmp_path / "photo.png"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(StartedAProcess), Image.open(path) as image:
        image.load()


# --- images -----------------------------------------------------------------------------------

IMAGE_CASES = image_cases()


@pytest.mark.parametrize("case", IMAGE_CASES, ids=[case.id for case in IMAGE_CASES])
def test_image(case, tmp_path, no_processes):
    path = case.build(tmp_path)
    if isinstance(case.expect, Refused):
        with pytest.raises(ImageReadError) as raised:
            read_image(path)
        refused_as(raised.value, case.expect, path.name)
        # the same bytes pasted (no name at all) get the same answer
        with pytest.raises(ImageReadError) as pasted:
            read_image(path.read_bytes(), "pasted image")
        assert pasted.value.problem == raised.value.problem
    else:
        image = read_image(path)
        assert case.expect.check(image), (image.shape, case.expect.what)


def test_allowed_images_keep_their_pixels(tmp_path, no_processes):
    from hostile_files import encode, page

    gray = page()
    for fmt in ("PNG", "BMP", "TIFF", "PPM", "WEBP"):
        options = {"lossless": True} if fmt == "WEBP" else {}
        decoded = read_image(encode(fmt, gray, **options), fmt)
        decoded = decoded if decoded.ndim == 2 else decoded[..., 0]
        np.testing.assert_array_equal(decoded, gray, err_msg=fmt)


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda folder: folder, "is a folder"),
        (lambda folder: folder / "missing.png", "does not exist"),
        (lambda folder: _touch(folder / "empty.png", b""), "is empty (0 bytes)"),
        (lambda folder: _fifo(folder / "pipe.png"), "not a regular file"),
        (lambda folder: folder / ("n" * 300 + ".png"), "cannot be opened (File name too long)"),
        (lambda folder: _loop(folder / "loop.png"), "cannot be opened"),
        (lambda folder: _sparse(folder / "sparse.png", formats.MAX_FILE_BYTES + 1), "image files above 268 MB are not opened"),
    ],
    ids=["folder", "missing", "empty", "fifo", "name-300-bytes", "link-loop", "sparse-over-limit"],
)
def test_image_paths_that_are_not_files(tmp_path, make, phrase, no_processes):
    path = make(tmp_path)
    with pytest.raises(ImageReadError) as raised:
        read_image(path)
    assert phrase in str(raised.value) and "\n" not in str(raised.value)


def test_pasted_bytes_over_the_limit_are_refused_unread():
    class Huge(bytes):
        def __len__(self):
            return formats.MAX_FILE_BYTES + 1

    with pytest.raises(ImageReadError, match="are not opened"):
        read_image(Huge(b"\x89PNG\r\n\x1a\n"), "pasted image")


def test_a_header_claiming_gigapixels_costs_no_memory(tmp_path):
    from hostile_files import png_header_only

    path = _touch(tmp_path / "liar.png", png_header_only(60000, 60000))
    tracemalloc.start()
    with pytest.raises(ImageReadError, match="60000×60000 pixels"):
        read_image(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak


def _touch(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _loop(path: Path) -> Path:
    path.symlink_to(path)
    return path


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(size)
    return path


# --- data sets: IDX ---------------------------------------------------------------------------


IDX_CASES = {  # key: (how write_idx_split writes the split, the refusal)
    "zero-records": (dict(images=idx_images(0), labels=idx_labels(0)), "holds no records"),
    "billion-records": (dict(images=struct.pack(">IIII", 2051, 10**9, 28, 28)), "more than the 2,000,000"),
    "3M-records": (dict(images=struct.pack(">IIII", 2051, 3_000_000, 28, 28) + bytes(784)), "more than the 2,000,000"),
    "count-1000-holds-10": (dict(images=idx_images(1000, records=10)), "truncated: header says 1,000 records"),
    "count-10-holds-11": (dict(images=idx_images(10, records=11)), "count mismatch: header says 10 records but the file is longer"),
    "side-0x0": (dict(images=idx_images(10, side=(0, 0))), "images are 0×0, expected 28×28"),
    "side-60000": (dict(images=idx_images(1, records=0, side=(60000, 60000))), "images are 60000×60000, expected 28×28"),
    "wrong-magic": (dict(images=b"\x00\x00\x08\x01" + bytes(20)), "wrong magic number 2049"),
    "short-header": (dict(images=b"\x00\x00\x08\x03\x00"), "too short for an IDX images header"),
    "labels-short": (dict(labels=idx_labels(9)), "count mismatch: 9 labels for 10 images"),
    "labels-zero": (dict(labels=idx_labels(0)), "holds no records"),
    "labels-outside-digits": (dict(labels=idx_labels(10, [200] * 10)), "labels out of range of the mapping: [200]"),
    "labels-wrong-magic": (dict(labels=struct.pack(">II", 2051, 10) + bytes(10)), "wrong magic number 2051"),
}
MAPPING_CASES = {
    "label-99999999999": ("99999999999 48\n", "label 99999999999 is outside 0..65535"),
    "label-negative": ("-1 48\n1 49\n", "label -1 is outside"),
    "char-newline": ("1 10\n", "not a printable character (U+000A)"),
    "char-nul": ("1 0\n", "not a printable character (U+0000)"),
    "char-space": ("1 32\n", "not a printable character (U+0020)"),
    "char-soft-hyphen": ("1 173\n", "not a printable character (U+00AD)"),
    "char-bidi-override": ("1 8238\n", "not a printable character (U+202E)"),
    "char-surrogate": ("1 55296\n", "not a printable character (U+D800)"),
    "code-too-big": ("1 1114112\n", "1114112 is not a character code"),
    "code-negative": ("1 -5\n", "-5 is not a character code"),
    "code-nan": ("1 nan\n", "is not numbers"),
    "duplicate-char": ("1 65\n2 65\n", "class 'A' appears twice"),
    "duplicate-label": ("1 65\n1 66\n", "label 1 appears twice"),
    "empty": ("\n\n", "the mapping file is empty"),
    "no-code": ("1\n", "has no character code"),
    "words": ("1 A\n", "is not numbers"),
    "two-megabytes": ("1 65\n" + "#" * (2 * 1024 * 1024), "more than 1.0 MB"),
}


def _plain_named_gz(folder: Path) -> Path:
    write_idx_split(folder, "digits", gz=False)
    for name in list(folder.iterdir()):
        name.rename(name.with_name(name.name + ".gz"))
    return folder


def _without_labels(folder: Path) -> Path:
    write_idx_split(folder, "digits")
    (folder / "emnist-digits-train-labels-idx1-ubyte.gz").unlink()
    return folder


@pytest.mark.parametrize("key", sorted(IDX_CASES))
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_idx(key, gz, tmp_path, no_processes):
    files, phrase = IDX_CASES[key]
    folder = write_idx_split(tmp_path, "digits", 10, gz=gz, **files)
    with pytest.raises(DatasetError) as raised:
        load_dataset(folder, "digits", "train")
    message = str(raised.value)
    assert phrase in message and "\n" not in message, message


def test_idx_plain_file_named_gz(tmp_path, no_processes):
    write_idx_split(tmp_path, "digits", gz=False)
    for name in list(tmp_path.iterdir()):
        name.rename(name.with_name(name.name + ".gz"))
    with pytest.raises(DatasetError, match="not a complete gzip file"):
        load_dataset(tmp_path, "digits", "train")


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_idx_without_labels_says_which_file_is_alone(gz, tmp_path, no_processes):
    write_idx_split(tmp_path, "digits", gz=gz)
    (tmp_path / f"emnist-digits-train-labels-idx1-ubyte{'.gz' if gz else ''}").unlink()
    with pytest.raises(DatasetError, match="holds no complete data set .emnist-digits-train-images-idx3-ubyte.* has no labels file beside it"):
        load_dataset(tmp_path)


@pytest.mark.parametrize("key", sorted(MAPPING_CASES))
def test_mapping(key, tmp_path, no_processes):
    text, phrase = MAPPING_CASES[key]
    folder = write_idx_split(tmp_path, "letters", 10, text, labels=idx_labels(10, [1 + i % 2 for i in range(10)]))
    with pytest.raises(DatasetError) as raised:
        load_dataset(folder, "letters", "train")
    message = str(raised.value)
    assert phrase in message and "emnist-letters-mapping.txt" in message and "\n" not in message, message


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_good_idx_reads(gz, tmp_path, no_processes):
    folder = write_idx_split(tmp_path, "digits", 12, gz=gz)
    data = load_dataset(folder, "digits", "train")
    assert len(data) == 12 and data.classes == tuple("0123456789")
    np.testing.assert_array_equal(data.images, digits_images(12))


def test_a_gzip_bomb_is_read_no_further_than_its_header_says(tmp_path):
    folder = write_idx_split(tmp_path, "digits", 10)
    bomb = gzip_bomb(struct.pack(">IIII", 2051, 10, 28, 28), 256 * 1024 * 1024)
    (folder / "emnist-digits-train-images-idx3-ubyte.gz").write_bytes(bomb)
    tracemalloc.start()
    with pytest.raises(DatasetError, match="count mismatch: header says 10 records but the file is longer"):
        load_dataset(folder, "digits", "train")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"{peak / 1e6:.0f} MB for a 256 MB bomb"


# --- data sets: zip archives ------------------------------------------------------------------

IMAGES_MEMBER = "gzip/emnist-digits-train-images-idx3-ubyte.gz"
ZIP_CASES = {
    "encrypted": (lambda: patch_zip(zip_of(idx_zip_files()), IMAGES_MEMBER, flag_bits=1), "is encrypted (password-protected)"),
    "method-93": (lambda: patch_zip(zip_of(idx_zip_files()), IMAGES_MEMBER, method=93), "uses compression method 93"),
    "method-99": (lambda: patch_zip(zip_of(idx_zip_files()), IMAGES_MEMBER, method=99), "uses compression method 99"),
    "method-1": (lambda: patch_zip(zip_of(idx_zip_files()), IMAGES_MEMBER, method=1), "uses compression method 1"),
    "declares-3GB": (lambda: patch_zip(zip_of(idx_zip_files()), IMAGES_MEMBER, file_size=3 * 10**9), "declares 3.0 GB uncompressed"),
    "not-a-zip": (lambda: b"PK\x03\x04 this is not a zip", "is not a readable zip archive"),
    "truncated": (lambda: zip_of(idx_zip_files())[:300], "is not a readable zip archive"),
    "empty-file": (lambda: b"", "is not a readable zip archive"),
    "no-idx": (lambda: zip_of({"readme.txt": b"hello"}), "contains no IDX files"),
    "broken-gzip-member": (lambda: zip_of({**idx_zip_files(), IMAGES_MEMBER: b"\x1f\x8b\x08\x00garbage"}), "not a complete gzip file"),
    "bomb-member": (lambda: _bomb_zip(), "count mismatch: header says 10 records but the file is longer"),
    "only-images": (lambda: zip_of({IMAGES_MEMBER: idx_zip_files()[IMAGES_MEMBER]}), "has no labels file beside it"),
    "crc-wrong": (lambda: _bad_crc_zip(), "cannot be read"),
}


def _bomb_zip() -> bytes:
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("emnist-digits-train-labels-idx1-ubyte", idx_labels(10))
        with archive.open("emnist-digits-train-images-idx3-ubyte", "w") as member:
            member.write(struct.pack(">IIII", 2051, 10, 28, 28))
            block = bytes(1 << 20)
            for _ in range(64):
                member.write(block)
    return out.getvalue()


def _bad_crc_zip() -> bytes:
    files = {"emnist-digits-train-images-idx3-ubyte": idx_images(10), "emnist-digits-train-labels-idx1-ubyte": idx_labels(10)}
    data = bytearray(zip_of(files, zipfile.ZIP_STORED))
    position = data.find(b"PK\x03\x04")
    data[position + 30 + len("emnist-digits-train-images-idx3-ubyte") + 20] ^= 0xFF  # a pixel byte
    return bytes(data)


@pytest.mark.parametrize("key", sorted(ZIP_CASES))
def test_zip(key, tmp_path, no_processes):
    make, phrase = ZIP_CASES[key]
    path = tmp_path / "gzip.zip"
    path.write_bytes(make())
    with pytest.raises(DatasetError) as raised:
        load_dataset(path, "digits", "train")
    message = str(raised.value)
    assert phrase in message and "\n" not in message, message


@pytest.mark.parametrize("prefix", ["", "gzip/", "../../", "/etc/", "..\\..\\", "a/" * 60], ids=["root", "gzip", "dotdot", "absolute", "backslash", "deep"])
def test_zip_member_names_are_never_paths(prefix, tmp_path, no_processes):
    inside = tmp_path / "inside"
    inside.mkdir()
    path = inside / "gzip.zip"
    path.write_bytes(zip_of(idx_zip_files(prefix=prefix)))
    before = sorted(tmp_path.rglob("*"))
    data = load_dataset(path, "digits", "train")
    assert len(data) == 10 and sorted(tmp_path.rglob("*")) == before


def test_download_verification_refuses_bad_archives(tmp_path):
    from lenet_core.download import DownloadError, verify_archive

    for key, phrase in (("encrypted", "is encrypted"), ("method-93", "compression method 93"), ("declares-3GB", None)):
        path = tmp_path / f"{key}.zip"
        path.write_bytes(ZIP_CASES[key][0]())
        with pytest.raises(DownloadError) as raised:
            verify_archive(path)
        assert "\n" not in str(raised.value) and (phrase is None or phrase in str(raised.value)), str(raised.value)
    many = tmp_path / "many.zip"
    many.write_bytes(zip_of({f"f{i}": b"" for i in range(10_001)}, zipfile.ZIP_STORED))
    with pytest.raises(DownloadError, match="holds 10,001 files"):
        verify_archive(many)


# --- data sets: CSV ---------------------------------------------------------------------------


def _row(label, pixel="0") -> str:
    return f"{label}," + ",".join([pixel] * 784) + "\n"


CSV_CASES = {
    "nan-pixel": (_row(3, "nan"), "not an integer"),
    "inf-pixel": (_row(3, "inf"), "not an integer"),
    "fraction-pixel": (_row(3, "2.5"), "not an integer"),
    "pixel-300": (_row(3, "300"), "pixel values must be 0..255"),
    "pixel-minus-5": (_row(3, "-5"), "pixel values must be 0..255"),
    "label-minus-5": (_row(-5), "labels out of range of the mapping: [-5]"),
    "label-fraction": (_row("2.5"), "holds a value that is not an integer"),
    "label-nan": (_row("nan"), "holds a value that is not an integer"),
    "label-huge": (_row("99999999999"), "holds a value that is not an integer"),
    "short-row": ("3," + ",".join(["0"] * 100) + "\n", "row 1 has 101 values"),
    "one-endless-line": ("1," * (1024 * 1024), "values, expected 785"),
    "empty": ("", "holds no rows"),
    "header-only": ("label," + ",".join(f"p{i}" for i in range(784)) + "\n", "holds no rows"),
    "binary": ("\x00\xff\xfe" * 1000, "holds no rows"),  # one line, a header by its look
    "ragged": (_row(3) + "4,0,0\n", "row"),
}


@pytest.mark.parametrize("key", sorted(CSV_CASES))
def test_csv(key, tmp_path, no_processes):
    text, phrase = CSV_CASES[key]
    path = tmp_path / "mnist_train.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DatasetError) as raised:
        load_dataset(path)
    message = str(raised.value)
    assert phrase in message and "mnist_train.csv" in message and "\n" not in message, message


def test_good_csv_reads(tmp_path, no_processes):
    path = tmp_path / "mnist_train.csv"
    path.write_text(_row(3, "7") + _row(9, "0"))
    data = load_dataset(path)
    assert len(data) == 2 and data.classes[data.labels[0]] == "3" and data.images[0].max() == 7


# --- data sets: Matlab ------------------------------------------------------------------------


def _mat(path: Path, images=None, labels=None, mapping=None, **options) -> Path:
    import scipy.io

    images = digits_images(4).reshape(4, 784) if images is None else images
    labels = np.arange(4, dtype=np.float64).reshape(-1, 1) if labels is None else labels
    dataset = {"train": {"images": images, "labels": labels}}
    if mapping is not None:
        dataset["mapping"] = mapping
    scipy.io.savemat(path, {"dataset": dataset}, **options)
    return path


def _mapping(codes) -> np.ndarray:
    return np.array([[index, code] for index, code in enumerate(codes)], dtype=np.float64)


MAT_CASES = {
    "nan-pixels": (dict(images=np.full((4, 784), np.nan)), "pixel values must be whole numbers 0..255"),
    "pixels-x10000": (dict(images=np.full((4, 784), 2.55e6)), "pixel values must be whole numbers 0..255"),
    "negative-pixels": (dict(images=np.full((4, 784), -1.0)), "pixel values must be whole numbers 0..255"),
    "fraction-pixels": (dict(images=np.full((4, 784), 0.5)), "pixel values must be whole numbers 0..255"),
    "fraction-labels": (dict(labels=np.array([[0], [1], [2.5], [3]])), "labels must be whole numbers"),
    "nan-labels": (dict(labels=np.array([[0], [np.nan], [2], [3]])), "labels must be whole numbers"),
    "negative-labels": (dict(labels=np.array([[0], [-1], [2], [3]], np.float64)), "labels must be 0..65535"),
    "huge-labels": (dict(labels=np.array([[0], [1e12], [2], [3]])), "labels must be 0..65535"),
    "nan-mapping": (dict(mapping=np.array([[0, np.nan], [1, 49]])), "whole numbers"),
    "control-char-mapping": (dict(mapping=_mapping([48, 10, 50, 51])), "not a printable character (U+000A)"),
    "huge-code-mapping": (dict(mapping=_mapping([48, 2.0**40, 50, 51])), "is not a character code"),
    "duplicate-mapping": (dict(mapping=_mapping([48, 48, 50, 51])), "appears twice"),
    "label-outside-mapping": (dict(mapping=_mapping([48, 49])), "labels out of range of the mapping"),
    "wrong-shape": (dict(images=np.zeros((4, 100))), "expected N×784"),
    "count-mismatch": (dict(labels=np.zeros((3, 1))), "count mismatch in train"),
    "strings": (dict(images=np.array(["a"] * 4)), "expected N×784"),
}


@pytest.mark.parametrize("key", sorted(MAT_CASES))
def test_mat(key, tmp_path, no_processes):
    options, phrase = MAT_CASES[key]
    path = _mat(tmp_path / "emnist-digits.mat", **options)
    with pytest.raises(DatasetError) as raised:
        load_dataset(path, "digits", "train")
    message = str(raised.value)
    assert phrase in message and "emnist-digits.mat" in message and "\n" not in message, message


def test_mat_files_that_are_not_v5(tmp_path, no_processes):
    v73 = tmp_path / "emnist-digits.mat"
    v73.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + bytes(8) + b"\x00\x02IM" + b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(DatasetError, match=r"MATLAB 7.3 \(HDF5\)"):
        load_dataset(v73)
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"\x00garbage" * 20)
    with pytest.raises(DatasetError, match="not a readable Matlab file"):
        load_dataset(garbage)


def test_a_compressed_mat_bomb_is_refused_before_scipy_reads_it(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "MAX_MAT_BYTES", 2 * 1024 * 1024)
    path = _mat(tmp_path / "emnist-digits.mat", images=np.zeros((4000, 784), np.uint8), labels=np.zeros((4000, 1)), do_compression=True)
    assert path.stat().st_size < 200_000  # 3 MB of pixels, compressed
    with pytest.raises(DatasetError, match="expands to more than 2.1 MB"):
        load_dataset(path, "digits", "train")


def test_good_mat_reads(tmp_path, no_processes):
    path = _mat(tmp_path / "emnist-digits.mat", mapping=_mapping([48, 49, 50, 51]), do_compression=True)
    data = load_dataset(path, "digits", "train")
    assert data.classes == ("0", "1", "2", "3") and len(data) == 4


# --- data sets: folders of the user's images --------------------------------------------------


def _class_folder(root: Path, name: str, count: int = 2) -> Path:
    import cv2
    from conftest import glyph

    folder = root / name
    folder.mkdir(parents=True)
    for index in range(count):
        cv2.imwrite(str(folder / f"{index}.png"), 255 - glyph("7", side=140))
    return folder


def test_links_out_of_the_data_set_are_not_followed(tmp_path, no_processes):
    root = tmp_path / "mine"
    _class_folder(root, "7")
    outside = _class_folder(tmp_path / "elsewhere", "secret")
    (root / "L").symlink_to(outside, target_is_directory=True)
    (root / "7" / "leak.png").symlink_to(outside / "0.png")
    (root / "7" / "inside.png").symlink_to(root / "7" / "0.png")  # a link within the set is fine
    data = load_dataset(root)
    assert data.classes == ("7",) and len(data) == 3
    assert any("outside the data set" in note and "L" in note for note in data.notes)
    assert any("leak.png" in note and "outside the data set" in note for note in data.notes)


@pytest.mark.parametrize(("name", "phrase"), [("seven", "is not one character"), ("a\x01", "is not one character"),
                                              ("\x01", "not a printable character"), (" ", "not a printable character"),
                                              ("\u200b", "not a printable character")],
                         ids=["word", "two-with-control", "control", "space", "zero-width-space"])
def test_class_folder_names(name, phrase, tmp_path, no_processes):
    root = tmp_path / "mine"
    _class_folder(root, "7")
    _class_folder(root, name)
    with pytest.raises(DatasetError) as raised:
        load_dataset(root)
    assert phrase in str(raised.value) and "\n" not in str(raised.value)


def test_hostile_files_among_good_ones_are_skipped_with_their_type(tmp_path, no_processes):
    root = tmp_path / "mine"
    folder = _class_folder(root, "7", 3)
    (folder / "hdr.png").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32767 +X 32767\n" + bytes(64))
    (folder / "eps.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n{} loop\n")
    (folder / "huge.png").write_bytes(__import__("hostile_files").png_header_only(60000, 60000))
    data = load_dataset(root)
    assert len(data) == 3
    notes = " | ".join(data.notes)
    assert "Radiance HDR image" in notes and "PostScript file" in notes and "60000×60000" in notes


def test_training_without_anything_to_test_on_is_refused_before_it_starts(tmp_path, no_processes):
    from lenet_core.training import TrainConfig, Trainer, TrainingError

    root = tmp_path / "mine"
    _class_folder(root, "7")
    _class_folder(root, "1")
    with pytest.raises(TrainingError, match="nothing to test the model on"):
        Trainer(TrainConfig(data=str(root), validation_fraction=0.0, epochs=1)).run()


@pytest.mark.parametrize("name", ["x" * 300, "x" * 300 + ".lenet", "a/" + "b" * 300 + "/c"])
def test_names_too_long_for_the_file_system(name, tmp_path, no_processes):
    from lenet_core.bundle import resolve

    with pytest.raises(DatasetError, match="cannot be opened|does not exist"):
        load_dataset(tmp_path / name)
    with pytest.raises(BundleError, match="cannot be opened|does not exist|not a LeNet Studio model"):
        resolve(str(tmp_path / name))


def test_settings_edited_to_nan_fall_back_to_the_default(tmp_path):
    from PySide6.QtCore import QSettings

    from app.settings import value

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    for key, raw in (("lr", "nan"), ("dropout", "inf"), ("epochs", "[1, 2]"), ("smoothing", "-inf")):
        settings.setValue(key, raw)
    assert value(settings, "lr", 0.001, float) == 0.001 and value(settings, "dropout", 0.1, float) == 0.1
    assert value(settings, "epochs", 10, int) == 10 and value(settings, "smoothing", 0.0, float) == 0.0


# --- model files ------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
BUNDLE_CASES = {
    "format-null": (lambda: bundle_bytes(meta(format_version=None)), "format_version must be a whole number, not null"),
    "format-list": (lambda: bundle_bytes(meta(format_version=[1])), "format_version must be a whole number, not [1]"),
    "format-dict": (lambda: bundle_bytes(meta(format_version={"a": 1})), "format_version must be a whole number"),
    "format-text": (lambda: bundle_bytes(meta(format_version="1")), "format_version must be a whole number"),
    "format-bool": (lambda: bundle_bytes(meta(format_version=True)), "format_version must be a whole number, not true"),
    "format-float": (lambda: bundle_bytes(meta(format_version=1.5)), "format_version must be a whole number"),
    "format-newer": (lambda: bundle_bytes(meta(format_version=99)), "was written by a newer LeNet Studio (format 99)"),
    "classes-missing": (lambda: bundle_bytes(json.dumps({"format_version": 1})), "metadata lists no classes"),
    "classes-empty": (lambda: bundle_bytes(meta(classes=[])), "metadata lists no classes"),
    "classes-text": (lambda: bundle_bytes(meta(classes="0123")), "metadata lists no classes"),
    "classes-duplicate": (lambda: bundle_bytes(meta(classes=list("0123456777"))), "class '7' appears twice"),
    "classes-empty-name": (lambda: bundle_bytes(meta(classes=["0", "", "2"])), "a class name is empty"),
    "classes-multi-char": (lambda: bundle_bytes(meta(classes=["0", "10"])), "class name '10' is not one character"),
    "classes-newline": (lambda: bundle_bytes(meta(classes=["0", "\n"])), "not a printable character (U+000A)"),
    "classes-nul": (lambda: bundle_bytes(meta(classes=["0", "\x00"])), "not a printable character (U+0000)"),
    "classes-escape": (lambda: bundle_bytes(meta(classes=["0", "\x1b"])), "not a printable character (U+001B)"),
    "classes-rtl-override": (lambda: bundle_bytes(meta(classes=["0", "\u202e"])), "not a printable character (U+202E)"),
    "classes-number": (lambda: bundle_bytes(meta(classes=["0", 1])), "a class name must be text, not int"),
    "classes-null": (lambda: bundle_bytes(meta(classes=["0", None])), "a class name must be text, not NoneType"),
    "classes-2000": (lambda: bundle_bytes(meta(classes=[chr(0x4E00 + i) for i in range(2000)])), "lists 2,000 classes (at most 1,000)"),
    "name-list": (lambda: bundle_bytes(meta(name=["x"])), "name must be text, not list"),
    "architecture-number": (lambda: bundle_bytes(meta(architecture=5)), "architecture must be text, not int"),
    "metrics-list": (lambda: bundle_bytes(meta(metrics=[1])), "metrics must be an object, not list"),
    "training-text": (lambda: bundle_bytes(meta(training="yes")), "training must be an object, not str"),
    "accuracy-nan": (lambda: bundle_bytes(meta(metrics={"accuracy": float("nan")})), "accuracy must be a number from 0 to 1, not NaN"),
    "accuracy-2": (lambda: bundle_bytes(meta(metrics={"accuracy": 2})), "accuracy must be a number from 0 to 1, not 2"),
    "accuracy-text": (lambda: bundle_bytes(meta(metrics={"accuracy": "high"})), "accuracy must be a number"),
    "deep-nesting": (lambda: bundle_bytes(DEEP), "nested too deeply"),
    "deep-nesting-in-dict": (lambda: bundle_bytes('{"classes": ["0"], "x": ' + DEEP + "}"), "nested too deeply"),
    "not-json": (lambda: bundle_bytes("{classes: 0"), "has unreadable metadata"),
    "not-utf8": (lambda: bundle_bytes(b'{"classes": ["\xff"]}'), "has unreadable metadata"),
    "json-array": (lambda: bundle_bytes("[1, 2]"), "metadata lists no classes"),
    "meta-5MB": (lambda: bundle_bytes(meta(padding=" " * (5 * 1024 * 1024))), "meta.json declares 5.2 MB uncompressed"),
    "meta-lies-about-size": (lambda: patch_zip(bundle_bytes(meta(padding="x" * 100_000)), "meta.json", file_size=100), "meta.json is damaged"),
    "tflite-declares-3GB": (lambda: patch_zip(bundle_bytes(meta()), "model.tflite", file_size=3 * 10**9), "model.tflite declares 3.0 GB uncompressed"),
    "keras-declares-3GB": (lambda: patch_zip(bundle_bytes(meta(), extra={"model.keras": b"k"}), "model.keras", file_size=3 * 10**9), "model.keras declares 3.0 GB"),
    "meta-encrypted": (lambda: patch_zip(bundle_bytes(meta()), "meta.json", flag_bits=1), "meta.json is encrypted"),
    "tflite-encrypted": (lambda: patch_zip(bundle_bytes(meta()), "model.tflite", flag_bits=1), "model.tflite is encrypted"),
    "meta-method-93": (lambda: patch_zip(bundle_bytes(meta()), "meta.json", method=93), "meta.json uses compression method 93"),
    "tflite-method-99": (lambda: patch_zip(bundle_bytes(meta()), "model.tflite", method=99), "model.tflite uses compression method 99"),
    "no-meta": (lambda: zip_of({"model.tflite": b"x"}), "missing meta.json"),
    "no-tflite": (lambda: zip_of({"meta.json": meta().encode()}), "missing model.tflite"),
    "not-a-zip": (lambda: b"hello, not a model", "is not a LeNet Studio model file"),
    "empty": (lambda: b"", "is not a LeNet Studio model file"),
    "truncated": (lambda: bundle_bytes(meta())[:100], "is not a LeNet Studio model file"),
}


@pytest.mark.parametrize("key", sorted(BUNDLE_CASES))
def test_model_file(key, tmp_path, no_processes):
    make, phrase = BUNDLE_CASES[key]
    path = tmp_path / f"{key}.lenet"
    path.write_bytes(make())
    with pytest.raises(BundleError) as raised:
        read_bundle(path)
    message = str(raised.value)
    assert phrase in message and path.name in message and "\n" not in message, message


def test_a_broken_model_in_the_user_folder_is_skipped_not_fatal(tmp_path, no_processes):
    folder = tmp_path / "models"
    folder.mkdir()
    for key in ("deep-nesting", "format-list", "classes-duplicate", "not-a-zip", "meta-method-93"):
        (folder / f"{key}.lenet").write_bytes(BUNDLE_CASES[key][0]())
    listing = bundle.list_models(folder)
    assert len(listing.skipped) == 5 and all(bundle.DEFAULT_MODEL != s for s in listing.skipped)
    assert {b.name for b in listing.bundles} >= {"emnist-balanced", "emnist-digits"}


def test_a_network_that_is_not_one_is_refused_on_loading(tmp_path, no_processes):
    from lenet_core.inference import Recognizer

    path = tmp_path / "garbage.lenet"
    path.write_bytes(bundle_bytes(meta(), tflite=os.urandom(4096)))
    with pytest.raises(BundleError, match="the network cannot be loaded"):
        Recognizer(read_bundle(path))


def test_nan_probabilities_are_an_error_not_json_nan(tmp_path, no_processes):
    """A damaged network whose weights became NaN: its answer is refused, never printed as NaN."""
    from lenet_core.inference import Recognizer

    source = read_bundle(bundle.shipped_models_dir() / "emnist-digits.lenet", shipped=True)
    network = bytearray(source.tflite_bytes())
    plain = Recognizer(source)._network._interpreter
    weights = max((detail for detail in plain.get_tensor_details() if detail["dtype"] == np.float32 and _constant(plain, detail)),
                  key=lambda detail: int(np.prod(detail["shape"])))
    stored = plain.get_tensor(weights["index"]).tobytes()
    start = bytes(network).find(stored)
    assert start > 0, "the largest weight tensor is stored as is in the flatbuffer"
    network[start : start + len(stored)] = struct.pack("<f", float("nan")) * (len(stored) // 4)
    path = tmp_path / "flipped.lenet"
    bundle.write_bundle(path, {k: v for k, v in source.meta.items() if k not in ("format_version",)}, bytes(network))
    try:
        recognizer = Recognizer(read_bundle(path))
    except BundleError as error:
        pytest.fail(f"the damaged weights should load and answer NaN; the structure broke instead: {error}")
    with pytest.raises(ValueError, match="gives invalid probabilities"):
        recognizer.probabilities(np.zeros((28, 28), np.float32))


def _constant(interpreter, detail) -> bool:
    try:
        return interpreter.get_tensor(detail["index"]).size > 100
    except ValueError:
        return False


# --- arguments --------------------------------------------------------------------------------

DIGITS = str(TEST_DATA / "emnist")
TRAIN = ["train", "--data", DIGITS, "--split", "digitsmini", "--epochs", "1"]
REFUSED_ARGUMENTS = {
    "lr-nan": (TRAIN + ["--lr", "nan"], "--lr must be a finite number, not nan"),
    "lr-inf": (TRAIN + ["--lr", "inf"], "--lr must be a finite number, not inf"),
    "lr-minus-inf": (TRAIN + ["--lr=-inf"], "--lr must be a finite number"),
    "lr-1e30": (TRAIN + ["--lr", "1e30"], "--lr must be in (0, 10], not 1e+30"),
    "lr-minus-1": (TRAIN + ["--lr", "-1"], "--lr must be in (0, 10], not -1"),
    "lr-0": (TRAIN + ["--lr", "0"], "--lr must be in (0, 10], not 0"),
    "smoothing-minus-1": (TRAIN + ["--label-smoothing", "-1"], "--label-smoothing must be in [0, 0.5], not -1"),
    "smoothing-5": (TRAIN + ["--label-smoothing", "5"], "--label-smoothing must be in [0, 0.5], not 5"),
    "smoothing-nan": (TRAIN + ["--label-smoothing", "nan"], "--label-smoothing must be a finite number"),
    "patience-minus-1": (TRAIN + ["--patience", "-1"], "--patience must be in [1, 10000], not -1"),
    "patience-0": (TRAIN + ["--patience", "0"], "--patience must be in [1, 10000], not 0"),
    "epochs-0": (TRAIN + ["--epochs", "0"], "--epochs must be in [1, 10000], not 0"),
    "epochs-huge": (TRAIN + ["--epochs", "10000000"], "--epochs must be in [1, 10000]"),
    "batch-0": (TRAIN + ["--batch-size", "0"], "--batch-size must be in [1, 65536], not 0"),
    "batch-huge": (TRAIN + ["--batch-size", "100000000"], "--batch-size must be in [1, 65536]"),
    "validation-nan": (TRAIN + ["--validation", "nan"], "--validation must be a finite number"),
    "validation-minus": (TRAIN + ["--validation", "-0.1"], "--validation must be in [0, 0.9]"),
    "validation-1": (TRAIN + ["--validation", "1"], "--validation must be in [0, 0.9], not 1"),
    "max-samples-0": (TRAIN + ["--max-samples", "0"], "--max-samples must be in [1, 1e+09], not 0"),
    "dropout-nan": (TRAIN + ["--dropout", "nan"], "dropout must be at least 0 and below 1", cli.EXIT_ERROR),
    "dropout-1": (TRAIN + ["--dropout", "1"], "dropout must be at least 0 and below 1", cli.EXIT_ERROR),
    "augment-inf": (TRAIN + ["--augment-strength", "inf"], "the augmentation strength must be between 0 and 3", cli.EXIT_ERROR),
    "augment-nan": (TRAIN + ["--augment-strength", "nan"], "the augmentation strength must be between 0 and 3", cli.EXIT_ERROR),
    "name-control": (TRAIN + ["--name", "a\x1bb"], "--name must be printable text"),
    "name-blank": (TRAIN + ["--name", "  "], "--name must be printable text"),
    "limit-minus-1": (["evaluate", "--data", DIGITS, "--split", "digitsmini", "--limit", "-1"], "--limit must be in [1, 1e+09], not -1"),
    "limit-0": (["evaluate", "--data", DIGITS, "--split", "digitsmini", "--limit", "0"], "--limit must be in [1, 1e+09], not 0"),
    "worst-minus-1": (["evaluate", "--data", DIGITS, "--worst", "-1"], "--worst must be in [0, 10000], not -1"),
    "predict-top-0": (["predict", "x.png", "--top", "0"], "--top must be in [1, 1000], not 0"),
    "predict-top-minus": (["predict", "x.png", "--top", "-3"], "--top must be in [1, 1000], not -3"),
    "read-top-huge": (["read", "x.png", "--top", "99999999"], "--top must be in [1, 1000]"),
    "stroke-inf": (["read", "x.png", "--stroke", "inf"], "--stroke must be a finite number, not inf"),
    "stroke-nan": (["read", "x.png", "--stroke", "nan"], "--stroke must be a finite number, not nan"),
    "stroke-1e9": (["read", "x.png", "--stroke", "1e9"], "--stroke must be in [-1, 4], not 1e+09"),
    "stroke-minus-5": (["read", "x.png", "--stroke", "-5"], "--stroke must be in [-1, 4], not -5"),
    "border-inf": (["read", "x.png", "--border", "inf"], "--border must be a finite number, not inf"),
    "border-1e9": (["read", "x.png", "--border", "1e9"], "--border must be in [0, 8], not 1e+09"),
    "border-minus-1": (["read", "x.png", "--border", "-1"], "--border must be in [0, 8], not -1"),
    "border-nan": (["read", "x.png", "--border", "nan"], "--border must be a finite number"),
    "level-nan": (["read", "x.png", "--level", "nan"], "--level must be a finite number, not nan"),
    "level-minus-1": (["read", "x.png", "--level", "-1"], "--level must be in [0, 1], not -1"),
    "level-2": (["read", "x.png", "--level", "2"], "--level must be in [0, 1], not 2"),
    "level-inf": (["read", "x.png", "--level", "inf"], "--level must be a finite number"),
}
ACCEPTED_ARGUMENTS = {
    "lr-small": TRAIN + ["--lr", "0.001"], "lr-10": TRAIN + ["--lr", "10"], "smoothing-0.1": TRAIN + ["--label-smoothing", "0.1"],
    "patience-1": TRAIN + ["--patience", "1"], "validation-0": TRAIN + ["--validation", "0"], "limit-1": ["evaluate", "--data", DIGITS, "--limit", "1"],
    "stroke-minus-1": ["read", "x.png", "--stroke", "-1"], "stroke-4": ["read", "x.png", "--stroke", "4"], "border-0": ["read", "x.png", "--border", "0"],
    "border-8": ["read", "x.png", "--border", "8"], "level-0": ["read", "x.png", "--level", "0"], "level-1": ["read", "x.png", "--level", "1"],
    "top-1": ["predict", "x.png", "--top", "1"], "name-unicode": TRAIN + ["--name", "Zeichen äöü"],
}


@pytest.mark.parametrize("key", sorted(REFUSED_ARGUMENTS))
def test_refused_argument(key, capsys, monkeypatch):
    import lenet_core.training as training

    def no_training(*args, **kwargs):
        raise AssertionError("training started with a refused argument")

    monkeypatch.setattr(training.Trainer, "run", no_training)
    argv, message, *code = REFUSED_ARGUMENTS[key]
    assert cli.main(argv) == (code[0] if code else cli.EXIT_USAGE)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("key", sorted(ACCEPTED_ARGUMENTS))
def test_accepted_argument(key):
    assert safety.cli_problem(cli.build_parser().parse_args(ACCEPTED_ARGUMENTS[key])) is None


@pytest.mark.parametrize(
    ("out", "phrase"),
    [
        (lambda tmp: tmp, "is a folder; give a file name"),
        (lambda tmp: _mkdir(tmp / "x.lenet"), "is a folder; give a file name"),
        (lambda tmp: _mkdir(tmp / "bare.lenet") and tmp / "bare", "is a folder; give a file name"),
        (lambda tmp: Path("/proc/x.lenet"), "cannot write in /proc"),
        (lambda tmp: _touch(tmp / "file.txt", b"x") / "x.lenet", "cannot write in"),
        (lambda tmp: tmp / ("n" * 250 + ".lenet"), "File name too long"),
        (lambda tmp: tmp / ("n" * 220 + ".lenet"), "the file name is 226 bytes long; at most 215"),
        (lambda tmp: tmp / ("d" * 300) / "x.lenet", "is longer than 255 bytes"),
    ],
    ids=["existing-folder", "folder-named-lenet", "folder-after-suffix", "proc", "under-a-file", "name-256-bytes", "name-226-bytes", "folder-300-bytes"],
)
def test_bad_output_is_refused_before_training(out, phrase, tmp_path, capsys, monkeypatch):
    import lenet_core.training as training

    def no_training(*args, **kwargs):
        raise AssertionError("training started before --out was checked")

    monkeypatch.setattr(training.Trainer, "run", no_training)
    assert cli.main(TRAIN + ["--out", str(out(tmp_path))]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and phrase in err, err


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


# --- the CLI contract, in real processes --------------------------------------------------------


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LENET_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "lenet_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_cli_predict_refuses_each_hostile_file_in_one_line_and_answers_the_good_one(tmp_path):
    import cv2
    from conftest import glyph
    from hostile_files import png_header_only

    good = tmp_path / "seven.png"
    cv2.imwrite(str(good), 255 - glyph("7", side=140))
    hostile = {
        "photo.png": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{} loop\n",
        "scan.png": b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32767 +X 32767\n" + bytes(64),
        "page.pgm": b"P7\nWIDTH 30000\nHEIGHT 30000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n",
        "huge.png": png_header_only(60000, 60000),
        "icon.png": b"\x00\x00\x01\x00\x01\x00" + bytes(16) + png_header_only(60000, 60000),
    }
    for name, data in hostile.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / name) for name in hostile]
    result = run_cli("predict", "--json", *paths[:2], str(good), *paths[2:], home=tmp_path / "home")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(hostile), result.stderr  # one line each, no OpenCV or Ghostscript lines
    assert "photo.png: is a PostScript file, which this program does not open" in lines[0]
    assert "Radiance HDR image" in lines[1] and "PAM image" in lines[2] and "60000×60000" in lines[3] and "Windows icon" in lines[4]
    record = json.loads(result.stdout)
    assert record["path"] == str(good) and record["top"]


def test_cli_predict_over_every_generated_image_one_line_per_refusal(tmp_path):
    """All the image cases in one `predict` run: exactly one stderr line per refused file, each
    naming its file (no OpenCV, libpng or Ghostscript lines), and an answer for every good one."""
    refused, good = [], []
    for case in IMAGE_CASES:
        if "-as-" in case.id and not case.id.startswith("good-") and not case.id.endswith("-as-photo.png"):
            continue  # one name per hostile content is enough here
        path = case.build(tmp_path)
        (refused if isinstance(case.expect, Refused) else good).append(str(path))
    result = run_cli("predict", "--json", *refused, *good, home=tmp_path / "home")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == len(refused), "\n".join(line for line in lines if "lenet-studio: error:" not in line)[:2000]
    assert all(line.startswith("lenet-studio: error: ") for line in lines)
    assert [line.split(": ")[2] for line in lines] == refused
    answered = [json.loads(line)["path"] for line in result.stdout.splitlines()]
    assert answered == good


def test_cli_argument_and_output_refusals_exit_before_any_work(tmp_path):
    nan = run_cli(*TRAIN, "--lr", "nan", home=tmp_path)
    proc = run_cli(*TRAIN, "--out", "/proc/x.lenet", home=tmp_path)
    for result, words in ((nan, "--lr must be a finite number"), (proc, "cannot write in /proc")):
        assert result.returncode != 0 and result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not result.stdout


def test_cli_models_lists_despite_a_hostile_model_file(tmp_path):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "deep.lenet").write_bytes(BUNDLE_CASES["deep-nesting"][0]())
    (home / "models" / "dupes.lenet").write_bytes(BUNDLE_CASES["classes-duplicate"][0]())
    result = run_cli("models", home=home)
    assert result.returncode == 0 and "emnist-balanced" in result.stdout
    skipped = result.stderr.strip().splitlines()
    assert len(skipped) == 2 and any("nested too deeply" in line for line in skipped) and any("appears twice" in line for line in skipped)


def test_cli_evaluate_refuses_an_empty_data_set_in_one_line(tmp_path):
    folder = write_idx_split(tmp_path / "data", "digits", images=idx_images(0), labels=idx_labels(0))
    (folder / "emnist-digits-test-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_images(0)))
    (folder / "emnist-digits-test-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_labels(0)))
    result = run_cli("evaluate", "--model", "emnist-digits", "--data", str(folder), "--split", "digits", home=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "holds no records" in result.stderr, result.stderr
