"""The save row: name the result, save it into the user's models (on a worker: the LiteRT
export takes a moment) and make it the active model."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QVBoxLayout, QWidget

from app.pages.train_panels.data_source import set_tone
from app.training_worker import describe_error
from app.workers import Task, run_task
from lenet_core import bundle
from lenet_core.paths import user_models_dir
from lenet_core.training import TrainResult

log = logging.getLogger(__name__)

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$")
_RESERVED_ON_WINDOWS = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}


def model_name_problem(name: str) -> str | None:
    """Why `name` cannot be used for a saved model, or None when it can."""
    if not name:
        return "Give the model a name."
    if not _MODEL_NAME.match(name) or name.endswith((".", " ")) or name.split(".")[0].upper() in _RESERVED_ON_WINDOWS:
        return "Use letters, digits, spaces and . _ + - only (up to 64), starting with a letter or digit."
    if bundle.is_shipped_name(name):
        return f"“{name}” is a model shipped with LeNet Studio; choose another name."
    return None


def save_model(result: TrainResult, path: Path, name: str) -> Path:
    return result.save(path, name)


class SavePanel(QWidget):
    """Holds the result to save (`set_result`); `saved` carries the path once written."""

    saved = Signal(str)
    busy_changed = Signal()

    def __init__(self, main_window: QWidget | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.main_window = main_window
        self.result: TrainResult | None = None
        self.saved_path: Path | None = None
        self._save_task: Task | None = None
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("modelName")
        self.name_edit.setPlaceholderText("model name")
        self.name_edit.returnPressed.connect(self.save_result)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save_result)
        self.use_button = QPushButton("Use now")
        self.use_button.setToolTip("Make the saved model the active one on every page")
        self.use_button.clicked.connect(self.use_saved_model)
        self.save_status = QLabel()
        self.save_status.setObjectName("saveStatus")
        self.save_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Save as"))
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.save_button)
        row.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.save_status)

    def is_saving(self) -> bool:
        return self._save_task is not None

    def task(self) -> Task | None:
        return self._save_task

    def set_result(self, result: TrainResult | None, name: str = "") -> None:
        self.saved_path = None
        self.say("", None)
        if result is not None and not result.history:  # stopped before one epoch ended: a model of nothing
            self.result = None
            self.say("Stopped before the first epoch ended: nothing to save. Start again and let at least one epoch finish.", None)
            return
        self.result = result
        if result is not None:
            self.name_edit.setText(name)

    def set_locked(self, training: bool) -> None:
        has_result = self.result is not None and not training
        self.save_button.setEnabled(has_result and not self.is_saving())
        self.name_edit.setEnabled(has_result and not self.is_saving())
        self.use_button.setEnabled(self.saved_path is not None and not self.is_saving())

    @Slot()
    def save_result(self) -> None:
        if self.result is None or self._save_task is not None:
            return
        name = self.name_edit.text().strip()
        problem = model_name_problem(name)
        if problem:
            self.say(problem, "error")
            return
        path = user_models_dir() / f"{name}{bundle.SUFFIX}"
        if path.exists():
            answer = QMessageBox.question(self, "Replace model", f"You already have a model named “{name}”. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                self.say("Not saved: choose another name.", None)
                return
        self.say(f"Saving {name}… (exporting to LiteRT)", None)
        self._save_task = run_task(save_model, self.result, path, name, on_result=self._on_saved, on_error=self._on_save_error)
        self.busy_changed.emit()

    @Slot(object)
    def _on_saved(self, path: Path) -> None:
        self._save_task = None
        self.saved_path = Path(path)
        models_manager = getattr(self.main_window, "models", None)
        if models_manager is not None:
            models_manager.refresh()
        partial = " (marked as a partial run)" if self.result is not None and self.result.partial else ""
        self.say(f"Saved as {self.saved_path.stem}{partial}: it is in the model picker. “Use now” makes it active.", "ok")
        self._saved_note = f"Saved as {self.saved_path.stem}{partial}: it is in the model picker"
        self.busy_changed.emit()
        self.saved.emit(str(path))

    @Slot(object)
    def _on_save_error(self, error: BaseException) -> None:
        self._save_task = None
        log.error("saving failed:\n%s", getattr(error, "formatted_traceback", error))
        self.say(f"Not saved: {describe_error(error)}", "error")
        self.busy_changed.emit()

    @Slot()
    def use_saved_model(self) -> None:
        models_manager = getattr(self.main_window, "models", None)
        if self.saved_path is not None and models_manager is not None:
            if not getattr(self, "_following_models", False):
                models_manager.model_changed.connect(self._on_model_changed)
                self._following_models = True
            models_manager.activate(str(self.saved_path))

    @Slot(object)
    def _on_model_changed(self, recognizer) -> None:
        if self.saved_path is not None and Path(recognizer.bundle.path) == self.saved_path:
            self.say(f"{self._saved_note}, and it is the active model now.", "ok")

    def say(self, text: str, tone: str | None) -> None:
        self.save_status.setText(text)
        set_tone(self.save_status, tone)
