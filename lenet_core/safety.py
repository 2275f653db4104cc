"""Every file a user opens is untrusted: the shared checks the loaders and the CLI use.

- bounded reads: a stream is read in chunks up to a cap (gzip and zip bombs stop there),
  zip members are checked (encryption, compression method, declared size) before reading;
- names: class characters must be one printable character each, all different;
- numbers: command-line values checked (finite, in range) before any long work starts;
- saves: the output path is checked for writability before training; temporary files a
  killed save left beside a model are swept by the next save or listing.

Nothing here imports Qt or starts a process.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
MAX_NAME_BYTES = 255  # one path component on Linux, macOS and Windows
TEMP_NAME_SPARE = 40  # what atomic_write adds to a name: ".", ".<pid>.<random>.tmp"
MAX_CLASSES = 1000
ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_PROCESS_STARTED = time.time()


class TooLarge(ValueError):
    """A stream produced more bytes than its cap."""


# --- bounded reads ------------------------------------------------------------------------------


def megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count < 1e9 else f"{count / 1e9:,.1f} GB"


def read_capped(stream: BinaryIO, cap: int) -> bytes:
    """All of `stream`, read in chunks; TooLarge as soon as it passes `cap` bytes (a bomb never
    gets further than the cap in memory)."""
    parts, total = [], 0
    while True:
        chunk = stream.read(min(CHUNK, cap + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
        if total > cap:
            raise TooLarge(f"holds more than {megabytes(cap)} of data")


def read_up_to(stream: BinaryIO, count: int) -> bytes:
    """At most `count` bytes of `stream`, read in chunks (fewer when it ends first)."""
    parts, total = [], 0
    while total < count:
        chunk = stream.read(min(CHUNK, count - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def zip_member_problem(info: zipfile.ZipInfo, cap: int | None = None) -> str | None:
    """Why a zip member cannot be read safely, or None."""
    if info.flag_bits & 0x1:
        return f"{info.filename} is encrypted (password-protected); this program does not open encrypted archives"
    if info.compress_type not in ZIP_METHODS:
        return f"{info.filename} uses compression method {info.compress_type}, which this program does not read (stored, deflate, bzip2 or lzma)"
    if cap is not None and info.file_size > cap:
        return f"{info.filename} declares {megabytes(info.file_size)} uncompressed, above the {megabytes(cap)} this program reads"
    return None


def read_zip_member(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """A member's bytes, checked first and read with a cap; ValueError with one line otherwise.
    KeyError when there is no such member."""
    info = archive.getinfo(name)
    problem = zip_member_problem(info, cap)
    if problem:
        raise ValueError(problem)
    try:
        with archive.open(info) as handle:
            return read_capped(handle, cap)
    except TooLarge as error:
        raise ValueError(f"{name} {error}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as error:
        raise ValueError(f"{name} is damaged ({error})") from None


# --- class names ----------------------------------------------------------------------------------


def class_name_problem(name: object) -> str | None:
    """Why `name` cannot be a class (one printable character), or None."""
    if not isinstance(name, str):
        return f"a class name must be text, not {type(name).__name__}"
    if name == "":
        return "a class name is empty"
    normal = unicodedata.normalize("NFC", name)
    if len(normal) != 1:
        return f"class name {name[:20]!r} is not one character"
    category = unicodedata.category(normal)
    if category[0] in "CZ":  # control, format, surrogate, unassigned; spaces and separators
        return f"class name {name!r} is not a printable character (U+{ord(normal):04X})"
    return None


def classes_problem(classes: Iterable[object]) -> str | None:
    """Why a list of classes cannot be used (bad names, duplicates, too many), or None."""
    classes = list(classes)
    if not classes:
        return "lists no classes"
    if len(classes) > MAX_CLASSES:
        return f"lists {len(classes):,} classes (at most {MAX_CLASSES:,})"
    seen: set[str] = set()
    for name in classes:
        problem = class_name_problem(name)
        if problem:
            return problem
        if name in seen:
            return f"class {name!r} appears twice"
        seen.add(name)
    return None


# --- numbers ----------------------------------------------------------------------------------


def number_problem(value: float | int | None, option: str, low: float, high: float, *,
                   low_open: bool = False, integer: bool = False) -> str | None:
    """Why a command-line number is unusable (not finite, out of range, not whole), or None."""
    if value is None or isinstance(value, str):  # None: not given; a word ("auto") is the parser's to check
        return None
    if not math.isfinite(value):
        return f"{option} must be a finite number, not {value}"
    if integer and value != int(value):
        return f"{option} must be a whole number, not {value}"
    below = value <= low if low_open else value < low
    if below or value > high:
        left = "(" if low_open else "["
        return f"{option} must be in {left}{low:g}, {high:g}], not {value:g}"
    return None


# command → [(attribute, option, low, high, low_open, integer)]
_CLI_NUMBERS: dict[str, list[tuple[str, str, float, float, bool, bool]]] = {
    "predict": [("top", "--top", 1, 1000, False, True)],
    "read": [
        ("top", "--top", 1, 1000, False, True),
        ("level", "--level", 0.0, 1.0, False, False),
        ("stroke", "--stroke", -1.0, 4.0, False, False),
        ("border", "--border", 0.0, 8.0, False, False),
    ],
    "evaluate": [("limit", "--limit", 1, 10**9, False, True), ("worst", "--worst", 0, 10_000, False, True)],
    "train": [
        ("lr", "--lr", 0.0, 10.0, True, False),
        ("label_smoothing", "--label-smoothing", 0.0, 0.5, False, False),
        ("patience", "--patience", 1, 10_000, False, True),
        ("epochs", "--epochs", 1, 10_000, False, True),
        ("batch_size", "--batch-size", 1, 65_536, False, True),
        ("max_samples", "--max-samples", 1, 10**9, False, True),
        ("validation", "--validation", 0.0, 0.9, False, False),
    ],  # --dropout and --augment-strength: the Trainer's own checks refuse NaN and out-of-range values
}


def cli_problem(args) -> str | None:
    """The first unusable number among a parsed command line's options, or None."""
    for attribute, option, low, high, low_open, integer in _CLI_NUMBERS.get(getattr(args, "command", ""), []):
        problem = number_problem(getattr(args, attribute, None), option, low, high, low_open=low_open, integer=integer)
        if problem:
            return problem
    for attribute in ("name",):
        value = getattr(args, attribute, None)
        if isinstance(value, str) and (not value.strip() or any(unicodedata.category(c)[0] == "C" for c in value)):
            return f"--{attribute} must be printable text, not {value[:40]!r}"
    return None


# --- saving -------------------------------------------------------------------------------------


def output_problem(path: Path) -> str | None:
    """Why a model cannot be saved at `path` (a folder, a name too long, no writable folder), or
    None. Checked before training, so an hour's run is not lost to a bad --out."""
    path = Path(path)
    if any(len(os.fsencode(part)) > MAX_NAME_BYTES for part in path.parent.parts):
        return f"a folder name in {str(path)[:60]}… is longer than {MAX_NAME_BYTES} bytes"
    try:
        if path.is_dir():
            return f"{path} is a folder; give a file name (e.g. {path / 'model.lenet'})"
    except OSError as error:
        return f"{str(path)[:60]}… cannot be used ({error.strerror or error})"
    name_bytes = len(os.fsencode(path.name))
    if name_bytes + TEMP_NAME_SPARE > MAX_NAME_BYTES:
        return f"the file name is {name_bytes} bytes long; at most {MAX_NAME_BYTES - TEMP_NAME_SPARE} are possible"
    from lenet_core.paths import folder_write_problem

    folder = path.parent
    problem = folder_write_problem(folder)
    return f"cannot write in {folder} ({problem})" if problem else None


def temp_name_prefix(target: Path) -> str:
    """The prefix `paths.atomic_write` gives its temporary file: the target's name and our pid,
    so a later run can tell a dead process's leftover from a live one's save."""
    return f".{target.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep_temp_files(folder: Path, target_name: str | None = None) -> list[Path]:
    """Remove the temporary files killed saves left in `folder` (for `target_name`, or for any
    `.lenet`): those of processes no longer running, and nameless ones older than this process."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        if target_name is not None:
            if not name.startswith(f".{target_name}."):
                continue
            rest = name[len(target_name) + 2 : -len(".tmp")]
        else:
            marker = name.find(".lenet.")
            if marker < 0:
                continue
            rest = name[marker + len(".lenet.") : -len(".tmp")]
        pid_text = rest.split(".", 1)[0]
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if pid_text.isdigit() and "." in rest:
                stale = not _alive(int(pid_text))
            else:
                stale = entry.stat(follow_symlinks=False).st_mtime < _PROCESS_STARTED - 1
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


# --- the temporary files of a training run ------------------------------------------------------

_RUN_PREFIX = "run-"
_private_temp: Path | None = None


def sweep_temp_runs(base: Path) -> list[Path]:
    """Remove the private temp folders (`run-<pid>`) of processes no longer running."""
    import shutil

    removed: list[Path] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        pid = entry.name[len(_RUN_PREFIX):]
        if entry.name.startswith(_RUN_PREFIX) and pid.isdigit() and not _alive(int(pid)) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def private_temp_dir(base: Path) -> Path | None:
    """Point `tempfile` at a folder of this process's own under `base` (TensorFlow's autograph
    writes a file there per traced function and deletes them only at a normal exit), after
    removing the folders killed runs left. Once per process; None when `base` is not writable."""
    import atexit
    import shutil

    global _private_temp
    if _private_temp is not None:
        return _private_temp
    sweep_temp_runs(base)
    folder = base / f"{_RUN_PREFIX}{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    tempfile.tempdir = str(folder)
    atexit.register(shutil.rmtree, folder, True)
    _private_temp = folder
    return folder
