"""Camera controls for the Photo page: which camera (or a video file), start/stop, capture,
mirror. Frames come from `lenet_core.capture.stream` running as a background task; this
widget only relays them, so a camera that never answers cannot freeze the window.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QToolButton, QWidget

from app.workers import Task, run_task
from lenet_core import capture

VIDEO_FILE = "file"  # the source picker's entry that asks for a video file
VIDEO_FILTER = "Videos (*.avi *.mp4 *.mkv *.mov *.webm *.m4v *.mpg *.mpeg);;All files (*)"


def _stream(state, session: int, source: capture.Source, ready: threading.Event):
    """Runs on a pool thread: every report and the result carry the session they belong to."""
    try:
        last = capture.stream(source, lambda value: state.report((session, value)), state.is_cancelled, ready)
    except capture.CaptureError as error:
        return session, "failed", str(error)
    return session, "ended", last


class CameraControls(QWidget):
    frame = Signal(object)  # a live frame (RGB, mirrored when asked) to show
    captured = Signal(object, str)  # a frame kept as the photo to read, and its name
    problem = Signal(str)  # one line for the user
    running_changed = Signal(bool)
    cameras_listed = Signal(int)  # how many cameras were found

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.info: capture.SourceInfo | None = None
        self.last_frame: np.ndarray | None = None
        self.running = False
        self._task: Task | None = None
        self._session = 0
        self._ready = threading.Event()
        self._list_task: Task | None = None

        self.source_picker = QComboBox()
        self.source_picker.setToolTip("The camera to use, or a video file played as if it were one")
        self.source_picker.setAccessibleName("Camera")
        self.source_picker.setMinimumContentsLength(12)
        self.source_picker.addItem("Looking for cameras…", None)
        self.source_picker.addItem("Video file…", VIDEO_FILE)
        self.refresh_button = QToolButton(text="↻")
        self.refresh_button.setToolTip("Look for cameras again")
        self.refresh_button.clicked.connect(self.refresh)
        self.start_button = QToolButton(text="Start camera")
        self.start_button.setToolTip("Show the camera's live picture and read it as it comes")
        self.start_button.clicked.connect(self._toggle)
        self.capture_button = QToolButton(text="Capture")
        self.capture_button.setToolTip("Keep the current frame as the photo to read (Space)")
        self.capture_button.setShortcut(QKeySequence("Space"))
        self.capture_button.setEnabled(False)
        self.capture_button.clicked.connect(self.capture_frame)
        self.mirror_box = QCheckBox("Mirror")
        self.mirror_box.setToolTip("Flip the picture left to right, for cameras that deliver a mirror image")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.source_picker, self.refresh_button, self.start_button, self.capture_button, self.mirror_box):
            layout.addWidget(widget)

    # --- cameras ----------------------------------------------------------------------------

    def ensure_listed(self) -> None:
        """Look for cameras once (when the page is first shown); ↻ looks again."""
        if self._list_task is None:
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Look for cameras in the background (probing devices can take a moment)."""
        self._list_task = run_task(capture.list_cameras, on_result=self._on_cameras, on_error=self._on_list_failed)

    @Slot(object)
    def _on_cameras(self, indices: list[int]) -> None:
        keep = [(self.source_picker.itemText(i), self.source_picker.itemData(i)) for i in range(self.source_picker.count())
                if isinstance(self.source_picker.itemData(i), str) and self.source_picker.itemData(i) != VIDEO_FILE]
        self.source_picker.clear()
        for index in indices:
            self.source_picker.addItem(capture.describe(index), index)
        if not indices:
            self.source_picker.addItem("No camera found", None)
        for text, data in keep:  # video files chosen before
            self.source_picker.addItem(text, data)
        self.source_picker.addItem("Video file…", VIDEO_FILE)
        self.cameras_listed.emit(len(indices))

    @Slot(object)
    def _on_list_failed(self, error: BaseException) -> None:
        self._on_cameras([])

    # --- streaming --------------------------------------------------------------------------

    @Slot()
    def _toggle(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self, source: capture.Source | None = None) -> bool:
        """Start showing `source` (default: the picked one); False when there is nothing to start."""
        if source is None:
            choice = self.source_picker.currentData()
            if choice == VIDEO_FILE:
                path, _ = QFileDialog.getOpenFileName(self, "Play a Video File", "", VIDEO_FILTER)
                if not path:
                    return False
                source = path
            elif choice is None:
                self.problem.emit("No camera found. Connect one and press ↻, or pick “Video file…” to play a video instead.")
                return False
            else:
                source = choice
        if isinstance(source, Path):
            source = str(source)
        if isinstance(source, str):
            self._remember_file(source)
        self.stop()
        self._session += 1
        self._ready.set()
        self.last_frame, self.info = None, None
        self._task = run_task(_stream, self._session, source, self._ready, with_state=True,
                              on_progress=self._on_progress, on_result=self._on_result, on_error=self._on_error)
        self._set_running(True)
        return True

    def stop(self) -> None:
        """Stop the stream; the background task closes the device itself."""
        if self._task is not None:
            self._task.cancel()
        self._session += 1  # whatever the old stream still sends is now stale
        self._set_running(False)

    @Slot()
    def capture_frame(self) -> None:
        if self.last_frame is None:
            return
        frame = self.last_frame
        self.stop()
        name = self.info.label if self.info else "camera"
        self.captured.emit(frame, f"{name} · frame at {time.strftime('%H:%M:%S')}")

    def shutdown(self, wait_s: float = 2.0) -> None:
        self.stop()
        if self._task is not None:
            self._task.done.wait(wait_s)

    def _remember_file(self, path: str) -> None:
        if self.source_picker.findData(path) < 0:
            self.source_picker.insertItem(self.source_picker.count() - 1, Path(path).name, path)
        self.source_picker.setCurrentIndex(self.source_picker.findData(path))

    def _set_running(self, running: bool) -> None:
        if running == self.running:
            return
        self.running = running
        self.start_button.setText("Stop camera" if running else "Start camera")
        self.capture_button.setEnabled(running)
        self.running_changed.emit(running)

    def _mirrored(self, frame: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(frame[:, ::-1]) if self.mirror_box.isChecked() else frame

    @Slot(object)
    def _on_progress(self, report) -> None:
        session, value = report
        if session != self._session:
            return
        if isinstance(value, capture.SourceInfo):
            self.info = value
            return
        self.last_frame = self._mirrored(value)
        self.frame.emit(self.last_frame)
        self._ready.set()  # shown: the stream may send the next one

    @Slot(object)
    def _on_result(self, outcome) -> None:
        session, kind, value = outcome
        if session != self._session:
            return
        self._set_running(False)
        if kind == "failed":
            self.problem.emit(value)
            return
        label = self.info.label if self.info else "The video"
        if value is None:
            self.problem.emit(f"{label} sent no pictures.")
            return
        self.last_frame = self._mirrored(value)
        if self.info is not None and not self.info.is_file:
            self.problem.emit(f"{label} stopped sending pictures; its last frame is kept.")
        self.captured.emit(self.last_frame, f"{label} · last frame")

    @Slot(object)
    def _on_error(self, error: BaseException) -> None:
        self._set_running(False)
        self.problem.emit(f"The camera stopped: {error}")
