"""The user's own samples: an image-folder data set in the user data folder (one sub-folder
per class, each sample the original crop as a PNG), so the Train page, the CLI and
fine-tuning read it as any other source. Every write is atomic.
"""

from __future__ import annotations

import secrets
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np

from lenet_core.datasets import IMAGE_SUFFIXES
from lenet_core.paths import atomic_write, user_data_dir

MAX_LABEL_LENGTH = 8
_FORBIDDEN = set('/\\:*?"<>|')


class SampleError(ValueError):
    """A label, image or folder the store cannot take; the message says why."""


def samples_dir() -> Path:
    """Where the user's samples live (not created until the first one is added)."""
    return user_data_dir() / "samples"


def label_problem(label: str) -> str | None:
    """Why `label` cannot name a class folder, or None when it can."""
    if not label or not label.strip():
        return "give the sample a label (the character it shows)"
    if label != label.strip() or len(label) > MAX_LABEL_LENGTH:
        return f"a label is up to {MAX_LABEL_LENGTH} characters, without spaces around it"
    if label.startswith(".") or any(char in _FORBIDDEN or not char.isprintable() for char in label):
        return f"{label!r} cannot name a folder (no / \\ : * ? \" < > | or a leading dot)"
    return None


def _check_label(label: str) -> None:
    problem = label_problem(label)
    if problem:
        raise SampleError(problem)


def _encode_png(image: np.ndarray) -> bytes:
    import cv2

    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.size == 0 or min(image.shape[:2]) < 1:
        raise SampleError(f"not an image: shape {image.shape}")
    if image.dtype != np.uint8:
        if image.dtype.kind == "f" and image.max(initial=0) <= 1.0:
            image = image * 255.0
        image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise SampleError("the image could not be encoded as PNG")
    return data.tobytes()


def _new_name() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.png"


def add_sample(image: np.ndarray, label: str, root: Path | None = None) -> Path:
    """Save one sample (the crop as the user drew or photographed it) under its label."""
    _check_label(label)
    target = (root or samples_dir()) / label / _new_name()
    data = _encode_png(image)
    with atomic_write(target) as handle:
        handle.write(data)
    return target


def list_samples(root: Path | None = None) -> dict[str, list[Path]]:
    """Every class with at least one sample, and its files (oldest first)."""
    folder = root or samples_dir()
    if not folder.is_dir():
        return {}
    found: dict[str, list[Path]] = {}
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            files = sorted(f for f in child.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))
            if files:
                found[child.name] = files
    return found


def counts(root: Path | None = None) -> dict[str, int]:
    return {label: len(files) for label, files in list_samples(root).items()}


def total(root: Path | None = None) -> int:
    return sum(counts(root).values())


def delete_sample(path: Path | str, root: Path | None = None) -> None:
    """Remove one sample file (only files inside the store); an emptied class folder goes too."""
    folder = (root or samples_dir()).resolve()
    path = Path(path).resolve()
    if folder not in path.parents or path.parent.parent != folder:
        raise SampleError(f"{path} is not one of your samples")
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # only when empty
    except OSError:
        pass


def import_folder(source: Path | str, root: Path | None = None) -> int:
    """Copy the images of a folder with one sub-folder per class into the store; returns how many.

    Every image is checked to be readable first; an unreadable one is skipped, a folder whose
    name cannot be a label is an error naming it."""
    from lenet_core.imageio import ImageReadError, read_image

    source = Path(source).expanduser()
    if not source.is_dir():
        raise SampleError(f"{source}: not a folder")
    classes = [child for child in sorted(source.iterdir()) if child.is_dir() and not child.name.startswith(".")]
    pairs = []
    for child in classes:
        images = [f for f in sorted(child.iterdir()) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
        if images:
            problem = label_problem(child.name)
            if problem:
                raise SampleError(f"{child}: {problem}")
            pairs += [(child.name, image) for image in images]
    if not pairs:
        raise SampleError(f"{source}: no class sub-folders with images")
    copied = 0
    for label, image in pairs:
        try:
            read_image(image)
        except ImageReadError:
            continue
        data = image.read_bytes()
        target = (root or samples_dir()) / label / f"{Path(_new_name()).stem}{image.suffix.lower()}"
        with atomic_write(target) as handle:
            handle.write(data)
        copied += 1
    return copied


def export_zip(target: Path | str, root: Path | None = None) -> Path:
    """All samples as one zip (`label/file.png` inside), written atomically."""
    samples = list_samples(root)
    if not samples:
        raise SampleError("there are no samples to export")
    target = Path(target).expanduser()
    if target.suffix.lower() != ".zip":
        target = target.with_name(target.name + ".zip")
    with atomic_write(target) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for label, files in samples.items():
                for file in files:
                    archive.write(file, f"{label}/{file.name}")
    return target


def clear(root: Path | None = None) -> None:
    """Delete every sample (tests and a fresh start)."""
    folder = root or samples_dir()
    if folder.is_dir():
        shutil.rmtree(folder)


__all__ = ["SampleError", "add_sample", "clear", "counts", "delete_sample", "export_zip", "import_folder",
           "label_problem", "list_samples", "samples_dir", "total", "MAX_LABEL_LENGTH"]
