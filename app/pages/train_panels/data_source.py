"""The Data panel: a source (folder, file, EMNIST download or the user's samples), its split,
and the Data tab that previews its samples. Reading and downloading run on workers."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.training_worker import describe_error
from app.widgets.elided_label import FixedLinesLabel
from app.widgets.sample_grid import SampleGrid
from app.workers import Task, TaskState, run_task
from lenet_core import download
from lenet_core.datasets import SplitInfo, load_dataset, open_source
from lenet_core.paths import user_data_dir

PREVIEW_SAMPLES = 64
SOURCES_HINT = "an EMNIST/MNIST folder, NIST's gzip.zip, a Kaggle CSV, a .mat file, or a folder of your images by class"
SOURCES_SHORT = "an IDX folder, gzip.zip, CSV, .mat, or folders of your images by class"


@dataclass(frozen=True)
class DataPreview:
    path: str
    splits: list[SplitInfo]
    split: str
    part: str
    count: int
    classes: tuple[str, ...]
    class_counts: np.ndarray
    images: np.ndarray  # a few dozen samples
    labels: np.ndarray
    notes: tuple[str, ...]


def read_preview(path: str, wanted_split: str | None) -> DataPreview:
    """List the splits of a source and load samples of one of them (the train part if any)."""
    source = open_source(path)
    splits = source.splits()
    if not splits:
        raise ValueError(f"{path}: no data found")
    names = [info.name for info in splits]
    trainable = [info for info in splits if "train" in info.parts]
    split = wanted_split if wanted_split in names else (trainable or splits)[0].name
    info = splits[names.index(split)]
    part = "train" if "train" in info.parts else next(iter(info.parts))
    data = load_dataset(path, split, part)
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(len(data), min(PREVIEW_SAMPLES, len(data)), replace=False))
    return DataPreview(path, splits, split, part, len(data), data.classes, data.class_counts(),
                       data.images[chosen].copy(), data.labels[chosen].copy(), data.notes)


def fetch_emnist(state: TaskState, url: str, target: Path, sha256: str | None) -> list[SplitInfo]:
    return download.fetch_dataset(url, target, expected_sha256=sha256, progress=state.report, cancel=state.cancel_event)


def emnist_download_target() -> Path:
    return user_data_dir() / "datasets" / "emnist" / download.EMNIST_ARCHIVE_NAME


def set_tone(label: QLabel, tone: str | None) -> None:
    """Colour a message label: red for an error, green for done, the usual text colour otherwise."""
    palette = label.palette()
    usual = QApplication.palette().color(QPalette.ColorRole.WindowText)
    colour = {"error": QColor(200, 40, 40), "ok": QColor(30, 130, 60)}.get(tone or "", usual)
    palette.setColor(QPalette.ColorRole.WindowText, colour)
    label.setPalette(palette)


class DataPreviewView(QWidget):
    """The Data tab: the classes of the chosen source and a grid of its samples."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.classes_label = QLabel()
        self.classes_label.setWordWrap(True)
        self.classes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_grid = SampleGrid(
            "No data yet. Choose a data source on the left, or download EMNIST from NIST "
            f"(535 MB). Sources: {SOURCES_HINT}."
        )
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.preview_grid)
        layout = QVBoxLayout(self)
        layout.addWidget(self.classes_label)
        layout.addWidget(scroll, 1)

    def show_preview(self, preview: DataPreview) -> None:
        captions = [preview.classes[label] for label in preview.labels]
        self.preview_grid.set_samples(preview.images, captions)
        counts = ", ".join(f"{c} {n:,}" for c, n in zip(preview.classes, preview.class_counts.tolist()))
        notes = f"<br><i>{len(preview.notes)} file(s) skipped: {preview.notes[0]}</i>" if preview.notes else ""
        self.classes_label.setText(
            f"<b>{len(preview.classes)} classes</b> in {preview.split}/{preview.part} "
            f"({preview.count:,} samples): {' '.join(preview.classes)}{notes}"
        )
        self.classes_label.setToolTip(f"Samples per class: {counts}")

    def clear(self) -> None:
        self.preview_grid.clear()
        self.classes_label.setText("")


class DataSourcePanel(QGroupBox):
    """Choose what to train on. `preview` is the source shown now (None until one reads)."""

    data_ready = Signal(object)  # DataPreview
    data_failed = Signal(str)
    download_finished = Signal(bool)  # True when the data set is ready to use
    busy_changed = Signal()  # reading or downloading started or ended

    def __init__(self, view: DataPreviewView, parent: QWidget | None = None):
        super().__init__("Data", parent)
        self.view = view
        self.preview: DataPreview | None = None
        self.download_url = download.EMNIST_URL
        self.download_sha256: str | None = None  # NIST publishes none; tests and mirrors may give one
        self.remembered_split: str | None = None
        self._preview_task: Task | None = None
        self._download_task: Task | None = None

        self.source_edit = QLineEdit()
        self.source_edit.setObjectName("trainSource")
        self.source_edit.setPlaceholderText("Folder, gzip.zip, CSV, .mat…")
        self.source_edit.setToolTip(f"The data to train on: {SOURCES_HINT}")
        self.source_edit.returnPressed.connect(self._on_source_edited)
        self.browse_button = QToolButton(text="Browse…")
        self.browse_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.browse_button)
        self.browse_folder_action = QAction("Folder (IDX files or images by class)…", self)
        self.browse_folder_action.triggered.connect(self.browse_folder)
        self.browse_file_action = QAction("File (gzip.zip, CSV, .mat)…", self)
        self.browse_file_action.triggered.connect(self.browse_file)
        menu.addAction(self.browse_folder_action)
        menu.addAction(self.browse_file_action)
        self.browse_button.setMenu(menu)
        self.samples_button = QToolButton(text="My samples")
        self.samples_button.setObjectName("trainMySamples")
        self.samples_button.setToolTip("Train on your own samples (added on the Draw, Photo and Samples pages)")
        self.samples_button.clicked.connect(self.use_my_samples)
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which split of the source to train on (its parts and sizes)")
        self.split_combo.activated.connect(self._on_split_picked)
        self.data_status = FixedLinesLabel("No data chosen.", lines=3)  # Start/Stop below stay put
        self.download_button = QPushButton("Download EMNIST (535 MB)…")
        self.download_button.setToolTip(f"From NIST: {download.EMNIST_URL}")
        self.download_button.clicked.connect(self.start_download)
        self.download_bar = QProgressBar()
        self.download_bar.setVisible(False)
        self.download_cancel = QPushButton("Cancel")
        self.download_cancel.setVisible(False)
        self.download_cancel.clicked.connect(self.cancel_download)
        self.download_status = QLabel()
        self.download_status.setWordWrap(True)
        self.download_status.setObjectName("downloadStatus")

        row = QHBoxLayout()
        row.addWidget(self.source_edit, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.samples_button)
        download_row = QHBoxLayout()
        download_row.addWidget(self.download_bar, 1)
        download_row.addWidget(self.download_cancel)
        self.main_layout = QVBoxLayout(self)
        self.main_layout.addLayout(row)
        self.main_layout.addWidget(self.split_combo)
        self.main_layout.addWidget(self.data_status)
        self.main_layout.addWidget(self.download_button)
        self.main_layout.addLayout(download_row)
        self.main_layout.addWidget(self.download_status)

    # --- state ----------------------------------------------------------------------------------

    def is_reading(self) -> bool:
        return self._preview_task is not None

    def is_downloading(self) -> bool:
        return self._download_task is not None

    def set_locked(self, locked: bool) -> None:
        """While a run trains, the source cannot change."""
        for widget in (self.source_edit, self.browse_button, self.split_combo, self.samples_button):
            widget.setEnabled(not locked)
        self.download_button.setEnabled(not locked and not self.is_downloading())

    def tasks(self) -> tuple[Task | None, ...]:
        return self._download_task, self._preview_task

    # --- choosing -------------------------------------------------------------------------------

    @Slot()
    def browse_folder(self) -> None:
        start = self.source_edit.text().strip() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Data folder", start)
        if path:
            self.load_source(path)

    @Slot()
    def browse_file(self) -> None:
        start = str(Path(self.source_edit.text().strip() or Path.home()).parent)
        path, _ = QFileDialog.getOpenFileName(self, "Data file", start, "Data sets (*.zip *.csv *.mat *.gz *ubyte);;All files (*)")
        if path:
            self.load_source(path)

    @Slot()
    def use_my_samples(self) -> None:
        from lenet_core import samples

        if not samples.total():
            self.data_status.setText("No samples of your own yet: add some on the Draw page (“Add to my samples”).")
            set_tone(self.data_status, "error")
            return
        self.load_source(str(samples.samples_dir()))

    @Slot()
    def _on_source_edited(self) -> None:
        self.load_source(self.source_edit.text().strip())

    @Slot(int)
    def _on_split_picked(self, index: int) -> None:
        if self.preview is not None and self.split_combo.itemData(index) != self.preview.split:
            self.load_source(self.preview.path, self.split_combo.itemData(index))

    def load_source(self, path: str, split: str | None = None) -> None:
        """List the source's splits and show samples of one, reading on a worker."""
        self.source_edit.setText(path)
        if self._download_task is None:
            self.download_status.clear()  # an old download message no longer applies
        self.data_status.setText("Reading…")
        set_tone(self.data_status, None)
        wanted = split or self.remembered_split
        self._preview_task = run_task(read_preview, path, wanted, on_result=self._on_preview, on_error=self._on_preview_error)
        self.busy_changed.emit()

    def _is_current(self) -> bool:
        """Whether the preview answering now is the one asked for last (older ones are ignored)."""
        return self.sender() is not None and self._preview_task is not None and self.sender() is self._preview_task.signals

    @Slot(object)
    def _on_preview(self, preview: DataPreview) -> None:
        if not self._is_current():
            return  # an older request answered late: another source was chosen since
        self._preview_task = None
        self.preview = preview
        self.split_combo.clear()
        for info in preview.splits:
            self.split_combo.addItem(info.describe(), info.name)
        self.split_combo.setCurrentIndex(self.split_combo.findData(preview.split))
        parts = next(info for info in preview.splits if info.name == preview.split).parts
        scored_by = "the test part scores the model" if "test" in parts and preview.part != "test" else (
            "no separate test part: the validation part scores the model")
        self.data_status.setText(f"{preview.split}/{preview.part}: {preview.count:,} samples, {len(preview.classes)} classes; {scored_by}.")
        self.view.show_preview(preview)
        self.remembered_split = preview.split
        self.busy_changed.emit()
        self.data_ready.emit(preview)

    @Slot(object)
    def _on_preview_error(self, error: BaseException) -> None:
        if not self._is_current():
            return
        self._preview_task = None
        self.preview = None
        self.split_combo.clear()
        self.view.clear()
        message = describe_error(error) if not isinstance(error, (ValueError, OSError)) else str(error)
        self.data_status.setText(message)
        set_tone(self.data_status, "error")
        self.busy_changed.emit()
        self.data_failed.emit(message)

    # --- download -------------------------------------------------------------------------------

    @Slot()
    def start_download(self) -> None:
        target = emnist_download_target()
        partial = download.part_path(target)
        if not target.exists():
            resumed = f" ({partial.stat().st_size / 1e6:,.0f} MB already here: it resumes)" if partial.exists() else ""
            answer = QMessageBox.question(
                self, "Download EMNIST",
                f"Download EMNIST (about 535 MB) from NIST to\n{target}{resumed}?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.download_bar.setRange(0, 0)
        self.download_bar.setVisible(True)
        self.download_cancel.setVisible(True)
        self.download_status.setText("Connecting…")
        set_tone(self.download_status, None)
        self._download_task = run_task(
            fetch_emnist, self.download_url, target, self.download_sha256, with_state=True,
            on_progress=self._on_download_progress, on_result=self._on_downloaded, on_error=self._on_download_error,
        )
        self.busy_changed.emit()

    @Slot()
    def cancel_download(self) -> None:
        if self._download_task is not None:
            self._download_task.cancel()
            self.download_status.setText("Cancelling…")

    @Slot(object)
    def _on_download_progress(self, progress: download.DownloadProgress) -> None:
        if progress.stage == "verifying":
            self.download_bar.setRange(0, 0)
            self.download_status.setText("Verifying the archive…")
            return
        speed = f" · {progress.bytes_per_second / 1e6:,.1f} MB/s" if progress.bytes_per_second else ""
        if progress.total:
            self.download_bar.setRange(0, 1000)
            self.download_bar.setValue(int(1000 * progress.received / progress.total))
            self.download_status.setText(f"{progress.received / 1e6:,.1f} of {progress.total / 1e6:,.1f} MB{speed}")
        else:
            self.download_status.setText(f"{progress.received / 1e6:,.1f} MB{speed}")

    @Slot(object)
    def _on_downloaded(self, splits: list[SplitInfo]) -> None:
        self._download_task = None
        self.load_source(str(emnist_download_target()))
        self._end_download(f"Downloaded and verified: {len(splits)} splits.", None)
        self.download_finished.emit(True)

    @Slot(object)
    def _on_download_error(self, error: BaseException) -> None:
        self._download_task = None
        if isinstance(error, download.OfflineError):
            host = urllib.parse.urlsplit(self.download_url).hostname or self.download_url
            text = f"Offline: cannot reach {host}. Use data you already have instead (Browse…): {SOURCES_SHORT}."
        elif isinstance(error, download.DownloadCancelled):
            text = "Download paused; Download again resumes it."
        elif isinstance(error, download.DownloadError):
            text = str(error)
        else:
            text = describe_error(error)
        self._end_download(text, "error" if not isinstance(error, download.DownloadCancelled) else None)
        self.download_status.setToolTip(str(error))
        self.download_finished.emit(False)

    def _end_download(self, text: str, tone: str | None) -> None:
        self.download_bar.setVisible(False)
        self.download_cancel.setVisible(False)
        self.download_status.setText(text)
        set_tone(self.download_status, tone)
        self.busy_changed.emit()
