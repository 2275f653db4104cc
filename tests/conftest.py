"""Shared test set-up: offscreen Qt, a private user-data folder, and small data makers."""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
SHARED_EMNIST = ROOT.parent / "shared" / "data" / "emnist"
sys.path.insert(0, str(ROOT))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    """After pytest-qt has closed the test's widgets (with `deleteLater`) and the fixtures are
    torn down: delete those widgets now, on the GUI thread, and collect the cycles that held
    their wrappers, so that nothing of this test is destroyed later, while the next test's
    worker threads run."""
    result = yield
    _join_ending_tasks()
    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QCoreApplication, QEvent

        if QCoreApplication.instance() is not None:
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    return result


def _join_ending_tasks(timeout_s: float = 30.0) -> None:
    """Wait for this test's background task threads (`app.workers`: one thread per task, named
    task-…) to end: a page's shutdown waits for its tasks' results, but the thread still sends its
    last signal and exits after that, and the collection below must not free TensorFlow objects
    on the GUI thread while a worker is still inside TensorFlow."""
    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread.name.startswith("task-") and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


# Modal dialogs and file pickers wait for a user; offscreen nobody comes and the whole run would
# hang (a waitSignal's timeout cannot end a nested modal loop). A test that expects one replaces it
# with its answer (monkeypatch.setattr on the class, as the tests do); any other one fails the test.
MODAL = {
    "QMessageBox": ("question", "warning", "critical", "information", "about", "aboutQt"),
    "QDialog": ("exec", "exec_"),  # every dialog's, QMessageBox's too
    "QMenu": ("exec",),
    "QFileDialog": ("getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory"),
    "QInputDialog": ("getText", "getItem", "getInt", "getDouble", "getMultiLineText"),
}


@pytest.fixture(autouse=True)
def no_unanswered_dialogs(monkeypatch):
    from PySide6 import QtWidgets

    for class_name, methods in MODAL.items():
        for method in methods:
            def refuse(*args, _name=f"{class_name}.{method}", **kwargs):
                texts = [a for a in args if isinstance(a, str)]
                raise AssertionError(f"{_name} would wait for a user nobody is there to be: {texts}")

            monkeypatch.setattr(getattr(QtWidgets, class_name), method, refuse)


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    """Every test writes user data (models, settings, logs) into its own folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("LENET_STUDIO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def digits_mini() -> Path:
    return TEST_DATA / "emnist"


def needs_shared_data():
    return pytest.mark.skipif(
        not (SHARED_EMNIST / "emnist-balancedx-test-images-idx3-ubyte.gz").exists(),
        reason=f"the real EMNIST data is not at {SHARED_EMNIST} (the developers' shared folder)",
    )


def glyph(kind: str = "L", side: int = 28) -> np.ndarray:
    """A small asymmetric white-on-black shape (for orientation checks): 'L' or '7'."""
    image = np.zeros((side, side), np.uint8)
    s = side / 28
    if kind == "L":
        image[int(4 * s) : int(24 * s), int(6 * s) : int(10 * s)] = 255
        image[int(20 * s) : int(24 * s), int(6 * s) : int(22 * s)] = 255
    else:  # "7": a bar on top and a diagonal
        image[int(4 * s) : int(8 * s), int(6 * s) : int(22 * s)] = 255
        for row in range(int(8 * s), int(24 * s)):
            col = int(22 * s - (row - 8 * s) * 0.6)
            image[row, max(0, col - int(2 * s)) : col + int(2 * s)] = 255
    return image


@pytest.fixture
def main_window_factory(qtbot):
    """Make real main windows (shown, model loaded); each is closed at the end of the test."""
    from app.window import MainWindow

    made = []

    def make(model: str | None = None, wait_for_model: bool = True):
        window = MainWindow(model=model)
        qtbot.addWidget(window)
        made.append(window)
        window.show()
        qtbot.waitExposed(window)
        if wait_for_model:
            with qtbot.waitSignal(window.models.model_changed, timeout=20000):
                window.start()
        else:
            window.start()
        return window

    yield make
    for window in made:
        for page in window.pages:
            if hasattr(page, "shutdown"):
                page.shutdown()


@pytest.fixture
def main_window(main_window_factory):
    return main_window_factory()


@pytest.fixture
def photo_page(main_window, monkeypatch):
    """The real window's Photo page, shown; a message box opened from it fails the test (the page
    says everything in its own message line)."""
    def no_dialogs(*args, **kwargs):
        raise AssertionError("the Photo page must not open message boxes")

    for name in ("warning", "critical", "information"):
        monkeypatch.setattr(f"app.window.QMessageBox.{name}", no_dialogs)
    main_window.tabs.setCurrentWidget(main_window.photo_page)
    return main_window.photo_page
