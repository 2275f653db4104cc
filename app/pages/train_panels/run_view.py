"""The Training tab: the run's progress line and bar, live loss/accuracy curves and its log.
Built on first need: it imports pyqtgraph."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QProgressBar, QVBoxLayout, QWidget

from lenet_core.training import BatchProgress, EpochResult, StartInfo, TrainResult


def duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "–"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class RunView(QWidget):
    """Shows what the trainer reports; knows nothing of how the run is started or stopped."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
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
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.log_view)

    def begin(self, epochs: int, validation: bool, text: str = "Starting: loading the data and TensorFlow…") -> None:
        self.curves.clear()
        self.curves.set_epochs(epochs)
        self.curves.show_validation(validation)
        self.log_view.clear()
        self.progress_bar.setRange(0, 0)  # busy until the first batch: loading data and TensorFlow
        self.progress_label.setText(text)

    def append_log(self, message: str) -> None:
        self.log_view.appendPlainText(message)

    def note_stopping(self) -> None:
        self.progress_label.setText(self.progress_label.text() + " — stopping after this batch…")
        self.append_log("stop requested")

    def show_start(self, info: StartInfo) -> None:
        self.progress_bar.setRange(0, 1000)
        self.progress_label.setText(
            f"{info.architecture} ({info.parameters:,} parameters) on {info.device}: "
            f"{info.train_samples:,} train / {info.validation_samples:,} validation samples, {info.steps_per_epoch} batches per epoch"
        )

    def show_batch(self, progress: BatchProgress, stopping: bool) -> None:
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * progress.fraction))
        self.progress_label.setText(
            f"Epoch {progress.epoch}/{progress.epochs} · batch {progress.batch}/{progress.steps} · "
            f"loss {progress.loss:.3f} · accuracy {progress.accuracy:.1%} · {progress.samples_per_second:,.0f} samples/s · "
            f"ETA {duration(progress.eta_s)}{' — stopping after this batch…' if stopping else ''}"
        )
        self.curves.add_batch(progress)

    def show_epoch(self, result: EpochResult) -> None:
        self.curves.add_epoch(result)
        validation = (f" · validation loss {result.val_loss:.4f}, accuracy {result.val_accuracy:.2%}"
                      if np.isfinite(result.val_loss) else "")
        self.append_log(f"epoch {result.epoch}: loss {result.loss:.4f}, accuracy {result.accuracy:.2%}{validation} "
                        f"({result.seconds:.1f} s, lr {result.learning_rate:.2g})")

    def show_finished(self, result: TrainResult, batches_after_stop: int, stop_latency_s: float | None) -> None:
        self.curves.redraw()
        self.progress_bar.setValue(self.progress_bar.maximum() if not result.stopped else self.progress_bar.value())
        if result.stopped:
            latency = f", {stop_latency_s * 1000:.0f} ms after the request" if stop_latency_s is not None else ""
            self.progress_label.setText(
                f"Stopped after {len(result.history)} of {result.config.epochs} epochs "
                f"({batches_after_stop} batch(es) finished after Stop{latency})."
            )
        else:
            self.progress_label.setText(f"Finished {len(result.history)} epochs in {duration(result.seconds)} on {result.device}.")

    def show_failed(self, text: str, log: str) -> None:
        self.progress_bar.setRange(0, 1000)
        self.progress_label.setText(text)
        self.append_log(log)
