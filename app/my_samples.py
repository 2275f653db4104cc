"""The user's own samples from the GUI's side: cutting a sample out of the pad or a photo,
saving it into the store on a worker, and exporting a model into a folder others can use.
The store and the export themselves are `lenet_core.samples` / `lenet_core.export`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.workers import run_task
from lenet_core import samples
from lenet_core.export import export_model

log = logging.getLogger(__name__)

INK_CONTRAST = 40  # grey levels from the background that count as ink on the pad


def crop_drawing(image: np.ndarray, margin: float = 0.1) -> np.ndarray | None:
    """The pad's image cut to its ink with a margin (the sample as drawn); None without ink."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    background = float(np.median(border))
    ys, xs = np.nonzero(np.abs(image.astype(np.int16) - background) > INK_CONTRAST)
    if len(xs) == 0:
        return None
    return crop_box(image, (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)), margin)


def crop_box(image: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.15) -> np.ndarray:
    """`box` (x, y, w, h) of `image` with a margin of its longer side around it, inside the image."""
    x, y, w, h = box
    pad = int(round(margin * max(w, h))) + 1
    top, left = max(0, y - pad), max(0, x - pad)
    bottom, right = min(image.shape[0], y + h + pad), min(image.shape[1], x + w + pad)
    return np.ascontiguousarray(image[top:bottom, left:right])


def _store(image: np.ndarray, label: str) -> tuple[str, str, int]:
    path = samples.add_sample(image, label)
    return label, str(path), samples.counts().get(label, 0)


class SampleSaver(QObject):
    """Saves samples on a worker; `saved(label, path, count of that class)` or `failed(line)`."""

    saved = Signal(str, str, int)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._tasks = set()

    def save(self, image: np.ndarray | None, label: str) -> bool:
        """Start saving; False (and `failed`) when there is nothing to save or the label is bad."""
        if image is None or image.size == 0:
            self.failed.emit("Nothing to add: draw or choose a character first.")
            return False
        problem = samples.label_problem(label)
        if problem:
            self.failed.emit(f"Not added: {problem}.")
            return False
        task = run_task(_store, image, label, on_result=self._on_saved, on_error=self._on_error)
        self._tasks.add(task)
        return True

    @Slot(object)
    def _on_saved(self, answer) -> None:
        self._tasks = {task for task in self._tasks if not task.done.is_set()}
        label, path, count = answer
        self.saved.emit(label, path, count)

    @Slot(object)
    def _on_error(self, error: BaseException) -> None:
        self._tasks = {task for task in self._tasks if not task.done.is_set()}
        log.error("saving a sample failed: %s", error)
        self.failed.emit(f"Not added: {error}")

    def wait(self, timeout_s: float = 10) -> None:
        for task in list(self._tasks):
            task.done.wait(timeout_s)


def export_folder_name(model_name: str, fmt: str) -> str:
    safe = "".join(char if char.isalnum() or char in "-_." else "-" for char in model_name).strip("-") or "model"
    return f"{safe}-{fmt}"


def export_into(model_path: str, fmt: str, parent_folder: str) -> list[Path]:
    """Export into a new sub-folder `<model>-<format>` of the chosen folder."""
    from lenet_core.bundle import read_bundle

    model = read_bundle(model_path)
    return export_model(model, fmt, Path(parent_folder) / export_folder_name(model.name, fmt))
