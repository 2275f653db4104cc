"""The active model and the list to choose from, shared by every page.

Models load on a worker thread. A model that cannot be used (missing, corrupt, wrong
number of classes) is reported with a clear message and the previous model stays active.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.workers import run_task
from lenet_core import bundle
from lenet_core.bundle import BundleError, ModelBundle
from lenet_core.inference import Recognizer

log = logging.getLogger(__name__)


def _load(source: ModelBundle | str | Path) -> Recognizer:
    return Recognizer(source)


class ModelManager(QObject):
    listing_changed = Signal()
    model_changed = Signal(object)  # the new Recognizer
    load_failed = Signal(str)  # one clear line; the previous model stays active
    loading = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.recognizer: Recognizer | None = None
        self.bundles: list[ModelBundle] = []
        self.skipped: list[str] = []
        self._task = None
        self._requested: str | None = None

    def refresh(self) -> None:
        listing = bundle.list_models()
        self.bundles, self.skipped = listing.bundles, listing.skipped
        for problem in self.skipped:
            log.warning("skipped model %s", problem)
        self.listing_changed.emit()

    def activate(self, source: ModelBundle | str | Path, expected_classes: int | None = None) -> None:
        """Load a model (name, path or listed bundle) in the background and make it active."""
        label = source.name if isinstance(source, ModelBundle) else str(source)
        self._requested = label
        self._expected = expected_classes
        self.loading.emit(label)
        self._task = run_task(_load, source, on_result=self._loaded, on_error=self._failed)

    def _is_stale(self) -> bool:
        """True in a slot answering an older request: quick successive picks (arrow keys in the
        picker) load in parallel, and the last one asked for must win, not the last to finish."""
        return self._task is None or self.sender() is not self._task.signals

    @Slot(object)
    def _loaded(self, recognizer: Recognizer) -> None:
        if self._is_stale():
            log.info("model %s loaded after a newer request: dropped", recognizer.name)
            return
        if self._expected is not None and len(recognizer.classes) != self._expected:
            self._failed(BundleError(recognizer.bundle.path, f"has {len(recognizer.classes)} classes, expected {self._expected}"))
            return
        self.recognizer = recognizer
        log.info("model %s active (%s)", recognizer.name, recognizer.bundle.path)
        self.model_changed.emit(recognizer)

    @Slot(object)
    def _failed(self, error: Exception) -> None:
        if self.sender() is not None and self._is_stale():
            return  # an older request's failure: the newer one decides what is shown
        message = str(error) if isinstance(error, (BundleError, ValueError, OSError)) else f"{type(error).__name__}: {error}"
        log.warning("model not loaded: %s", getattr(error, "formatted_traceback", message))
        self.load_failed.emit(message)

    def bundle_named(self, name: str) -> ModelBundle | None:
        return next((b for b in self.bundles if b.name == name or str(b.path) == name), None)
