"""The Train page: choose data (or download EMNIST), set up a network, train it on a worker
with live curves, read the evaluation, and save the result into the model picker.

The page wires panels that each do one job (`app.pages.train_panels`): the data source, the
run's settings, the run as it goes, the result, and saving it. It owns the run itself.
Everything slow (reading a data set, downloading, training, saving) runs through
`app.workers` / `app.training_worker`; the page and its panels only react to their signals.
pyqtgraph is imported when the page is first shown, so launching the app does not pay for it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,  # noqa: F401 - the panels' file dialogs; tests patch it here
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.pages.train_panels.data_source import (  # noqa: F401 - re-exported names
    SOURCES_HINT,
    SOURCES_SHORT,
    DataPreview,
    DataPreviewView,
    DataSourcePanel,
    emnist_download_target,
    read_preview,
    set_tone,
)
from app.pages.train_panels.run_settings import RunSettingsPanel
from app.pages.train_panels.run_view import duration
from app.pages.train_panels.save_panel import SavePanel, model_name_problem, save_model  # noqa: F401
from app.training_worker import TrainingOutcome, TrainingRun
from lenet_core.training import BatchProgress, EpochResult, StartInfo, TrainConfig, TrainingStopped, TrainResult

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 120  # a stop takes one batch; evaluating what was trained can take a while longer


class TrainPage(QWidget):
    data_ready = Signal(object)  # DataPreview, once shown
    data_failed = Signal(str)
    run_finished = Signal(object)  # TrainingOutcome, once shown
    run_failed = Signal(str)
    model_saved = Signal(str)  # the path
    download_finished = Signal(bool)  # True when the data set is ready to use
    activity = Signal(str)  # a short line on the run for the status bar, "" when none runs

    def __init__(self, window: QWidget | None = None):
        super().__init__(window)
        self.main_window = window  # the pages' parent changes when tabbed; the window stays
        self.settings = getattr(window, "settings", None)
        self.run: TrainingRun | None = None
        self.result: TrainResult | None = None
        self.last_outcome: TrainingOutcome | None = None  # the last run's result and stop figures
        self.config_overrides: dict = {}  # TrainConfig fields without a control (tests, benchmarks)
        self.report_interval_s = 0.1  # batch reports from the worker: at most ten a second
        self._run_active = False
        self._panels_built = False
        self._shut_down = False

        self.data_view = DataPreviewView()
        self.data_panel = DataSourcePanel(self.data_view)
        self.data_panel.data_ready.connect(self._on_data_ready)
        self.data_panel.data_failed.connect(self._on_data_failed)
        self.data_panel.download_finished.connect(self.download_finished)
        self.data_panel.busy_changed.connect(self._update_controls)
        self.settings_panel = RunSettingsPanel()
        models_manager = getattr(window, "models", None)
        if models_manager is not None:
            models_manager.listing_changed.connect(self._on_models_listed)
        self._build_run_controls()
        self._alias_controls()

        side = QVBoxLayout()
        side.addWidget(self.data_panel)
        side.addWidget(self.settings_panel)
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
        # Its least width, said outright: the pages of a tab widget not shown yet may report less
        # than they need, and the window's minimum is taken from this page's at start.
        self.tabs.setMinimumWidth(330)
        self.data_tab, self.run_tab, self.result_tab = self.data_view, QWidget(), QWidget()
        self.tabs.addTab(self.data_tab, "Data")
        self.tabs.addTab(self.run_tab, "Training")
        self.tabs.addTab(self.result_tab, "Result")
        layout = QHBoxLayout(self)
        layout.addWidget(side_scroll)
        layout.addWidget(self.tabs, 1)
        self._restore_settings()
        self._update_controls()

    # --- building -------------------------------------------------------------------------------

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

    def _alias_controls(self) -> None:
        """The panels' controls under the names the page has always had (tests, benchmarks)."""
        data, run = self.data_panel, self.settings_panel
        for name in ("source_edit", "browse_button", "browse_folder_action", "browse_file_action", "split_combo",
                     "data_status", "download_button", "download_bar", "download_cancel", "download_status",
                     "browse_folder", "browse_file", "load_source", "start_download", "cancel_download"):
            setattr(self, name, getattr(data, name))
        self.classes_label, self.preview_grid = self.data_view.classes_label, self.data_view.preview_grid
        for name in ("architecture_combo", "epochs_spin", "batch_spin", "lr_spin", "validation_spin", "augment_check",
                     "augment_strength_spin", "dropout_spin", "smoothing_spin", "max_samples_spin", "device_label"):
            setattr(self, name, getattr(run, name))

    def _build_panels(self) -> None:
        """The Training and Result tabs: built on first need, since they import pyqtgraph."""
        if self._panels_built:
            return
        self._panels_built = True
        from app.pages.train_panels.result_view import ResultView
        from app.pages.train_panels.run_view import RunView

        self.run_view = RunView()
        QVBoxLayout(self.run_tab).addWidget(self.run_view)
        self.result_view = ResultView()
        self.save_panel = SavePanel(self.main_window)
        self.save_panel.saved.connect(self.model_saved)
        self.save_panel.busy_changed.connect(self._update_controls)
        self.result_view.main_layout.addWidget(self.save_panel)
        QVBoxLayout(self.result_tab).addWidget(self.result_view)
        for view, names in ((self.run_view, ("progress_label", "progress_bar", "curves", "log_view")),
                            (self.result_view, ("summary_label", "confusion", "worst_list", "gallery")),
                            (self.save_panel, ("name_edit", "save_button", "use_button", "save_status",
                                               "save_result", "use_saved_model"))):
            for name in names:
                setattr(self, name, getattr(view, name))
        self._update_controls()

    def showEvent(self, event) -> None:
        self._build_panels()
        source = self.source_edit.text().strip()
        if self.preview is None and not self.data_panel.is_reading() and source:
            self.load_source(source)
        super().showEvent(event)

    # --- the panels' state, as the page has always offered it -------------------------------

    @property
    def preview(self) -> DataPreview | None:
        return self.data_panel.preview

    @property
    def saved_path(self) -> Path | None:
        return self.save_panel.saved_path if self._panels_built else None

    @property
    def download_url(self) -> str:
        return self.data_panel.download_url

    @download_url.setter
    def download_url(self, url: str) -> None:
        self.data_panel.download_url = url

    @property
    def download_sha256(self) -> str | None:
        return self.data_panel.download_sha256

    @download_sha256.setter
    def download_sha256(self, digest: str | None) -> None:
        self.data_panel.download_sha256 = digest

    # --- settings -------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        from app.settings import value

        self.settings_panel.restore(self.settings)
        if self.settings is not None:
            self.data_panel.remembered_split = value(self.settings, "train/split", "", str) or None
            self.source_edit.setText(value(self.settings, "train/source", "", str))

    def remember_settings(self) -> None:
        settings = self.settings
        if settings is None:
            return
        settings.setValue("train/source", self.source_edit.text().strip())
        if self.split_combo.currentData():
            settings.setValue("train/split", self.split_combo.currentData())
        self.settings_panel.remember(settings)

    def set_training_device(self, text: str) -> None:
        """Called by the window once it has probed the device (without importing TensorFlow)."""
        self.device_label.setText(text)

    @Slot()
    def _on_models_listed(self) -> None:
        self.settings_panel.set_models(self.main_window.models.bundles)

    # --- data -----------------------------------------------------------------------------------

    @Slot(object)
    def _on_data_ready(self, preview: DataPreview) -> None:
        self.remember_settings()
        if not self.is_training():
            self.tabs.setCurrentWidget(self.data_tab)
        self._update_controls()
        self.data_ready.emit(preview)

    @Slot(str)
    def _on_data_failed(self, message: str) -> None:
        self._update_controls()
        self.data_failed.emit(message)

    # --- training -------------------------------------------------------------------------------

    def is_training(self) -> bool:
        """From Start until the run's last signal has been handled here."""
        return self._run_active

    def config(self) -> TrainConfig:
        """The run the controls describe."""
        preview = self.preview
        settings = dict(
            data=preview.path if preview else self.source_edit.text().strip(),
            split=preview.split if preview else None,
            **self.settings_panel.settings(),
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
        self.save_panel.set_result(None)
        self.run_view.begin(config.epochs, config.validation_fraction > 0)
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
            self.run_view.note_stopping()
            self._update_controls()

    @Slot(object)
    def _on_started(self, info: StartInfo) -> None:
        self.device_label.setText(info.device)
        self.run_view.show_start(info)

    @Slot(object)
    def _on_batch(self, progress: BatchProgress) -> None:
        self.run_view.show_batch(progress, self.run is not None and self.run.stop_requested)
        self.activity.emit(f"Training: epoch {progress.epoch}/{progress.epochs} · {progress.fraction:.0%} · "
                           f"ETA {duration(progress.eta_s)}")

    @Slot(object)
    def _on_epoch(self, result: EpochResult) -> None:
        self.run_view.show_epoch(result)

    @Slot(str)
    def _append_log(self, message: str) -> None:
        if self._panels_built:
            self.run_view.append_log(message)

    @Slot(object)
    def _on_finished(self, outcome: TrainingOutcome) -> None:
        result = outcome.result
        self.result, self.last_outcome = result, outcome
        self.run_view.show_finished(result, outcome.batches_after_stop, outcome.stop_latency_s)
        self.activity.emit("")
        self.save_panel.set_result(result, self._default_name(result))
        self._show_result(result)
        self.tabs.setCurrentWidget(self.result_tab)
        if self.sender() is self.run:
            # The result is the run's last word (its progress signals were queued before it): the
            # page is ready for Save and a new Start now, not when the thread's end is heard.
            self._run_active = False
        self._update_controls()
        self.run_finished.emit(outcome)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.activity.emit("")
        if isinstance(self.run.error, TrainingStopped):  # Stop pressed before the first batch
            self.run_view.show_failed(f"Stopped before training began ({message}).", message)
            self._say("Stopped before the first batch: nothing to evaluate or save.", None)
            self.run_failed.emit(message)
            return
        self.run_view.show_failed(f"Training failed: {message}", f"failed: {message}")
        self._say(f"Training failed: {message}", "error")
        self.run_failed.emit(message)

    @Slot()
    def _on_ended(self) -> None:
        if self.sender() is self.run:
            self._run_active = False
        self._update_controls()

    # --- result ---------------------------------------------------------------------------------

    def _show_result(self, result: TrainResult | None) -> None:
        self.result_view.show_result(result)
        self._update_controls()

    def _default_name(self, result: TrainResult) -> str:
        if result.adaptation is not None:
            return f"{result.adaptation.base} + {result.config.split or Path(result.config.data).stem}"
        base = f"{result.config.split or Path(result.config.data).stem}-{result.config.architecture}"
        return base + ("-partial" if result.partial else "")

    # --- state of the controls and messages -------------------------------------------------------

    @Slot()
    def _update_controls(self) -> None:
        training = self.is_training()
        self.data_panel.set_locked(training)
        self.settings_panel.set_locked(training)
        self.start_button.setEnabled(not training and self.preview is not None and not self.data_panel.is_reading())
        self.stop_button.setEnabled(training and not self.run.stop_requested)
        if self._panels_built:
            self.save_panel.set_locked(training)

    def _say(self, text: str, tone: str | None) -> None:
        self.message.setText(text)
        set_tone(self.message, tone)

    # --- closing --------------------------------------------------------------------------------

    def confirm_close(self) -> bool:
        """Asked by the window before it closes: a running training is stopped, not cut off.
        A run whose worker has returned (its last signals still on their way) is not asked about."""
        if self.run is None or not self.run.is_running():
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
        for task in self.data_panel.tasks():
            if task is not None:
                task.cancel()
        if self.run is not None:
            self.run.stop()
            self.run.wait(CLOSE_WAIT_S)
        save_task = self.save_panel.task() if self._panels_built else None
        for task in (save_task, *self.data_panel.tasks()):
            if task is not None:
                task.done.wait(CLOSE_WAIT_S)
        if self._panels_built:
            self.result_view.shutdown()  # the sample's Network window (issue 15)
