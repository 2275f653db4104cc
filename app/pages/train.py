"""The Train page: choose data (or download EMNIST), set up a network, train it on a worker
with live curves, read the evaluation, and save the result into the model picker.

Everything slow (reading a data set, downloading, training, saving) runs through
`app.workers` / `app.training_worker`; this page only reacts to their signals. pyqtgraph is
imported when the page is first shown, so launching the app does not pay for it.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.settings import value
from app.training_worker import TrainingOutcome, TrainingRun, describe_error
from app.widgets.sample_grid import SampleGrid
from app.workers import Task, TaskState, run_task
from lenet_core import bundle, download, models
from lenet_core.datasets import SplitInfo, load_dataset, open_source
from lenet_core.paths import user_data_dir, user_models_dir
from lenet_core.training import BatchProgress, EpochResult, StartInfo, TrainConfig, TrainingStopped, TrainResult

log = logging.getLogger(__name__)

PREVIEW_SAMPLES = 64
GALLERY_SAMPLES = 60
CLOSE_WAIT_S = 120  # a stop takes one batch; evaluating what was trained can take a while longer
SOURCES_HINT = "an EMNIST/MNIST folder, NIST's gzip.zip, a Kaggle CSV, a .mat file, or a folder of your images by class"
SOURCES_SHORT = "an IDX folder, gzip.zip, CSV, .mat, or folders of your images by class"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$")
_RESERVED_ON_WINDOWS = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}


# --- work done on pool threads (plain functions: no widgets) --------------------------------


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


def save_model(result: TrainResult, path: Path, name: str) -> Path:
    return result.save(path, name)


def fetch_emnist(state: TaskState, url: str, target: Path, sha256: str | None) -> list[SplitInfo]:
    return download.fetch_dataset(url, target, expected_sha256=sha256, progress=state.report, cancel=state.cancel_event)


def model_name_problem(name: str) -> str | None:
    """Why `name` cannot be used for a saved model, or None when it can."""
    if not name:
        return "Give the model a name."
    if not _MODEL_NAME.match(name) or name.endswith((".", " ")) or name.split(".")[0].upper() in _RESERVED_ON_WINDOWS:
        return "Use letters, digits, spaces and . _ + - only (up to 64), starting with a letter or digit."
    if bundle.is_shipped_name(name):
        return f"“{name}” is a model shipped with LeNet Studio; choose another name."
    return None


def emnist_download_target() -> Path:
    return user_data_dir() / "datasets" / "emnist" / download.EMNIST_ARCHIVE_NAME


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "–"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


# --- the page ---------------------------------------------------------------------------------


class TrainPage(QWidget):
    data_ready = Signal(object)  # DataPreview, once shown
    data_failed = Signal(str)
    run_finished = Signal(object)  # TrainingOutcome, once shown
    run_failed = Signal(str)
    model_saved = Signal(str)  # the path
    download_finished = Signal(bool)  # True when the data set is ready to use

    def __init__(self, window: QWidget | None = None):
        super().__init__(window)
        self.main_window = window  # the pages' parent changes when tabbed; the window stays
        self.settings = getattr(window, "settings", None)
        self.run: TrainingRun | None = None
        self.result: TrainResult | None = None
        self.last_outcome: TrainingOutcome | None = None  # the last run's result and stop figures
        self.preview: DataPreview | None = None
        self.saved_path: Path | None = None
        self.download_url = download.EMNIST_URL
        self.download_sha256: str | None = None  # NIST publishes none; tests and mirrors may give one
        self.config_overrides: dict = {}  # TrainConfig fields without a control (tests, benchmarks)
        self.report_interval_s = 0.1  # batch reports from the worker: at most ten a second
        self._preview_task: Task | None = None
        self._save_task: Task | None = None
        self._download_task: Task | None = None
        self._remembered_split: str | None = None
        self._run_active = False
        self._panels_built = False
        self._shut_down = False

        self._build_data_group()
        self._build_model_group()
        self._build_run_controls()
        side = QVBoxLayout()
        side.addWidget(self.data_group)
        side.addWidget(self.model_group)
        side.addLayout(self.run_controls)
        side.addWidget(self.message)
        side.addStretch(1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_scroll = QScrollArea()  # the controls scroll rather than set the window's least height
        side_scroll.setWidget(side_widget)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side_scroll.setFixedWidth(345)

        self.tabs = QTabWidget()
        self.data_tab, self.run_tab, self.result_tab = QWidget(), QWidget(), QWidget()
        self.tabs.addTab(self.data_tab, "Data")
        self.tabs.addTab(self.run_tab, "Training")
        self.tabs.addTab(self.result_tab, "Result")
        self._build_data_tab()
        layout = QHBoxLayout(self)
        layout.addWidget(side_scroll)
        layout.addWidget(self.tabs, 1)
        self._restore_settings()
        self._update_controls()

    # --- building -------------------------------------------------------------------------------

    def _build_data_group(self) -> None:
        self.data_group = QGroupBox("Data")
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
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which split of the source to train on (its parts and sizes)")
        self.split_combo.activated.connect(self._on_split_picked)
        self.data_status = QLabel("No data chosen.")
        self.data_status.setWordWrap(True)
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
        download_row = QHBoxLayout()
        download_row.addWidget(self.download_bar, 1)
        download_row.addWidget(self.download_cancel)
        layout = QVBoxLayout(self.data_group)
        layout.addLayout(row)
        layout.addWidget(self.split_combo)
        layout.addWidget(self.data_status)
        layout.addWidget(self.download_button)
        layout.addLayout(download_row)
        layout.addWidget(self.download_status)

    def _build_model_group(self) -> None:
        self.model_group = QGroupBox("Model")
        self.architecture_combo = QComboBox()
        for name, architecture in models.ARCHITECTURES.items():
            self.architecture_combo.addItem(name, name)
            self.architecture_combo.setItemData(self.architecture_combo.count() - 1, architecture.summary, Qt.ItemDataRole.ToolTipRole)
        self.architecture_combo.currentIndexChanged.connect(self._on_architecture_changed)
        self.epochs_spin = QSpinBox(minimum=1, maximum=500, value=10)
        self.batch_spin = QSpinBox(minimum=1, maximum=8192, value=128)
        self.lr_spin = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=1.0, singleStep=0.0001)
        self.lr_spin.setToolTip("Adam's learning rate at the start (cosine decay to 2% by the end)")
        self.validation_spin = QSpinBox(minimum=0, maximum=50, value=10, suffix=" %")
        self.validation_spin.setToolTip("Share of each class held out to validate after every epoch")
        self.augment_check = QCheckBox("on")
        self.augment_check.setToolTip("Random small shifts, rotations, scaling and stroke width changes while training")
        self.augment_check.setChecked(True)
        self.augment_strength_spin = QDoubleSpinBox(decimals=2, minimum=0.1, maximum=3.0, singleStep=0.1, value=1.0, prefix="× ")
        self.augment_strength_spin.setObjectName("trainAugmentStrength")
        self.augment_strength_spin.setToolTip("Scales every augmentation range (1 = ±10° rotation, ±0.25 shear, "
                                              "88–106 % size, ±1.5 px shift, stroke width ±60 %)")
        self.augment_check.toggled.connect(self.augment_strength_spin.setEnabled)
        augment_row = QHBoxLayout()
        augment_row.addWidget(self.augment_check)
        augment_row.addWidget(self.augment_strength_spin, 1)
        self.dropout_spin = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05)
        self.dropout_spin.setObjectName("trainDropout")
        self.dropout_spin.setToolTip("Share of the dense layers' units dropped at random while training (the architecture's default when chosen)")
        self.smoothing_spin = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05)
        self.smoothing_spin.setObjectName("trainLabelSmoothing")
        self.smoothing_spin.setToolTip("Label smoothing: aim for this much less than 100 % certainty (0.1 trained the shipped models)")
        self.max_samples_spin = QSpinBox(minimum=0, maximum=10_000_000, singleStep=1000)
        self.max_samples_spin.setSpecialValueText("all")
        self.max_samples_spin.setToolTip("Train on a random subset, for a quick run")
        self.device_label = QLabel("probing…")
        self.device_label.setObjectName("trainDevice")
        self.device_label.setWordWrap(True)
        self.device_label.setToolTip("Where training runs (recognition always runs on LiteRT)")
        form = QFormLayout(self.model_group)
        form.addRow("Architecture", self.architecture_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Validation", self.validation_spin)
        form.addRow("Augmentation", augment_row)
        form.addRow("Dropout", self.dropout_spin)
        form.addRow("Label smoothing", self.smoothing_spin)
        form.addRow("Samples", self.max_samples_spin)
        form.addRow("Device", self.device_label)
        self.settings_widgets = (self.architecture_combo, self.epochs_spin, self.batch_spin, self.lr_spin,
                                 self.validation_spin, self.augment_check, self.augment_strength_spin, self.dropout_spin,
                                 self.smoothing_spin, self.max_samples_spin)

    def _build_run_controls(self) -> None:
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("trainStart")
        self.start_button.clicked.connect(self.start_training)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("trainStop")
        self.stop_button.setToolTip("Stop after the current batch; what was trained can still be saved")
        self.stop_button.clicked.connect(self.stop_training)
        self.run_controls = QHBoxLayout()
        self.run_controls.addWidget(self.start_button, 1)
        self.run_controls.addWidget(self.stop_button)
        self.message = QLabel()
        self.message.setObjectName("trainMessage")
        self.message.setWordWrap(True)

    def _build_data_tab(self) -> None:
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
        layout = QVBoxLayout(self.data_tab)
        layout.addWidget(self.classes_label)
        layout.addWidget(scroll, 1)

    def _build_panels(self) -> None:
        """The Training and Result tabs: built on first need, since they import pyqtgraph."""
        if self._panels_built:
            return
        self._panels_built = True
        from app.widgets.confusion_view import ConfusionMatrixView
        from app.widgets.training_curves import TrainingCurves

        self.progress_label = QLabel("Not started.")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)
        self.curves = TrainingCurves()
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setObjectName("trainLog")
        self.log_view.setMaximumHeight(130)
        layout = QVBoxLayout(self.run_tab)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.log_view)

        self.summary_label = QLabel("No result yet: train a model first.")
        self.summary_label.setObjectName("trainSummary")
        self.summary_label.setWordWrap(True)
        self.confusion = ConfusionMatrixView()
        self.worst_list = QListWidget()
        self.worst_list.setMaximumWidth(230)
        self.gallery = SampleGrid("No misclassified samples.")
        gallery_scroll = QScrollArea()
        gallery_scroll.setWidgetResizable(True)
        gallery_scroll.setWidget(self.gallery)
        gallery_scroll.setMinimumHeight(70)
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

        side = QVBoxLayout()
        side.addWidget(QLabel("Most confused (true → predicted):"))
        side.addWidget(self.worst_list, 1)
        middle = QHBoxLayout()
        middle.addWidget(self.confusion, 1)
        middle.addLayout(side)
        save_row = QHBoxLayout()
        save_row.addWidget(QLabel("Save as"))
        save_row.addWidget(self.name_edit, 1)
        save_row.addWidget(self.save_button)
        save_row.addWidget(self.use_button)
        result_layout = QVBoxLayout(self.result_tab)
        result_layout.addWidget(self.summary_label)
        result_layout.addLayout(middle, 3)
        result_layout.addWidget(QLabel("Misclassified test samples (true → predicted):"))
        result_layout.addWidget(gallery_scroll, 2)
        result_layout.addLayout(save_row)
        result_layout.addWidget(self.save_status)
        self._update_controls()

    def showEvent(self, event) -> None:
        self._build_panels()
        if self.preview is None and self._preview_task is None and self.source_edit.text().strip():
            self.load_source(self.source_edit.text().strip())
        super().showEvent(event)

    # --- settings -------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        settings = self.settings
        if settings is None:
            self._on_architecture_changed()
            return
        architecture = value(settings, "train/architecture", models.DEFAULT_ARCHITECTURE, str)
        index = self.architecture_combo.findData(architecture)
        self.architecture_combo.setCurrentIndex(max(index, 0))
        self._on_architecture_changed()
        self.epochs_spin.setValue(value(settings, "train/epochs", self.epochs_spin.value(), int))
        self.batch_spin.setValue(value(settings, "train/batch_size", self.batch_spin.value(), int))
        self.lr_spin.setValue(value(settings, "train/learning_rate", self.lr_spin.value(), float))
        self.validation_spin.setValue(value(settings, "train/validation_percent", self.validation_spin.value(), int))
        self.augment_check.setChecked(value(settings, "train/augment", True, bool))
        self.augment_strength_spin.setValue(value(settings, "train/augment_strength", 1.0, float))
        self.dropout_spin.setValue(value(settings, "train/dropout", self.dropout_spin.value(), float))
        self.smoothing_spin.setValue(value(settings, "train/label_smoothing", 0.0, float))
        self.max_samples_spin.setValue(value(settings, "train/max_samples", 0, int))
        self._remembered_split = value(settings, "train/split", "", str) or None
        self.source_edit.setText(value(settings, "train/source", "", str))

    def remember_settings(self) -> None:
        settings = self.settings
        if settings is None:
            return
        settings.setValue("train/source", self.source_edit.text().strip())
        if self.split_combo.currentData():
            settings.setValue("train/split", self.split_combo.currentData())
        settings.setValue("train/architecture", self.architecture_combo.currentData())
        settings.setValue("train/epochs", self.epochs_spin.value())
        settings.setValue("train/batch_size", self.batch_spin.value())
        settings.setValue("train/learning_rate", self.lr_spin.value())
        settings.setValue("train/validation_percent", self.validation_spin.value())
        settings.setValue("train/augment", self.augment_check.isChecked())
        settings.setValue("train/augment_strength", self.augment_strength_spin.value())
        settings.setValue("train/dropout", self.dropout_spin.value())
        settings.setValue("train/label_smoothing", self.smoothing_spin.value())
        settings.setValue("train/max_samples", self.max_samples_spin.value())

    @Slot()
    def _on_architecture_changed(self) -> None:
        architecture = models.ARCHITECTURES[self.architecture_combo.currentData()]
        self.lr_spin.setValue(architecture.learning_rate)
        self.dropout_spin.setValue(architecture.dropout)
        self.architecture_combo.setToolTip(architecture.summary)

    def set_training_device(self, text: str) -> None:
        """Called by the window once it has probed the device (without importing TensorFlow)."""
        self.device_label.setText(text)

    # --- data -----------------------------------------------------------------------------------

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
        self._set_label_colour(self.data_status, None)
        wanted = split or self._remembered_split
        self._preview_task = run_task(read_preview, path, wanted, on_result=self._on_preview, on_error=self._on_preview_error)
        self._update_controls()

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
        captions = [preview.classes[label] for label in preview.labels]
        self.preview_grid.set_samples(preview.images, captions)
        counts = ", ".join(f"{c} {n:,}" for c, n in zip(preview.classes, preview.class_counts.tolist()))
        notes = f"<br><i>{len(preview.notes)} file(s) skipped: {preview.notes[0]}</i>" if preview.notes else ""
        self.classes_label.setText(
            f"<b>{len(preview.classes)} classes</b> in {preview.split}/{preview.part} "
            f"({preview.count:,} samples): {' '.join(preview.classes)}{notes}"
        )
        self.classes_label.setToolTip(f"Samples per class: {counts}")
        self._remembered_split = preview.split
        self.remember_settings()
        if not self.is_training():
            self.tabs.setCurrentWidget(self.data_tab)
        self._update_controls()
        self.data_ready.emit(preview)

    @Slot(object)
    def _on_preview_error(self, error: BaseException) -> None:
        if not self._is_current():
            return
        self._preview_task = None
        self.preview = None
        self.split_combo.clear()
        self.preview_grid.clear()
        self.classes_label.setText("")
        message = describe_error(error) if not isinstance(error, (ValueError, OSError)) else str(error)
        self.data_status.setText(message)
        self._set_label_colour(self.data_status, "error")
        self._update_controls()
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
        self._set_label_colour(self.download_status, None)
        self._download_task = run_task(
            fetch_emnist, self.download_url, target, self.download_sha256, with_state=True,
            on_progress=self._on_download_progress, on_result=self._on_downloaded, on_error=self._on_download_error,
        )
        self._update_controls()

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
        self._set_label_colour(self.download_status, tone)
        self._update_controls()

    # --- training -------------------------------------------------------------------------------

    def is_training(self) -> bool:
        """From Start until the run's last signal has been handled here."""
        return self._run_active

    def config(self) -> TrainConfig:
        """The run the controls describe."""
        settings = dict(
            data=self.preview.path if self.preview else self.source_edit.text().strip(),
            split=self.preview.split if self.preview else None,
            architecture=self.architecture_combo.currentData(),
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            learning_rate=self.lr_spin.value(),
            validation_fraction=self.validation_spin.value() / 100,
            augment=self.augment_check.isChecked(),
            augment_strength=self.augment_strength_spin.value(),
            dropout=self.dropout_spin.value(),
            label_smoothing=self.smoothing_spin.value(),
            max_samples=self.max_samples_spin.value() or None,
        )
        settings.update(self.config_overrides)
        return TrainConfig(**settings)

    @Slot()
    def start_training(self) -> None:
        if self.is_training():
            return
        if self.preview is None:
            self._say("Choose a data set first (its samples appear on the Data tab).", "error")
            return
        self._build_panels()
        self.remember_settings()
        config = self.config()
        self.result = None
        self.saved_path = None
        self.curves.clear()
        self.curves.set_epochs(config.epochs)
        self.curves.show_validation(config.validation_fraction > 0)
        self.log_view.clear()
        self.progress_bar.setRange(0, 0)  # busy until the first batch: loading data and TensorFlow
        self.progress_label.setText("Starting: loading the data and TensorFlow…")
        self._show_result(None)
        self._say("", None)
        if self.run is not None:
            self.run.deleteLater()
        self.run = TrainingRun(config, self.report_interval_s, self)
        self.run.started.connect(self._on_started)
        self.run.batch.connect(self._on_batch)
        self.run.epoch.connect(self._on_epoch)
        self.run.log.connect(self._append_log)
        self.run.finished.connect(self._on_finished)
        self.run.failed.connect(self._on_failed)
        self.run.ended.connect(self._on_ended)
        self._run_active = True
        self._append_log(f"data: {config.data} ({config.split})")
        self.run.start()
        self.tabs.setCurrentWidget(self.run_tab)
        self._update_controls()

    @Slot()
    def stop_training(self) -> None:
        if self.is_training() and not self.run.stop_requested:
            self.run.stop()
            self.progress_label.setText(self.progress_label.text() + " — stopping after this batch…")
            self._append_log("stop requested")
            self._update_controls()

    @Slot(object)
    def _on_started(self, info: StartInfo) -> None:
        self.device_label.setText(info.device)
        self.progress_bar.setRange(0, 1000)
        self.progress_label.setText(
            f"{info.architecture} ({info.parameters:,} parameters) on {info.device}: "
            f"{info.train_samples:,} train / {info.validation_samples:,} validation samples, {info.steps_per_epoch} batches per epoch"
        )

    @Slot(object)
    def _on_batch(self, progress: BatchProgress) -> None:
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * progress.fraction))
        stopping = " — stopping after this batch…" if self.run is not None and self.run.stop_requested else ""
        self.progress_label.setText(
            f"Epoch {progress.epoch}/{progress.epochs} · batch {progress.batch}/{progress.steps} · "
            f"loss {progress.loss:.3f} · accuracy {progress.accuracy:.1%} · {progress.samples_per_second:,.0f} samples/s · "
            f"ETA {_duration(progress.eta_s)}{stopping}"
        )
        self.curves.add_batch(progress)

    @Slot(object)
    def _on_epoch(self, result: EpochResult) -> None:
        self.curves.add_epoch(result)
        validation = (f" · validation loss {result.val_loss:.4f}, accuracy {result.val_accuracy:.2%}"
                      if np.isfinite(result.val_loss) else "")
        self._append_log(f"epoch {result.epoch}: loss {result.loss:.4f}, accuracy {result.accuracy:.2%}{validation} "
                         f"({result.seconds:.1f} s, lr {result.learning_rate:.2g})")

    @Slot(str)
    def _append_log(self, message: str) -> None:
        if self._panels_built:
            self.log_view.appendPlainText(message)

    @Slot(object)
    def _on_finished(self, outcome: TrainingOutcome) -> None:
        result = outcome.result
        self.result, self.last_outcome = result, outcome
        self.curves.redraw()
        self.progress_bar.setValue(self.progress_bar.maximum() if not result.stopped else self.progress_bar.value())
        if result.stopped:
            latency = f", {outcome.stop_latency_s * 1000:.0f} ms after the request" if outcome.stop_latency_s is not None else ""
            self.progress_label.setText(
                f"Stopped after {len(result.history)} of {result.config.epochs} epochs "
                f"({outcome.batches_after_stop} batch(es) finished after Stop{latency})."
            )
        else:
            self.progress_label.setText(f"Finished {len(result.history)} epochs in {_duration(result.seconds)} on {result.device}.")
        self._show_result(result)
        self.name_edit.setText(self._default_name(result))
        self.tabs.setCurrentWidget(self.result_tab)
        if self.sender() is self.run:
            # The result is the run's last word (its progress signals were queued before it): the
            # page is ready for Save and a new Start now, not when the thread's end is heard.
            self._run_active = False
        self._update_controls()
        self.run_finished.emit(outcome)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.progress_bar.setRange(0, 1000)
        if isinstance(self.run.error, TrainingStopped):  # Stop pressed before the first batch
            self.progress_label.setText(f"Stopped before training began ({message}).")
            self._append_log(message)
            self._say("Stopped before the first batch: nothing to evaluate or save.", None)
            self.run_failed.emit(message)
            return
        self.progress_label.setText(f"Training failed: {message}")
        self._append_log(f"failed: {message}")
        self._say(f"Training failed: {message}", "error")
        self.run_failed.emit(message)

    @Slot()
    def _on_ended(self) -> None:
        if self.sender() is self.run:
            self._run_active = False
        self._update_controls()

    # --- result ---------------------------------------------------------------------------------

    def _show_result(self, result: TrainResult | None) -> None:
        self.worst_list.clear()
        self.save_status.setText("")
        if result is None:
            self.summary_label.setText("No result yet: train a model first.")
            self.confusion.clear()
            self.gallery.clear()
            self._update_controls()
            return
        partial = (f"<b>Partial run</b>: stopped after {len(result.history)} of {result.config.epochs} epochs. "
                   if result.partial else "")
        evaluation = result.evaluation
        if evaluation is None:
            self.summary_label.setText(f"{partial}Stopped before the first epoch ended: nothing to evaluate yet.")
            self.confusion.clear()
            self.gallery.clear()
        else:
            self.summary_label.setText(
                f"{partial}Test accuracy <b>{evaluation.accuracy:.2%}</b> · weighted F1 <b>{evaluation.weighted_f1:.4f}</b> · "
                f"{evaluation.samples:,} test samples · {len(result.classes)} classes · {result.config.architecture}, "
                f"{len(result.history)} epochs on {result.device}"
            )
            self.confusion.set_matrix(evaluation.confusion, evaluation.classes)
            for pair in evaluation.worst:
                self.worst_list.addItem(f"{pair.true} → {pair.predicted}: {pair.count} ({pair.rate:.1%} of {pair.true})")
            wrong = evaluation.misclassified[:GALLERY_SAMPLES]
            classes = evaluation.classes
            true_labels, predicted = result.test.labels[wrong], evaluation.predictions[wrong]
            self.gallery.set_samples(
                result.test.images[wrong],
                [f"{classes[t]}→{classes[p]}" for t, p in zip(true_labels, predicted)],
                [f"test sample {i}: true {classes[t]}, predicted {classes[p]}" for i, t, p in zip(wrong, true_labels, predicted)],
            )
        self._update_controls()

    def _default_name(self, result: TrainResult) -> str:
        base = f"{result.config.split or Path(result.config.data).stem}-{result.config.architecture}"
        return base + ("-partial" if result.partial else "")

    @Slot()
    def save_result(self) -> None:
        if self.result is None or self._save_task is not None:
            return
        name = self.name_edit.text().strip()
        problem = model_name_problem(name)
        if problem:
            self._say_saved(problem, "error")
            return
        path = user_models_dir() / f"{name}{bundle.SUFFIX}"
        if path.exists():
            answer = QMessageBox.question(self, "Replace model", f"You already have a model named “{name}”. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                self._say_saved("Not saved: choose another name.", None)
                return
        self._say_saved(f"Saving {name}… (exporting to LiteRT)", None)
        self._save_task = run_task(save_model, self.result, path, name, on_result=self._on_saved, on_error=self._on_save_error)
        self._update_controls()

    @Slot(object)
    def _on_saved(self, path: Path) -> None:
        self._save_task = None
        self.saved_path = Path(path)
        models_manager = getattr(self.main_window, "models", None)
        if models_manager is not None:
            models_manager.refresh()
        partial = " (marked as a partial run)" if self.result is not None and self.result.partial else ""
        self._say_saved(f"Saved as {self.saved_path.stem}{partial}: it is in the model picker. “Use now” makes it active.", "ok")
        self._update_controls()
        self.model_saved.emit(str(path))

    @Slot(object)
    def _on_save_error(self, error: BaseException) -> None:
        self._save_task = None
        log.error("saving failed:\n%s", getattr(error, "formatted_traceback", error))
        self._say_saved(f"Not saved: {describe_error(error)}", "error")
        self._update_controls()

    @Slot()
    def use_saved_model(self) -> None:
        models_manager = getattr(self.main_window, "models", None)
        if self.saved_path is not None and models_manager is not None:
            models_manager.activate(str(self.saved_path))

    # --- state of the controls and messages -------------------------------------------------------

    def _update_controls(self) -> None:
        training = self.is_training()
        downloading = self._download_task is not None
        for widget in (*self.settings_widgets, self.source_edit, self.browse_button, self.split_combo):
            widget.setEnabled(not training)
        self.augment_strength_spin.setEnabled(not training and self.augment_check.isChecked())
        self.download_button.setEnabled(not training and not downloading)
        self.start_button.setEnabled(not training and self.preview is not None and self._preview_task is None)
        self.stop_button.setEnabled(training and not self.run.stop_requested)
        if self._panels_built:
            saving = self._save_task is not None
            has_result = self.result is not None and not training
            self.save_button.setEnabled(has_result and not saving)
            self.name_edit.setEnabled(has_result and not saving)
            self.use_button.setEnabled(self.saved_path is not None and not saving)

    def _say(self, text: str, tone: str | None) -> None:
        self.message.setText(text)
        self._set_label_colour(self.message, tone)

    def _say_saved(self, text: str, tone: str | None) -> None:
        self.save_status.setText(text)
        self._set_label_colour(self.save_status, tone)

    def _set_label_colour(self, label: QLabel, tone: str | None) -> None:
        palette = label.palette()
        colour = {"error": QColor(200, 40, 40), "ok": QColor(30, 130, 60)}.get(tone or "", self.palette().color(QPalette.ColorRole.WindowText))
        palette.setColor(QPalette.ColorRole.WindowText, colour)
        label.setPalette(palette)

    # --- closing --------------------------------------------------------------------------------

    def confirm_close(self) -> bool:
        """Asked by the window before it closes: a running training is stopped, not cut off."""
        if not self.is_training():
            return True
        answer = QMessageBox.question(
            self, "Training in progress",
            "A training run is in progress. Stop it and quit?\n(The run is stopped after the current batch; it is not saved.)",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.stop_training()
        if not self.run.wait(CLOSE_WAIT_S):
            log.warning("training did not stop within %s s", CLOSE_WAIT_S)
        return True

    def shutdown(self) -> None:
        """Stop and wait for everything this page started; called once the window closes."""
        if self._shut_down:
            return
        self._shut_down = True
        self.remember_settings()
        if self.settings is not None:
            self.settings.sync()
        for task in (self._download_task, self._preview_task):
            if task is not None:
                task.cancel()
        if self.run is not None:
            self.run.stop()
            self.run.wait(CLOSE_WAIT_S)
        for task in (self._save_task, self._download_task, self._preview_task):
            if task is not None:
                task.done.wait(CLOSE_WAIT_S)
