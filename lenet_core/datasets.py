"""Handwriting data sets in every form users download them, read into one `Dataset` value.

Owns the two EMNIST facts everything else relies on: NIST stores each 28×28 record
transposed (`upright_from_nist`), and labels become characters through the mapping file
(`read_mapping` / `_classes_for`). Nothing else in the project repeats either.

Sources: a folder of IDX files (NIST or MNIST names, gzipped or not), the NIST `gzip.zip`
archive read in place, a Kaggle CSV (`label,784 pixels`), a Matlab `.mat` file, and a folder
of the user's own images with one sub-folder per class.
"""

from __future__ import annotations

import gzip
import re
import string
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from lenet_core import safety

Orientation = Literal["auto", "transposed", "upright"]
IMAGE_SIDE = 28
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".pnm", ".jpe", ".jfif", ".dib"}
DIGITS = tuple(string.digits)
# Limits for untrusted files, checked before allocating: EMNIST's largest split (byclass) has
# 697,932 training records and labels below 62; its mapping files are under 1 KB.
MAX_RECORDS = 2_000_000
MAX_LABEL = 65_535
MAX_MAPPING_BYTES = 1024 * 1024
MAX_MAT_BYTES = 3 * 1024**3  # what a .mat file may expand to (EMNIST byclass: about 0.7 GB)


class DatasetError(ValueError):
    """A data file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Dataset:
    """Upright white-on-black uint8 images (N×28×28), labels 0..K-1, and K class characters."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    source: str = ""
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"images must be N×28×28, got {self.images.shape}")
        if self.images.dtype != np.uint8:
            raise ValueError(f"images must be uint8, got {self.images.dtype}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError("labels out of range of the classes")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.n_classes)

    def subset(self, index: np.ndarray | slice, name: str | None = None) -> Dataset:
        return Dataset(
            name=name or self.name,
            images=self.images[index],
            labels=self.labels[index],
            classes=self.classes,
            source=self.source,
            notes=self.notes,
        )


@dataclass(frozen=True)
class SplitInfo:
    """One split a source offers (e.g. `balancedx`) and the record count of each part."""

    name: str
    parts: dict[str, int]
    classes: tuple[str, ...] | None = None

    def describe(self) -> str:
        counts = ", ".join(f"{part} {count:,}" for part, count in self.parts.items())
        classes = f", {len(self.classes)} classes" if self.classes else ""
        return f"{self.name} ({counts}{classes})"


# --- the two EMNIST facts -------------------------------------------------------------------


def upright_from_nist(records: np.ndarray) -> np.ndarray:
    """NIST/EMNIST store every 28×28 record transposed; this returns them upright."""
    return np.ascontiguousarray(records.reshape(-1, IMAGE_SIDE, IMAGE_SIDE).transpose(0, 2, 1))


def read_mapping(text: str, path: Path | str) -> dict[int, str]:
    """EMNIST mapping: `label code` per line, or `label upper lower` for merged letters."""
    mapping: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            values = [int(value) for value in fields]
        except ValueError:
            raise DatasetError(path, f"line {number} of the mapping is not numbers: {line!r}") from None
        if len(values) < 2:
            raise DatasetError(path, f"line {number} of the mapping has no character code")
        label, code = values[0], values[1]
        if not 0 <= label <= MAX_LABEL:
            raise DatasetError(path, f"line {number} of the mapping: label {label} is outside 0..{MAX_LABEL}")
        if label in mapping:
            raise DatasetError(path, f"label {label} appears twice in the mapping")
        try:
            character = chr(code)
        except (ValueError, OverflowError):
            raise DatasetError(path, f"line {number} of the mapping: {code} is not a character code") from None
        problem = safety.class_name_problem(character)
        if problem:
            raise DatasetError(path, f"line {number} of the mapping: {problem}")
        mapping[label] = character
    if not mapping:
        raise DatasetError(path, "the mapping file is empty")
    problem = safety.classes_problem(mapping.values())
    if problem:
        raise DatasetError(path, f"the mapping: {problem}")
    return mapping


def _classes_for(
    raw_labels: np.ndarray, mapping: dict[int, str] | None, labels_path: str, mapping_hint: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Turn raw label values into indices 0..K-1 and the K class characters."""
    if mapping is None:
        name = Path(labels_path).name.lower().removeprefix("emnist")
        digits_by_name = any(word in name for word in ("digit", "mnist"))
        if digits_by_name or (len(raw_labels) and raw_labels.min() >= 0 and raw_labels.max() <= 9):
            mapping = {digit: str(digit) for digit in range(10)}  # digits need no mapping file
        else:
            raise DatasetError(labels_path, f"no label mapping found ({mapping_hint})")
    label_values = np.array(sorted(mapping), dtype=np.int64)
    lookup = np.full(int(label_values.max()) + 1, -1, dtype=np.int64)
    lookup[label_values] = np.arange(len(label_values))
    raw = raw_labels.astype(np.int64)
    outside = (raw < 0) | (raw > label_values.max())
    indices = np.where(outside, -1, lookup[np.clip(raw, 0, label_values.max())])
    if (indices < 0).any():
        bad = sorted(set(raw[indices < 0].tolist()))[:5]
        raise DatasetError(labels_path, f"labels out of range of the mapping: {bad}")
    return indices, tuple(mapping[int(value)] for value in label_values)


def _is_nist_name(name: str) -> bool:
    return Path(name).name.lower().startswith("emnist")


def _to_upright(records: np.ndarray, name: str, orientation: Orientation) -> np.ndarray:
    transposed = orientation == "transposed" or (orientation == "auto" and _is_nist_name(name))
    if transposed:
        return upright_from_nist(records)
    return np.ascontiguousarray(records.reshape(-1, IMAGE_SIDE, IMAGE_SIDE))


# --- IDX ------------------------------------------------------------------------------------

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
_IDX_NAME = re.compile(
    r"^(?P<stem>.+?)[-.](?P<kind>images[-.]idx3|labels[-.]idx1)[-.]ubyte(?P<gz>\.gz)?$", re.IGNORECASE
)
_NIST_STEM = re.compile(r"^emnist-(?P<split>[a-z0-9]+)-(?P<part>train|test)(?:-(?P<extra>.+))?$", re.I)
_MNIST_STEM = re.compile(r"^(?P<part>train|t10k|test)$", re.IGNORECASE)


def _read_idx(stream: BinaryIO, name: str, magic: int) -> np.ndarray:
    """An IDX file read from `stream` (gzip-wrapped when its name says so), its header checked
    before the body is read: the body is read in chunks up to what the header declares, so a
    header lying about its size or a gzip bomb costs no more than the declared records."""
    kind = "images" if magic == IDX_IMAGES_MAGIC else "labels"
    header_size = 16 if magic == IDX_IMAGES_MAGIC else 8
    if name.lower().endswith(".gz"):
        stream = gzip.GzipFile(fileobj=stream)
    try:
        header = stream.read(header_size)
        if len(header) < header_size:
            raise DatasetError(name, f"too short for an IDX {kind} header ({len(header)} bytes)")
        found = int.from_bytes(header[0:4], "big")
        if found != magic:
            raise DatasetError(name, f"wrong magic number {found} (an IDX {kind} file starts with {magic})")
        count = int.from_bytes(header[4:8], "big")
        shape: tuple[int, ...] = (count,)
        if magic == IDX_IMAGES_MAGIC:
            rows, cols = int.from_bytes(header[8:12], "big"), int.from_bytes(header[12:16], "big")
            if (rows, cols) != (IMAGE_SIDE, IMAGE_SIDE):
                raise DatasetError(name, f"images are {rows}×{cols}, expected 28×28")
            shape = (count, rows * cols)
        if count == 0:
            raise DatasetError(name, f"holds no records (its header says 0 {kind})")
        if count > MAX_RECORDS:
            raise DatasetError(name, f"header says {count:,} records, more than the {MAX_RECORDS:,} this program reads")
        expected = int(np.prod(shape))
        body = safety.read_up_to(stream, expected)
        if len(body) < expected:
            raise DatasetError(name, f"truncated: header says {count:,} records, file holds {len(body):,} bytes of {expected:,}")
        if stream.read(1):
            raise DatasetError(name, f"count mismatch: header says {count:,} records but the file is longer")
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        if name.lower().endswith(".gz"):
            raise DatasetError(name, f"not a complete gzip file ({error})") from None
        raise DatasetError(name, f"cannot be read ({error})") from None
    return np.frombuffer(body, np.uint8).reshape(shape)


def _idx_count(data_head: bytes, name: str) -> int:
    if len(data_head) < 8:
        raise DatasetError(name, f"too short for an IDX images header ({len(data_head)} bytes)")
    return int.from_bytes(data_head[4:8], "big")


@dataclass
class _IdxPart:
    images: str = ""
    labels: str = ""


@dataclass
class _IdxSplit:
    name: str
    parts: dict[str, _IdxPart] = field(default_factory=dict)
    mapping: str | None = None


def _base_name(name: str) -> str:
    """The last part of a file or archive member name; zips made on Windows may use backslashes.
    Only ever used to recognise a name, never as a path."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


class _IdxCollection:
    """IDX files found by name, in a folder or inside a zip archive."""

    kind = "idx"

    def __init__(self, path: Path, names: Sequence[str], opener: Callable[[str], BinaryIO], orientation: Orientation):
        self.path = path
        self._open = opener
        self._orientation = orientation
        self._splits: dict[str, _IdxSplit] = {}
        mappings = {_base_name(name).lower(): name for name in names if name.lower().endswith("-mapping.txt")}
        for name in names:
            match = _IDX_NAME.match(_base_name(name))
            if not match:
                continue
            stem = match["stem"]
            nist, mnist = _NIST_STEM.match(stem), _MNIST_STEM.match(stem)
            if nist:
                split, part = nist["split"].lower(), nist["part"].lower()
                if nist["extra"]:
                    part = f"{part}-{nist['extra']}"
            elif mnist:
                split, part = "mnist", "train" if mnist["part"].lower() == "train" else "test"
            else:
                split, part = stem, "all"
            entry = self._splits.setdefault(split, _IdxSplit(split))
            files = entry.parts.setdefault(part, _IdxPart())
            if match["kind"].lower().startswith("images"):
                files.images = name
            else:
                files.labels = name
            entry.mapping = mappings.get(f"emnist-{split}-mapping.txt", entry.mapping)

    def splits(self) -> list[SplitInfo]:
        infos = []
        for split in self._splits.values():
            counts = {}
            for part, files in sorted(split.parts.items()):
                if files.images and files.labels:
                    counts[part] = self._count(files.images)
            if counts:
                classes = None
                if split.mapping:
                    classes = tuple(read_mapping(self._read(split.mapping).decode("ascii", "replace"), split.mapping).values())
                infos.append(SplitInfo(split.name, counts, classes))
        return sorted(infos, key=lambda info: info.name)

    def _read(self, name: str, cap: int = MAX_MAPPING_BYTES) -> bytes:
        try:
            with self._open(name) as handle:
                return safety.read_capped(handle, cap)
        except safety.TooLarge as error:
            raise DatasetError(name, f"{error} (a mapping file is a few hundred bytes)") from None
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
            raise DatasetError(name, f"cannot be read ({error})") from None

    def _idx(self, name: str, magic: int) -> np.ndarray:
        try:
            with self._open(name) as handle:
                return _read_idx(handle, name, magic)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
            raise DatasetError(name, f"cannot be read ({error})") from None

    def incomplete(self) -> str | None:
        """Why no split is listed, naming a file without its partner, or None."""
        for split in self._splits.values():
            for files in split.parts.values():
                if files.images and not files.labels:
                    return f"{Path(files.images).name} has no labels file beside it"
                if files.labels and not files.images:
                    return f"{Path(files.labels).name} has no images file beside it"
        return None

    def _count(self, name: str) -> int:
        try:
            with self._open(name) as raw:
                stream = gzip.GzipFile(fileobj=raw) if name.lower().endswith(".gz") else raw
                head = stream.read(8)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
            if name.lower().endswith(".gz") and not isinstance(error, zipfile.BadZipFile):
                raise DatasetError(name, f"not a complete gzip file ({error})") from None
            raise DatasetError(name, f"cannot be read ({error})") from None
        return _idx_count(head, name)

    def load(self, split: str, part: str) -> Dataset:
        entry = self._splits.get(split)
        files = entry.parts.get(part) if entry else None
        if entry is None or files is None:
            raise DatasetError(self.path, f"has no {split}/{part} split")
        if not files.images or not files.labels:
            missing = "labels" if files.images else "images"
            raise DatasetError(self.path, f"{split}/{part}: the {missing} file is missing")
        records = self._idx(files.images, IDX_IMAGES_MAGIC)
        raw = self._idx(files.labels, IDX_LABELS_MAGIC)
        if len(records) != len(raw):
            raise DatasetError(files.labels, f"count mismatch: {len(raw):,} labels for {len(records):,} images")
        mapping = None
        if entry.mapping:
            mapping = read_mapping(self._read(entry.mapping).decode("ascii", "replace"), entry.mapping)
        hint = f"expected emnist-{split}-mapping.txt next to it"
        labels, classes = _classes_for(raw, mapping, files.labels, hint)
        images = _to_upright(records, Path(files.images).name, self._orientation)
        return Dataset(f"{split}-{part}", images, labels, classes, source=str(self.path))


# --- CSV (Kaggle) --------------------------------------------------------------------------


_CSV_NAME = re.compile(r"^(?:emnist-(?P<split>[a-z0-9]+)-(?P<part>train|test)|(?P<mnist>mnist)[-_](?P<mpart>train|test))\.csv$", re.I)


def _is_number(field: bytes) -> bool:
    """A header row's first field is a word ("label"); a data row's a number, even a bad one (2.5, nan)."""
    try:
        float(field.strip())
    except ValueError:
        return False
    return True


_MAX_CSV_LINE = 1 << 20  # a Kaggle row is about 3 KB; a "line" longer than this is not one


class CsvSource:
    """One or more Kaggle CSV files (`label,p0,...,p783`), optionally with a header row."""

    kind = "csv"

    def __init__(self, path: Path, files: Sequence[Path], orientation: Orientation):
        self.path = path
        self._orientation = orientation
        self._files: dict[tuple[str, str], Path] = {}
        for file in files:
            match = _CSV_NAME.match(file.name)
            if match and match["split"]:
                key = (match["split"].lower(), match["part"].lower())
            elif match:
                key = ("mnist", match["mpart"].lower())
            else:
                key = (file.stem, "all")
            self._files[key] = file

    def _mapping_path(self, split: str, file: Path) -> Path:
        return file.with_name(f"emnist-{split}-mapping.txt")

    def splits(self) -> list[SplitInfo]:
        grouped: dict[str, dict[str, int]] = {}
        classes: dict[str, tuple[str, ...] | None] = {}
        for (split, part), file in sorted(self._files.items()):
            with open(file, "rb") as handle:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
                handle.seek(0)
                first = handle.readline(_MAX_CSV_LINE)
            has_header = bool(first) and not _is_number(first.split(b",")[0])
            if first and not first.endswith(b"\n"):
                lines += 1
            grouped.setdefault(split, {})[part] = lines - int(has_header)
            mapping_path = self._mapping_path(split, file)
            if mapping_path.exists():
                classes[split] = tuple(read_mapping(_read_text_capped(mapping_path), mapping_path).values())
        return [SplitInfo(split, parts, classes.get(split)) for split, parts in grouped.items()]

    def load(self, split: str, part: str) -> Dataset:
        file = self._files.get((split, part))
        if file is None:
            raise DatasetError(self.path, f"has no {split}/{part} split")
        with open(file, "rb") as handle:
            first = handle.readline(_MAX_CSV_LINE)
            header = bool(first.strip()) and not _is_number(first.split(b",")[0])
            if header:
                first = handle.readline(_MAX_CSV_LINE)
        if not first.strip():
            raise DatasetError(file, "holds no rows")
        fields = len(first.split(b","))
        if fields != 1 + IMAGE_SIDE * IMAGE_SIDE:
            raise DatasetError(file, f"row 1 has {fields} values, expected 785 (label + 784 pixels)")
        try:
            # C parser, int16: a 112,800-row Kaggle file takes seconds and ~180 MB, not minutes and GBs.
            table = np.loadtxt(file, delimiter=",", dtype=np.int16, skiprows=int(header), ndmin=2, max_rows=MAX_RECORDS + 1)
        except (ValueError, OverflowError) as error:
            detail = str(error).split(";")[0]
            if "could not convert" in detail:
                raise DatasetError(file, f"holds a value that is not an integer ({detail})") from None
            raise DatasetError(file, detail) from None
        except UnicodeDecodeError:
            raise DatasetError(file, "is not a text CSV file") from None
        if len(table) > MAX_RECORDS:
            raise DatasetError(file, f"holds more than the {MAX_RECORDS:,} rows this program reads")
        pixels = table[:, 1:]
        if pixels.min() < 0 or pixels.max() > 255:
            raise DatasetError(file, "pixel values must be 0..255")
        mapping_path = self._mapping_path(split, file)
        mapping = read_mapping(_read_text_capped(mapping_path), mapping_path) if mapping_path.exists() else None
        labels, classes = _classes_for(table[:, 0], mapping, str(file), f"expected {mapping_path.name} next to it")
        images = _to_upright(pixels.astype(np.uint8), file.name, self._orientation)
        return Dataset(f"{split}-{part}", images, labels, classes, source=str(file))


def _read_text_capped(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return safety.read_capped(handle, MAX_MAPPING_BYTES).decode("ascii", "replace")
    except safety.TooLarge as error:
        raise DatasetError(path, f"{error} (a mapping file is a few hundred bytes)") from None
    except OSError as error:
        raise DatasetError(path, f"cannot be read ({error.strerror or error})") from None


# --- Matlab (NIST's matlab.zip) --------------------------------------------------------------


class MatSource:
    """An EMNIST Matlab file: a `dataset` struct with `train`, `test` and `mapping`."""

    kind = "mat"

    def __init__(self, path: Path, orientation: Orientation):
        self.path = path
        self._orientation = orientation
        self._content: dict | None = None
        stem = path.stem.lower()
        self._split = stem[len("emnist-"):] if stem.startswith("emnist-") else stem

    def _read(self) -> dict:
        if self._content is not None:
            return self._content
        import scipy.io

        _check_mat_size(self.path)
        try:
            mat = scipy.io.loadmat(self.path, simplify_cells=True)
        except MemoryError:
            raise DatasetError(self.path, "is too large to load in the memory available") from None
        except Exception as error:  # noqa: BLE001 — scipy raises several unrelated types for bad files
            raise DatasetError(self.path, f"is not a readable Matlab file ({_first_line(error)})") from None
        data = mat.get("dataset")
        if not isinstance(data, dict):
            raise DatasetError(self.path, "has no 'dataset' struct (expected an EMNIST .mat file)")
        content: dict = {"parts": {}, "mapping": None}
        mapping = data.get("mapping")
        if mapping is not None:
            table = np.atleast_2d(np.asarray(mapping))
            if table.ndim != 2 or table.shape[1] < 2 or not _whole_numbers(table):
                raise DatasetError(self.path, "the mapping must have a label and a character code per row, as whole numbers")
            lines = "\n".join(f"{int(row[0])} {int(row[1])}" for row in table)
            content["mapping"] = read_mapping(lines, f"{self.path} (mapping)")
        for part in ("train", "test"):
            entry = data.get(part)
            if not isinstance(entry, dict):
                continue
            images = np.asarray(entry.get("images"))
            labels = np.asarray(entry.get("labels")).reshape(-1)
            if images.ndim != 2 or images.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
                raise DatasetError(self.path, f"{part} images have shape {images.shape}, expected N×784")
            if len(images) != len(labels):
                raise DatasetError(self.path, f"count mismatch in {part}: {len(labels):,} labels for {len(images):,} images")
            if len(images) == 0:
                raise DatasetError(self.path, f"the {part} part holds no records")
            if not _whole_numbers(images) or images.min() < 0 or images.max() > 255:
                raise DatasetError(self.path, f"{part} pixel values must be whole numbers 0..255 (found NaN, fractions or values outside)")
            if not _whole_numbers(labels):
                raise DatasetError(self.path, f"{part} labels must be whole numbers (found NaN or fractions)")
            if labels.min() < 0 or labels.max() > MAX_LABEL:
                raise DatasetError(self.path, f"{part} labels must be 0..{MAX_LABEL}")
            content["parts"][part] = (images, labels)
        if not content["parts"]:
            raise DatasetError(self.path, "has neither a 'train' nor a 'test' part")
        self._content = content
        return content

    def splits(self) -> list[SplitInfo]:
        content = self._read()
        classes = tuple(content["mapping"].values()) if content["mapping"] else None
        return [SplitInfo(self._split, {part: len(v[1]) for part, v in content["parts"].items()}, classes)]

    def load(self, split: str, part: str) -> Dataset:
        content = self._read()
        if split != self._split or part not in content["parts"]:
            raise DatasetError(self.path, f"has no {split}/{part} split")
        images, raw = content["parts"][part]
        labels, classes = _classes_for(raw, content["mapping"], str(self.path), "the file has no 'mapping' field")
        # The Matlab arrays hold the same transposed records as the IDX files.
        orientation: Orientation = "transposed" if self._orientation == "auto" else self._orientation
        upright = _to_upright(images.astype(np.uint8), self.path.name, orientation)  # checked 0..255 whole numbers
        return Dataset(f"{split}-{part}", upright, labels, classes, source=str(self.path))


def _whole_numbers(values: np.ndarray) -> bool:
    """Integer dtype, or real numbers that are all finite and whole (no NaN, no 2.5)."""
    if values.dtype.kind in "biu":
        return True
    if values.dtype.kind != "f":
        return False
    return bool(np.isfinite(values).all() and (np.floor(values) == values).all())


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]


def _check_mat_size(path: Path) -> None:
    """Refuse a MAT file before scipy reads it when its compressed variables expand past
    MAX_MAT_BYTES (a zlib bomb), or when it is a v7.3 (HDF5) file. Streams, never holding more
    than a chunk of the expanded data."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(128)
            if len(header) < 128 or not header.startswith(b"MATLAB"):
                return  # not a v5 file: scipy says what it is (v4 files hold no compression)
            if header[124:126] in (b"\x00\x02", b"\x02\x00"):
                raise DatasetError(path, "is a MATLAB 7.3 (HDF5) file, which this program does not read; save it with -v7")
            order = "<" if header[126:128] == b"IM" else ">"
            total = 0
            while True:
                tag = handle.read(8)
                if len(tag) < 8:
                    return
                kind, size = struct.unpack(order + "II", tag)
                if kind >> 16:  # a small data element: the data sits in the tag
                    continue
                if kind != 15:  # miCOMPRESSED
                    total += size
                    handle.seek(size + (-size % 8), 1)
                else:
                    inflater = zlib.decompressobj()
                    left = size
                    while left > 0:
                        block = handle.read(min(safety.CHUNK, left))
                        if not block:
                            break
                        left -= len(block)
                        data = inflater.decompress(block, safety.CHUNK)
                        while True:
                            total += len(data)
                            if total > MAX_MAT_BYTES:
                                raise DatasetError(path, f"expands to more than {safety.megabytes(MAX_MAT_BYTES)}, more than this program reads")
                            if not inflater.unconsumed_tail:
                                break
                            data = inflater.decompress(inflater.unconsumed_tail, safety.CHUNK)
                if total > MAX_MAT_BYTES:
                    raise DatasetError(path, f"declares more than {safety.megabytes(MAX_MAT_BYTES)} of data, more than this program reads")
    except zlib.error:
        return  # damaged: scipy refuses it with its own words
    except OSError as error:
        raise DatasetError(path, f"cannot be read ({error.strerror or error})") from None


# --- the user's own images ------------------------------------------------------------------


class ImageFolderSource:
    """A folder with one sub-folder per class (the folder name is the character).

    Every image goes through the same preprocessing pipeline as a photo, so the user's
    samples land in the distribution the network was trained on.
    """

    kind = "images"

    def __init__(self, path: Path):
        self.path = path
        self._root = path.resolve()
        self._skipped: list[str] = []
        self._classes = sorted(
            child for child in path.iterdir()
            if not child.name.startswith(".") and self._inside(child) and child.is_dir() and self._images_in(child)
        )
        for folder in self._classes:
            problem = safety.class_name_problem(folder.name)
            if problem:
                raise DatasetError(folder, f"a class folder is named with the one character it holds ({problem})")

    def _inside(self, entry: Path) -> bool:
        """False (and noted) for a link that leads outside the data set folder."""
        if not entry.is_symlink():
            return True
        try:
            target = entry.resolve(strict=True)
        except (OSError, RuntimeError):
            self._skipped.append(f"skipped {entry}: a broken or looping link")
            return False
        if target == self._root or self._root in target.parents:
            return True
        self._skipped.append(f"skipped {entry}: a link to {target}, outside the data set")
        return False

    def _images_in(self, folder: Path) -> list[Path]:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return []
        return [file for file in entries if file.suffix.lower() in IMAGE_SUFFIXES and self._inside(file)]

    def splits(self) -> list[SplitInfo]:
        total = sum(len(self._images_in(folder)) for folder in self._classes)
        return [SplitInfo(self.path.name, {"all": total}, tuple(folder.name for folder in self._classes))]

    def load(self, split: str, part: str = "all") -> Dataset:
        from lenet_core import imageio, preprocess

        images, labels, notes = [], [], list(dict.fromkeys(self._skipped))
        for index, folder in enumerate(self._classes):
            for file in self._images_in(folder):
                try:
                    result = preprocess.run(imageio.read_image(file), preprocess.PHOTO)
                except imageio.ImageReadError as error:
                    notes.append(f"skipped {error}")
                    continue
                if result.empty:
                    notes.append(f"skipped {file}: no ink found")
                    continue
                images.append(result.as_uint8())
                labels.append(index)
        if not images:
            raise DatasetError(self.path, "holds no readable images in class sub-folders")
        return Dataset(
            self.path.name,
            np.stack(images),
            np.asarray(labels, dtype=np.int64),
            tuple(folder.name for folder in self._classes),
            source=str(self.path),
            notes=tuple(notes),
        )


# --- finding the right reader ---------------------------------------------------------------

DataSource = _IdxCollection | CsvSource | MatSource | ImageFolderSource


def open_source(path: Path | str, orientation: Orientation = "auto") -> DataSource:
    """Recognise what `path` holds and return a reader that lists and loads its splits."""
    path = Path(path).expanduser()
    try:
        if not path.exists():
            raise DatasetError(path, "does not exist")
        path.stat()
    except OSError as error:  # a name too long, a link loop, no permission
        raise DatasetError(str(path)[:200], f"cannot be opened ({error.strerror or error})") from None
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".zip":
            return _open_zip(path, orientation)
        if suffix == ".csv":
            return CsvSource(path, [path], orientation)
        if suffix == ".mat":
            return MatSource(path, orientation)
        if _IDX_NAME.match(path.name):
            return _open_folder(path.parent, orientation)
        raise DatasetError(path, "is not a data set file (expected a folder, .zip, .csv, .mat or IDX file)")
    return _open_folder(path, orientation)


def _open_folder(path: Path, orientation: Orientation) -> DataSource:
    files = [file for file in path.iterdir() if file.is_file()]
    nested = path / "gzip"  # the NIST archive unpacked keeps its files in gzip/
    if nested.is_dir():
        files += [file for file in nested.iterdir() if file.is_file()]
    if any(_IDX_NAME.match(file.name) for file in files):
        names = [str(file) for file in files]
        return _IdxCollection(path, names, lambda name: open(name, "rb"), orientation)
    csvs = [file for file in files if file.suffix.lower() == ".csv"]
    if csvs:
        return CsvSource(path, csvs, orientation)
    mats = [file for file in files if file.suffix.lower() == ".mat"]
    if len(mats) == 1:
        return MatSource(mats[0], orientation)
    zips = [file for file in files if file.suffix.lower() == ".zip"]
    if len(zips) == 1:
        return _open_zip(zips[0], orientation)
    source = ImageFolderSource(path)
    if source._classes:
        return source
    raise DatasetError(path, "holds no IDX, CSV, .mat or zip data and no class sub-folders of images")


def _open_zip(path: Path, orientation: Orientation) -> _IdxCollection:
    try:
        archive = zipfile.ZipFile(path)
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise DatasetError(path, f"is not a readable zip archive ({error})") from None

    def open_member(name: str) -> BinaryIO:
        info = archive.getinfo(name)
        cap = MAX_MAPPING_BYTES if name.lower().endswith(".txt") else 16 + MAX_RECORDS * IMAGE_SIDE * IMAGE_SIDE
        problem = safety.zip_member_problem(info, cap)
        if problem:
            raise DatasetError(path, problem)
        try:
            return archive.open(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as error:
            raise OSError(f"damaged archive member ({error})") from None

    collection = _IdxCollection(path, names, open_member, orientation)
    if not collection._splits:
        raise DatasetError(path, "contains no IDX files (expected the NIST gzip.zip)")
    return collection


def load_dataset(path: Path | str, split: str | None = None, part: str = "train", orientation: Orientation = "auto") -> Dataset:
    """Load one split/part; `split` may be omitted when the source offers exactly one."""
    source = open_source(path, orientation)
    infos = source.splits()
    if not infos:
        incomplete = source.incomplete() if isinstance(source, _IdxCollection) else None
        raise DatasetError(path, f"holds no complete data set{f' ({incomplete})' if incomplete else ''}")
    if split is None:
        if len(infos) != 1:
            names = ", ".join(info.name for info in infos) or "none"
            raise DatasetError(path, f"offers several splits ({names}); name one")
        split = infos[0].name
    info = next((info for info in infos if info.name == split), None)
    if info is None:
        names = ", ".join(info.name for info in infos) or "none"
        raise DatasetError(path, f"has no split {split!r} (found: {names})")
    if part not in info.parts:
        if len(info.parts) == 1:
            part = next(iter(info.parts))
        else:
            raise DatasetError(path, f"split {split!r} has no part {part!r} (found: {', '.join(info.parts)})")
    return source.load(split, part)


def write_idx(images_path: Path, labels_path: Path, images: np.ndarray, labels: np.ndarray, nist_layout: bool = True) -> None:
    """Write upright images and raw labels as gzipped IDX files (for tests and exports)."""
    records = images.transpose(0, 2, 1) if nist_layout else images
    header = IDX_IMAGES_MAGIC.to_bytes(4, "big") + len(images).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    label_header = IDX_LABELS_MAGIC.to_bytes(4, "big") + len(labels).to_bytes(4, "big")
    for target, payload in ((images_path, header + records.astype(np.uint8).tobytes()), (labels_path, label_header + labels.astype(np.uint8).tobytes())):
        data = gzip.compress(payload) if str(target).endswith(".gz") else payload
        Path(target).write_bytes(data)
