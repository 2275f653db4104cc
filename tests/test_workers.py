"""TensorFlow and LiteRT on background threads, in the order the app uses them (model loaded,
live predictions, then training and saving): importing TensorFlow in one task and using it in
the next must work. On a reused QThreadPool thread this sequence crashed in pybind11 on a stale
Python thread state, which is why every task has a thread of its own."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading

from conftest import ROOT

SEQUENCE = """
import sys, threading
from PySide6.QtCore import QCoreApplication
app = QCoreApplication([])
from app import workers

def load_litert():
    from lenet_core.inference import Recognizer
    Recognizer()

def import_tensorflow():
    import tensorflow

def use_tensorflow():
    import numpy as np, tensorflow as tf
    tf.data.Dataset.from_tensor_slices((np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.int32)))

latest = workers.LatestOnly()
from lenet_core.inference import Recognizer
import numpy as np
recognizer = Recognizer()
for _ in range(3):
    latest.submit(None, recognizer.probabilities, np.zeros((28, 28), np.float32))
for function in (load_litert, import_tensorflow, use_tensorflow, use_tensorflow):
    task = workers.run_task(function)
    assert task.done.wait(300), function.__name__
latest.submit(None, recognizer.probabilities, np.zeros((28, 28), np.float32))
latest.shutdown()
print("ok")
"""


def test_tensorflow_tasks_on_their_own_threads_do_not_crash(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LENET_STUDIO_HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SEQUENCE], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def _watch_destruction(qobject) -> list:
    """The threads on which `qobject` is destroyed (told directly, in the destroying thread)."""
    from PySide6.QtCore import Qt

    threads: list = []
    qobject.destroyed.connect(lambda *_: threads.append(threading.current_thread()), Qt.ConnectionType.DirectConnection)
    return threads


def test_a_tasks_signals_die_on_the_gui_thread_whoever_lets_go_last(qtbot, monkeypatch):
    """The worker thread still holds its task after the GUI thread has heard `finished` and
    dropped it: the signal object must still be deleted on the GUI thread, not by that thread."""
    from app import workers

    linger = threading.Event()
    run = workers.Task.run

    def run_then_linger(task):
        run(task)
        linger.wait(10)  # `task` is still referenced by this frame

    monkeypatch.setattr(workers.Task, "run", run_then_linger)
    task = workers.run_task(sum, (1, 2))
    destroyed_in = _watch_destruction(task.signals)
    thread = next(t for t in threading.enumerate() if t.name == "task-sum")
    qtbot.waitUntil(lambda: task not in workers._running, timeout=5000)  # noqa: F821 - ruff sees the `del` below; this runs before it
    del task
    linger.set()
    thread.join(10)
    qtbot.waitUntil(lambda: bool(destroyed_in), timeout=5000)
    assert destroyed_in == [threading.main_thread()]


def test_cycles_are_collected_on_the_gui_thread_not_by_workers(qtbot, monkeypatch):
    """A worker that allocates must not run the cycle collector: it would destroy a Python-owned
    Qt object held in a cycle (a closed window) on the worker thread."""
    from PySide6.QtCore import QObject

    from app import workers

    task = workers.run_task(int)
    qtbot.waitUntil(lambda: task not in workers._running, timeout=5000)
    assert not gc.isenabled(), "the first background task turns automatic collection off"
    gc.collect()
    garbage = QObject()
    garbage.myself = garbage  # a cycle that holds the only reference to a Python-owned QObject
    destroyed_in = _watch_destruction(garbage)
    del garbage

    def allocate() -> None:
        [[] for _ in range(200_000)]  # enough to trigger hundreds of automatic collections

    task = workers.run_task(allocate)
    qtbot.waitUntil(task.done.is_set, timeout=20000)
    # The GUI thread's timer may have collected it meanwhile; if not, it does at its next tick.
    monkeypatch.setattr(workers.GuiThreadCollector.ensure(), "thresholds", (-1, -1, -1))
    qtbot.waitUntil(lambda: bool(destroyed_in), timeout=5000)
    assert destroyed_in == [threading.main_thread()], "collected on a worker thread"


def test_the_gui_thread_collector_runs_a_full_collection_only_when_one_is_due(qtbot):
    """A full collection takes ~300 ms with TensorFlow loaded: like the interpreter, only when the
    objects that reached the oldest generation are over a quarter of those there after the last."""
    from app import workers

    collector = workers.GuiThreadCollector.ensure()
    collector.timer.stop()  # ticks by hand here
    try:
        gc.collect()
        collector.long_lived, collector.pending = len(gc.get_objects(generation=2)), 0
        collector.thresholds = (-1, -1, -1)  # every generation's count is over its threshold
        full_collections = gc.get_stats()[2]["collections"]
        collector.collect()
        assert gc.get_stats()[2]["collections"] == full_collections, "a full collection that was not due"
        kept = [[] for _ in range(collector.long_lived // 4 + 1000)]  # survivors: they reach the oldest generation
        collector.collect()
        assert collector.pending >= len(kept)
        collector.collect()
        assert gc.get_stats()[2]["collections"] == full_collections + 1 and collector.pending == 0
    finally:
        collector.thresholds = gc.get_threshold()
        collector.timer.start()


def test_a_task_has_ended_by_the_time_its_result_or_error_is_heard(qtbot, monkeypatch):
    """A page that hears a run's result and the window that closes right after ask "still
    running?" (a close during a run asks the user, in a modal box). The worker may be paused by
    the scheduler just after it sends the result: the task must already say it has ended."""
    import time

    from PySide6.QtCore import QObject, Slot

    from app import workers

    emit = workers.Task._emit

    def emit_then_pause(signal, *args) -> None:
        emit(signal, *args)
        time.sleep(0.3)  # the worker thread descheduled right after sending

    monkeypatch.setattr(workers.Task, "_emit", staticmethod(emit_then_pause))

    class Listener(QObject):
        task: workers.Task | None = None
        heard: list = []

        @Slot(object)
        def on_outcome(self, outcome) -> None:
            self.heard.append((type(outcome).__name__, self.task.done.is_set()))

    def fail() -> None:
        raise ValueError("refused")

    listener = Listener()
    listener.heard = []
    for function in (int, fail):
        listener.task = workers.run_task(function, on_result=listener.on_outcome, on_error=listener.on_outcome)
        qtbot.waitUntil(lambda: len(listener.heard) == (1 if function is int else 2), timeout=5000)  # noqa: B023 - checked within the loop
        listener.task.done.wait(5)
    assert listener.heard == [("int", True), ("ValueError", True)]
