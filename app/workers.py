"""The one home of background work in the GUI (the napari/Orange pattern).

`run_task` runs a function on a background thread; the function gets a `TaskState` to report
progress and to see whether cancellation was asked for, and knows nothing of Qt. Results,
progress and errors come back through queued signals. `LatestOnly` serves interactive
requests (live prediction while drawing): one request runs at a time and a newer request
replaces any that waits, so stale work is dropped, never queued up.

Connect these signals only to slots of QObjects that live in the GUI thread: a lambda or a
plain function connected to a worker's signal runs in the worker thread.

Every task gets a Python thread of its own, and `LatestOnly` one long-lived Python thread, never a
reused QThreadPool or QThread: pybind11 (inside TensorFlow and LiteRT) keeps the Python thread
state it first saw on an OS thread, while PySide gives a Qt-owned thread a new one for every
task, so TensorFlow in a later task on a reused Qt thread crashed on the stale one
(tests/test_workers.py runs that sequence). Tasks are few and long, so threads cost nothing.

Two rules keep Qt objects from being destroyed on a worker thread, which crashes Qt at random:
- A task's signal object is owned by Qt (a child of the application), never by a Python reference
  count, and is deleted with `deleteLater` on the GUI thread once its last signal has been heard.
  Owned by Python, it died wherever the last reference went: on the worker thread when that thread
  let go after the GUI thread had dropped the task, or inside its own child's slot.
- Python's cycle collector runs on whatever thread happens to allocate, and a cycle that holds the
  last reference to a Python-owned widget (a closed window, a dialog) destroys it there. The first
  background thread therefore turns automatic collection off and runs it from a GUI-thread timer,
  by the interpreter's own thresholds (`GuiThreadCollector`).
"""

from __future__ import annotations

import gc
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot


class TaskState:
    """What a background function may touch: a cancel flag and a progress reporter."""

    def __init__(self, report: Callable[[Any], None]):
        self.cancel_event = threading.Event()
        self._report = report

    def report(self, value: Any) -> None:
        self._report(value)

    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()


class TaskSignals(QObject):
    progress = Signal(object)
    result = Signal(object)
    error = Signal(object)  # the exception
    finished = Signal()


class Task:
    """A function run on its own thread; create with `run_task`."""

    def __init__(self, function: Callable[..., Any], args: tuple, with_state: bool):
        # Created on the GUI thread, so its signals queue to it; a child of the application, so
        # Qt owns it and only `_Forget` deletes it, on the GUI thread.
        self.signals = TaskSignals(QCoreApplication.instance())
        self.state = TaskState(self.signals.progress.emit)
        self._function, self._args, self._with_state = function, args, with_state
        self.done = threading.Event()

    def cancel(self) -> None:
        self.state.cancel_event.set()

    def run(self) -> None:
        try:
            args = (self.state, *self._args) if self._with_state else self._args
            signal, outcome = self.signals.result, self._function(*args)
        except BaseException as error:  # noqa: BLE001 - every failure goes to the GUI as a signal
            error.formatted_traceback = traceback.format_exc()  # type: ignore[attr-defined]
            signal, outcome = self.signals.error, error
        # Done before the outcome is sent: whoever hears it (a page, then a window asking "still
        # running?" as it closes) sees the task as ended, never as a thread about to end.
        self.done.set()
        self._emit(signal, outcome)
        self._emit(self.signals.finished)

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the window closed while this ran: nobody is left to tell


_running: set[Task] = set()


def run_task(
    function: Callable[..., Any],
    *args: Any,
    with_state: bool = False,
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_finished: Callable[[], None] | None = None,
) -> Task:
    """Start `function(*args)` (or `function(state, *args)`) on a new thread; returns its handle.

    The `on_*` slots (bound methods of GUI-thread QObjects) are connected before the task
    starts, so even a task that finishes at once is heard.
    """
    GuiThreadCollector.ensure()
    task = Task(function, args, with_state)
    for signal, slot in ((task.signals.result, on_result), (task.signals.error, on_error),
                         (task.signals.progress, on_progress), (task.signals.finished, on_finished)):
        if slot is not None:
            signal.connect(slot)
    _running.add(task)
    task.signals.finished.connect(_Forget(task).forget)
    # Not a daemon: the interpreter waits for it at exit, so a run is stopped, never cut off.
    threading.Thread(target=task.run, name=f"task-{getattr(function, '__name__', 'work')}").start()
    return task


class _Forget(QObject):
    def __init__(self, task: Task):
        super().__init__(task.signals)
        self._task = task

    @Slot()
    def forget(self) -> None:
        """The task's last signal: every slot connected to it has run (queued in order) by now."""
        _running.discard(self._task)
        if self._task.signals.parent() is not None:
            self._task.signals.deleteLater()  # with this object, its child
        self._task = None


def wait_for_all(timeout_ms: int = 30000) -> bool:
    """Used on exit: ask every background task to cancel, then wait for them to end."""
    tasks = list(_running)
    for task in tasks:
        task.cancel()
    deadline = time.monotonic() + timeout_ms / 1000
    return all(task.done.wait(max(0.0, deadline - time.monotonic())) for task in tasks)


class LatestOnly(QObject):
    """A single background thread that always works on the newest request.

    `submit` returns at once. While a request runs, newer ones replace each other; when it
    finishes, only the newest waiting one runs. `finished(token, value)` is emitted (queued to
    the GUI thread) for each request that ran; `value` is the exception when the function raised.
    """

    finished = Signal(object, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        GuiThreadCollector.ensure()
        self._condition = threading.Condition()
        self._pending: tuple | None = None
        self._busy = False
        self._closed = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._work, name="latest-only", daemon=True)
        self._thread.start()

    def submit(self, token: Any, function: Callable[..., Any], *args: Any) -> None:
        with self._condition:
            if self._pending is not None:
                self.dropped += 1
            self._pending = (token, function, args)
            self._busy = True
            self._condition.notify()

    @property
    def busy(self) -> bool:
        with self._condition:
            return self._busy

    def _work(self) -> None:
        while True:
            with self._condition:
                while self._pending is None and not self._closed:
                    self._busy = False
                    self._condition.wait()
                if self._closed:
                    return
                token, function, args = self._pending
                self._pending = None
            try:
                value = function(*args)
            except Exception as error:  # noqa: BLE001 - reported to the GUI, never raised here
                error.formatted_traceback = traceback.format_exc()  # type: ignore[attr-defined]
                value = error
            try:
                self.finished.emit(token, value)
            except RuntimeError:
                return  # the page is gone

    def shutdown(self) -> None:
        with self._condition:
            self._closed = True
            self._pending = None
            self._condition.notify()
        self._thread.join(5)


class GuiThreadCollector(QObject):
    """Runs Python's cycle collector on the GUI thread only (see the module's docstring).

    Every `interval_ms` it collects the oldest generation that is due by the interpreter's own
    rules: a generation whose count is over its threshold, and the oldest one (a full collection,
    ~300 ms with TensorFlow loaded) only when what reached it since the last full collection is
    over a quarter of what that collection left. Explicit `gc.collect()` calls still run where
    they are made.
    """

    _instance: GuiThreadCollector | None = None

    def __init__(self, interval_ms: int = 500):
        super().__init__(QCoreApplication.instance())
        self.thresholds = gc.get_threshold()
        self.long_lived = len(gc.get_objects(generation=2))  # what the last full collection left
        self.pending = 0  # objects moved into the oldest generation since then
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(interval_ms)
        gc.disable()

    @classmethod
    def ensure(cls) -> GuiThreadCollector | None:
        """Start it once per application (call on the GUI thread); None without an application."""
        if QCoreApplication.instance() is None:
            return None
        if cls._instance is None or not shiboken6.isValid(cls._instance):
            cls._instance = cls()
        return cls._instance

    @Slot()
    def collect(self) -> int:
        """Collect what is due; returns the number of unreachable objects found."""
        counts = gc.get_count()
        if counts[2] > self.thresholds[2] and self.pending > self.long_lived / 4:
            found = gc.collect(2)
            self.long_lived, self.pending = len(gc.get_objects(generation=2)), 0
            return found
        if counts[2] > self.thresholds[2] or counts[1] > self.thresholds[1]:
            young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1))
            found = gc.collect(1)
            self.pending += max(0, young - found)  # the survivors moved into the oldest generation
            return found
        if counts[0] > self.thresholds[0]:
            return gc.collect(0)
        return 0
