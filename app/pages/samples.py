"""The Samples page: the user's own samples per class (counts and thumbnails), delete, import
a folder, export a zip, and Adapt: fine-tune the active model on them (with the shipped EMNIST
replay set) on a worker with progress and Stop, show before/after, save the result as a new
user model ("emnist-balanced + mine") and make it active.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.pages.train_panels.data_source import set_tone
from app.pages.train_panels.save_panel import model_name_problem, save_model
from app.training_worker import TrainingOutcome, TrainingRun, describe_error
from app.widgets.sample_grid import SampleGrid
from app.workers import Task, run_task
from lenet_core import adapt, bundle, preprocess, samples
from lenet_core.paths import user_models_dir
from lenet_core.training import BatchProgress, TrainConfig, TrainingStopped

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 120
HELD_OUT = 0.2  # of each class's samples, to measure before/after on samples not trained on


@dataclass(frozen=True)
class Thumbnails:
    label: str
    paths: list[Path]
    images: np.ndarray  # what the network sees of each sample (28×28)


def read_thumbnails(label: str) -> Thumbnails:
    """Runs on a worker: every sample of a class through the same pipeline training uses."""
    from lenet_core.imageio import ImageReadError, read_image

    paths, images = [], []
    for path in samples.list_samples().get(label, []):
        try:
            result = preprocess.run(read_image(path), preprocess.PHOTO)
        except ImageReadError:
            continue
        paths.append(path)
        images.append(result.as_uint8() if not result.empty else np.zeros((28, 28), np.uint8))
    return Thumbnails(label, paths, np.stack(images) if images else np.zeros((0, 28, 28), np.uint8))


def adapted_name(base: bundle.ModelBundle) -> str:
    name = f"{base.name} + mine"
    return name if model_name_problem(name) is None else "my model + mine"


class SelectableGrid(SampleGrid):
    """A sample grid where a click selects one cell (to delete it)."""

    selected_changed = Signal(int)

    def __init__(self, empty_text: str, parent: QWidget | None = None):
        super().__init__(empty_text, parent)
        self.selected = -1

    def set_samples(self, images, captions, tooltips=None) -> None:
        self.selected = -1
        super().set_samples(images, captions, tooltips)

    def select(self, index: int) -> None:
        self.selected = index if 0 <= index < self.count() else -1
        self.update()
        self.selected_changed.emit(self.selected)

    def mousePressEvent(self, event) -> None:
        index = self.index_at(int(event.position().x()), int(event.position().y()))
        self.select(index if index is not None else -1)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.selected >= 0:
            painter = QPainter(self)
            painter.setPen(QPen(QColor(40, 120, 220), 2))
            painter.drawRect(self.cell_rect(self.selected).adjusted(1, 1, -1, -1) or QRect())
            painter.end()


class SamplesPage(QWidget):
    samples_changed = Signal()
    adapted = Signal(str)  # the new model's path, once saved and asked to become active
    adapt_failed = Signal(str)

    def __init__(self, window: QWidget | None = None):
        super().__init__(window)
        self.main_window = window
        self.run: TrainingRun | None = None
        self.result = None
        self.config_overrides: dict = {}  # TrainConfig fields without a control (tests)
        self._thumb_task: Task | None = None
        self._save_task: Task | None = None
        self._io_task: Task | None = None
        self.thumbnails: Thumbnails | None = None

        self.class_list = QListWidget()
        self.class_list.setObjectName("sampleClasses")
        self.class_list.setMaximumWidth(180)
        self.class_list.currentItemChanged.connect(self._on_class_picked)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.grid = SelectableGrid("No samples yet. Draw a character on the Draw page and press “Add to my samples” "
                                   "(Ctrl+Return), or right-click a character on the Photo page and choose “Correct…”.")
        self.grid.selected_changed.connect(self._update_controls)
        grid_scroll = QScrollArea()
        grid_scroll.setWidgetResizable(True)
        grid_scroll.setWidget(self.grid)
        self.delete_button = QPushButton("Delete sample")
        self.delete_button.setShortcut("Delete")
        self.delete_button.setToolTip("Delete the selected sample (Del)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.import_button = QPushButton("Import folder…")
        self.import_button.setToolTip("Copy images from a folder with one sub-folder per class (the folder name is the character)")
        self.import_button.clicked.connect(self.import_dialog)
        self.export_button = QPushButton("Export zip…")
        self.export_button.clicked.connect(self.export_dialog)
        self.message = QLabel()
        self.message.setObjectName("samplesMessage")
        self.message.setWordWrap(True)

        self.adapt_group = QGroupBox("Adapt the model to your handwriting")
        self.adapt_button = QPushButton("Adapt")
        self.adapt_button.setObjectName("adaptStart")
        self.adapt_button.clicked.connect(self.start_adapt)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_adapt)
        self.epochs_spin = QSpinBox(minimum=1, maximum=100, value=adapt.FINE_TUNE_EPOCHS)
        self.epochs_spin.setToolTip("Passes over your samples and the replay set")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.adapt_status = QLabel("Fine-tunes the active model on your samples, with a few EMNIST images of every "
                                   "class mixed in so the others are not forgotten. About a minute.")
        self.adapt_status.setObjectName("adaptStatus")
        self.adapt_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.adapt_button, 1)
        row.addWidget(QLabel("Epochs"))
        row.addWidget(self.epochs_spin)
        row.addWidget(self.stop_button)
        adapt_layout = QVBoxLayout(self.adapt_group)
        adapt_layout.addLayout(row)
        adapt_layout.addWidget(self.progress_bar)
        adapt_layout.addWidget(self.adapt_status)

        buttons = QHBoxLayout()
        for button in (self.delete_button, self.import_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.summary)
        right.addWidget(grid_scroll, 1)
        right.addLayout(buttons)
        right.addWidget(self.message)
        right.addWidget(self.adapt_group)
        layout = QHBoxLayout(self)
        layout.addWidget(self.class_list)
        layout.addLayout(right, 1)
        self.refresh()

    # --- the list -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the counts (cheap: file names only) and the shown class's thumbnails."""
        current = self.class_list.currentItem().data(Qt.ItemDataRole.UserRole) if self.class_list.currentItem() else None
        counts = samples.counts()
        self.class_list.blockSignals(True)
        self.class_list.clear()
        for label, count in counts.items():
            item = QListWidgetItem(f"{label}    {count}")
            item.setData(Qt.ItemDataRole.UserRole, label)
            self.class_list.addItem(item)
        self.class_list.blockSignals(False)
        total = sum(counts.values())
        self.summary.setText(f"<b>{total} sample{'s' if total != 1 else ''}</b> in {len(counts)} classes, in {samples.samples_dir()}"
                             if total else "No samples yet.")
        labels = list(counts)
        if labels:
            row = labels.index(current) if current in labels else 0
            self.class_list.setCurrentRow(row)
            self._load_thumbnails(labels[row])
        else:
            self.thumbnails = None
            self.grid.clear()
        self._update_controls()

    def counts(self) -> dict[str, int]:
        return samples.counts()

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_class_picked(self, item, _previous) -> None:
        if item is not None:
            self._load_thumbnails(item.data(Qt.ItemDataRole.UserRole))

    def _load_thumbnails(self, label: str) -> None:
        self._thumb_task = run_task(read_thumbnails, label, on_result=self._on_thumbnails, on_error=self._on_io_error)

    @Slot(object)
    def _on_thumbnails(self, thumbnails: Thumbnails) -> None:
        if self._thumb_task is None or self.sender() is not self._thumb_task.signals:
            return
        self._thumb_task = None
        self.thumbnails = thumbnails
        self.grid.set_samples(thumbnails.images, [thumbnails.label] * len(thumbnails.paths), [str(p.name) for p in thumbnails.paths])
        self._update_controls()
        self.samples_changed.emit()

    @Slot()
    def delete_selected(self) -> None:
        if self.thumbnails is None or self.grid.selected < 0:
            return
        path = self.thumbnails.paths[self.grid.selected]
        try:
            samples.delete_sample(path)
        except (samples.SampleError, OSError) as error:
            self._say(f"Not deleted: {error}", "error")
            return
        self._say(f"Deleted a sample of “{self.thumbnails.label}”.", None)
        self.refresh()

    @Slot()
    def import_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import samples: a folder with one sub-folder per class", str(Path.home()))
        if folder:
            self._say("Importing…", None)
            self._io_task = run_task(samples.import_folder, folder, on_result=self._on_imported, on_error=self._on_io_error)

    @Slot(object)
    def _on_imported(self, count: int) -> None:
        self._io_task = None
        self._say(f"Imported {count} sample{'s' if count != 1 else ''}.", "ok")
        self.refresh()

    @Slot()
    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export samples", str(Path.home() / "my-samples.zip"), "Zip archives (*.zip)")
        if path:
            self._io_task = run_task(samples.export_zip, path, on_result=self._on_exported, on_error=self._on_io_error)

    @Slot(object)
    def _on_exported(self, path: Path) -> None:
        self._io_task = None
        self._say(f"Exported to {path}.", "ok")

    @Slot(object)
    def _on_io_error(self, error: BaseException) -> None:
        self._io_task = None
        self._thumb_task = None
        text = str(error) if isinstance(error, (ValueError, OSError)) else describe_error(error)
        self._say(text, "error")

    # --- adapt ----------------------------------------------------------------------------------

    def is_adapting(self) -> bool:
        """From Adapt until the save's result has been handled here (the controls follow this)."""
        return self.run is not None and (self.run.is_running() or self._save_task is not None)

    def _worker_running(self) -> bool:
        """Whether a run or a save is still working (not merely its last signals on their way)."""
        saving = self._save_task is not None and not self._save_task.done.is_set()
        return (self.run is not None and self.run.is_running()) or saving

    def _base(self) -> bundle.ModelBundle | None:
        """The model to fine-tune: the active one, or the base it was itself adapted from."""
        models = getattr(self.main_window, "models", None)
        if models is None or models.recognizer is None:
            return None
        active = models.recognizer.bundle
        base_name = active.meta.get("base", {}).get("name")
        if base_name:
            with_base = models.bundle_named(base_name)
            if with_base is not None:
                return with_base
        return active

    @Slot()
    def start_adapt(self) -> None:
        if self.is_adapting():
            return
        base = self._base()
        if base is None:
            self._say_adapt("No model is active yet.", "error")
            return
        counts = samples.counts()
        if sum(counts.values()) < 2:
            self._say_adapt("Add a few samples first (a handful per character you want it to read better).", "error")
            return
        missing = [label for label in counts if adapt.class_index(label, base.classes) is None]
        if missing:
            self._say_adapt(f"{base.name} has no class {', '.join(repr(m) for m in missing)}: delete those samples "
                            "or choose a model that reads them.", "error")
            return
        config = TrainConfig(data=str(samples.samples_dir()), base=str(base.path), epochs=self.epochs_spin.value(),
                             batch_size=adapt.FINE_TUNE_BATCH, validation_fraction=HELD_OUT, augment=True,
                             **self.config_overrides)
        self.result = None
        self.base = base
        self.progress_bar.setRange(0, 0)
        self._say_adapt(f"Adapting {base.name} to your {sum(counts.values())} samples: loading TensorFlow…", None)
        if self.run is not None:
            self.run.deleteLater()
        self.run = TrainingRun(config, 0.1, self)
        self.run.batch.connect(self._on_batch)
        self.run.finished.connect(self._on_finished)
        self.run.failed.connect(self._on_failed)
        self.run.ended.connect(self._update_controls)
        self.run.start()
        self._update_controls()

    @Slot()
    def stop_adapt(self) -> None:
        if self.run is not None and self.run.is_running() and not self.run.stop_requested:
            self.run.stop()
            self._say_adapt("Stopping after this batch…", None)
            self._update_controls()

    @Slot(object)
    def _on_batch(self, progress: BatchProgress) -> None:
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * progress.fraction))
        self._say_adapt(f"Epoch {progress.epoch}/{progress.epochs} · accuracy {progress.accuracy:.1%}", None)

    @Slot(object)
    def _on_finished(self, outcome: TrainingOutcome) -> None:
        result = outcome.result
        if result.stopped:
            self.progress_bar.setValue(0)
            self._say_adapt("Stopped: nothing was saved; the active model is unchanged.", None)
            self.adapt_failed.emit("stopped")
            self._update_controls()
            return
        self.result = result
        name = adapted_name(self.base)
        self._say_adapt(f"Saving {name}…", None)
        self._save_task = run_task(save_model, result, user_models_dir() / f"{name}{bundle.SUFFIX}", name,
                                   on_result=self._on_saved, on_error=self._on_save_error)
        self._update_controls()

    def before_after_text(self) -> str:
        a = self.result.adaptation

        def pair(before, after):
            return "–" if before is None else f"{before:.0%} → <b>{after:.0%}</b>"

        return (f"Your held-out samples ({a.own_samples}): {pair(a.own_before, a.own_after)} · "
                f"EMNIST check ({a.replay_samples}): {pair(a.replay_before, a.replay_after)} · {self.result.seconds:.0f} s")

    @Slot(object)
    def _on_saved(self, path: Path) -> None:
        self._save_task = None
        self.progress_bar.setValue(1000)
        models = getattr(self.main_window, "models", None)
        if models is not None:
            models.refresh()
            models.activate(str(path))
        self._say_adapt(f"{self.before_after_text()}<br>Saved as <b>{Path(path).stem}</b> and made active.", "ok")
        self._update_controls()
        self.adapted.emit(str(path))

    @Slot(object)
    def _on_save_error(self, error: BaseException) -> None:
        self._save_task = None
        self._say_adapt(f"Not saved: {describe_error(error)}", "error")
        self._update_controls()
        self.adapt_failed.emit(str(error))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.progress_bar.setRange(0, 1000)
        stopped = isinstance(self.run.error, TrainingStopped)
        self._say_adapt("Stopped before training began: nothing was saved." if stopped else f"Adapting failed: {message}",
                        None if stopped else "error")
        self.adapt_failed.emit(message)
        self._update_controls()

    # --- state ----------------------------------------------------------------------------------

    @Slot()
    def _update_controls(self) -> None:
        adapting = self.is_adapting()
        self.adapt_button.setEnabled(not adapting)
        self.stop_button.setEnabled(adapting and self.run is not None and self.run.is_running() and not self.run.stop_requested)
        self.delete_button.setEnabled(self.grid.selected >= 0 and not adapting)
        self.import_button.setEnabled(not adapting)
        self.epochs_spin.setEnabled(not adapting)

    def _say(self, text: str, tone: str | None) -> None:
        self.message.setText(text)
        set_tone(self.message, tone)

    def _say_adapt(self, text: str, tone: str | None) -> None:
        self.adapt_status.setText(text)
        set_tone(self.adapt_status, tone)

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)

    # --- closing --------------------------------------------------------------------------------

    def confirm_close(self) -> bool:
        """Asked by the window before it closes; only while the worker really runs (a run or save
        that has returned, its last signals still on their way, is not asked about)."""
        if not self._worker_running():
            return True
        answer = QMessageBox.question(self, "Adapting", "The model is being adapted to your samples. Stop and quit?")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.stop_adapt()
        return True

    def shutdown(self) -> None:
        if self.run is not None:
            self.run.stop()
            self.run.wait(CLOSE_WAIT_S)
        for task in (self._save_task, self._thumb_task, self._io_task):
            if task is not None:
                task.done.wait(CLOSE_WAIT_S)
