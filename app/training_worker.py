"""Training in the background: `TrainingRun` runs one `lenet_core.training.Trainer` on its own
thread (through `workers.run_task`) and turns its plain callbacks into queued Qt signals.

The worker only ever emits plain dataclasses of Python floats; it never touches a widget.
Stopping sets the run's `threading.Event`, which the Trainer checks after every batch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.workers import Task, TaskState, run_task
from lenet_core.datasets import DatasetError
from lenet_core.training import (
    BatchProgress,
    EpochResult,
    StartInfo,
    TrainConfig,
    Trainer,
    TrainingCallbacks,
    TrainingError,
    TrainResult,
)

log = logging.getLogger(__name__)


@dataclass
class TrainingOutcome:
    """A finished (or stopped) run, with how promptly it obeyed a stop request."""

    result: TrainResult
    batches_after_stop: int  # batches that ended after Stop was pressed (1: stopped within the batch)
    stop_latency_s: float | None  # from Stop to the end of the last batch


class _Relay(TrainingCallbacks):
    """Runs on the training thread: forwards every callback as a progress report."""

    def __init__(self, state: TaskState):
        self._state = state
        self.batches_after_stop = 0
        self.last_batch_at: float | None = None

    def on_start(self, info: StartInfo) -> None:
        self._state.report(info)

    def on_batch(self, progress: BatchProgress) -> None:
        if self._state.is_cancelled():
            self.batches_after_stop += 1
            self.last_batch_at = time.perf_counter()
        self._state.report(progress)

    def on_epoch(self, result: EpochResult) -> None:
        self._state.report(result)

    def on_log(self, message: str) -> None:
        self._state.report(message)


def _train(state: TaskState, run: TrainingRun) -> TrainingOutcome:
    relay = _Relay(state)
    trainer = Trainer(run.config, relay, state.cancel_event, report_interval_s=run.report_interval_s)
    result = trainer.run()
    latency = None
    if run.stop_requested_at is not None and relay.last_batch_at is not None:
        latency = max(0.0, relay.last_batch_at - run.stop_requested_at)
    return TrainingOutcome(result, relay.batches_after_stop, latency)


def describe_error(error: BaseException) -> str:
    """One line for the user: our own errors say what to do; anything else names its type."""
    if isinstance(error, (TrainingError, DatasetError, MemoryError)):
        return str(error) or type(error).__name__
    return f"{type(error).__name__}: {error}"


class TrainingRun(QObject):
    """One training run, created and driven on the GUI thread.

    Signals arrive queued on the GUI thread, in the order the trainer produced them:
    `started`, then `batch`/`epoch`/`log` as it trains, then `finished` or `failed`, then `ended`.
    """

    started = Signal(object)  # StartInfo
    batch = Signal(object)  # BatchProgress
    epoch = Signal(object)  # EpochResult
    log = Signal(str)
    finished = Signal(object)  # TrainingOutcome
    failed = Signal(str)  # one clear line
    ended = Signal()

    def __init__(self, config: TrainConfig, report_interval_s: float = 0.1, parent: QObject | None = None):
        super().__init__(parent)
        self.config = config
        self.report_interval_s = report_interval_s
        self.stop_requested_at: float | None = None  # read by the worker after the run
        self.error: BaseException | None = None
        self._task: Task | None = None

    def start(self) -> None:
        self._task = run_task(
            _train, self, with_state=True, on_progress=self._on_progress, on_result=self._on_result,
            on_error=self._on_error, on_finished=self._on_finished,
        )

    def stop(self) -> None:
        """Ask the run to stop after the current batch; returns at once."""
        if self._task is not None and not self._task.state.is_cancelled():
            self.stop_requested_at = time.perf_counter()
            self._task.cancel()

    @property
    def stop_requested(self) -> bool:
        return self.stop_requested_at is not None

    def is_running(self) -> bool:
        return self._task is not None and not self._task.done.is_set()

    def wait(self, timeout_s: float) -> bool:
        """Block until the worker has returned (used when the window closes); True if it did."""
        return self._task is None or self._task.done.wait(timeout_s)

    @Slot(object)
    def _on_progress(self, item: Any) -> None:
        if isinstance(item, BatchProgress):
            self.batch.emit(item)
        elif isinstance(item, EpochResult):
            self.epoch.emit(item)
        elif isinstance(item, StartInfo):
            self.started.emit(item)
        elif isinstance(item, str):
            self.log.emit(item)

    @Slot(object)
    def _on_result(self, outcome: TrainingOutcome) -> None:
        self.finished.emit(outcome)

    @Slot(object)
    def _on_error(self, error: BaseException) -> None:
        if not isinstance(error, (TrainingError, DatasetError)):
            log.error("training failed:\n%s", getattr(error, "formatted_traceback", error))
        self.error = error.with_traceback(None)  # its frames would keep the data set and the model alive
        self.failed.emit(describe_error(error))

    @Slot()
    def _on_finished(self) -> None:
        self.ended.emit()

