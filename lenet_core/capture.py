"""Frames from a webcam or a video file (OpenCV capture), for the Photo page's camera.

Opening gives up after a time limit instead of hanging on a driver that never answers, and
a video file works wherever a camera does, so tests decode real frames without a camera.
`stream` is the loop a background task runs: it drops frames the viewer is not ready for
rather than queueing them, so the preview never lags behind the camera.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg reads it once, when first used

OPEN_TIMEOUT = 5.0  # seconds; USB cameras can take 1–2 s to start
MAX_CAMERAS = 8  # indices probed where the system cannot list its cameras

Source = int | str | Path  # a camera index or a video file


class CaptureError(RuntimeError):
    """A camera or video that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class SourceInfo:
    label: str  # "Camera 0" or the file name
    width: int
    height: int
    fps: float
    is_file: bool


def describe(source: Source) -> str:
    return f"Camera {source}" if isinstance(source, int) else Path(source).name


def list_cameras(timeout: float = 2.0) -> list[int]:
    """Indices of the cameras present. On Linux the device nodes say so without opening them."""
    if sys.platform.startswith("linux"):
        nodes = sorted(Path("/dev").glob("video[0-9]*"), key=lambda node: int(node.name[5:]))
        return [int(node.name[5:]) for node in nodes if _is_capture_node(node)]
    found = []
    for index in range(MAX_CAMERAS):
        try:
            FrameSource(index, timeout).close()
        except CaptureError:
            break  # indices are handed out in order: the first gap ends the list
        found.append(index)
    return found


def _is_capture_node(node: Path) -> bool:
    """A node that delivers pictures: a webcam's first node (its others carry metadata)."""
    try:
        return int((Path("/sys/class/video4linux") / node.name / "index").read_text()) == 0
    except (OSError, ValueError):
        return True


class FrameSource:
    """An open camera or video file; frames come back as RGB uint8 arrays.

    Use from one thread at a time. Raises `CaptureError` when the source cannot be opened
    within `timeout` seconds or delivers no first frame.
    """

    def __init__(self, source: Source, timeout: float = OPEN_TIMEOUT):
        self.source = source
        self.is_file = not isinstance(source, int)
        label = describe(source)
        if self.is_file:
            path = Path(source)
            if not path.is_file():
                raise CaptureError(f"{label}: the video file does not exist")
        capture, first = _open_within(source, timeout)
        self._capture = capture
        self._pending: np.ndarray | None = first
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        height, width = first.shape[:2]
        self.info = SourceInfo(label, width, height, fps if 1.0 <= fps <= 240.0 else 30.0, self.is_file)

    def read(self) -> np.ndarray | None:
        """The next frame (RGB), or None when a video ends or a camera stops sending."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        return _to_rgb(frame) if ok and frame is not None else None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _quiet_opencv() -> None:
    """A missing camera or an odd file is reported by us, in one line: no driver chatter on stderr."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _open_within(source: Source, timeout: float) -> tuple[cv2.VideoCapture, np.ndarray]:
    """Open the source and read its first frame on a helper thread; give up after `timeout`."""
    _quiet_opencv()
    outcome: dict = {}
    abandoned = threading.Event()

    def attempt() -> None:
        try:
            if isinstance(source, int):
                capture = cv2.VideoCapture(source, _camera_backend())
            else:
                capture = cv2.VideoCapture(str(source))
            ok, frame = (capture.read() if capture.isOpened() else (False, None))
        except cv2.error as error:  # some backends raise instead of failing quietly
            outcome["error"] = str(error).strip().splitlines()[-1]
            return
        if abandoned.is_set() or not ok or frame is None:
            capture.release()  # too late, or nothing to show: let the device go
            outcome.setdefault("error", None)
            return
        outcome["capture"], outcome["frame"] = capture, frame

    helper = threading.Thread(target=attempt, name="open-capture", daemon=True)
    helper.start()
    helper.join(timeout)
    label = describe(source)
    if helper.is_alive():
        abandoned.set()
        raise CaptureError(f"{label} did not answer within {timeout:.0f} s")
    if "capture" not in outcome:
        if isinstance(source, int):
            raise CaptureError(f"{label} is not available (unplugged, or in use by another program)")
        raise CaptureError(f"{label}: cannot be played as video (not a video file, or a format this program cannot decode)")
    return outcome["capture"], _to_rgb(outcome["frame"])


def _camera_backend() -> int:
    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2
    if sys.platform == "win32":
        return cv2.CAP_DSHOW  # opens in well under a second; Media Foundation can take many
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_ANY


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def stream(source: Source, emit: Callable[[object], None], stopped: Callable[[], bool],
           ready: threading.Event | None = None, timeout: float = OPEN_TIMEOUT) -> np.ndarray | None:
    """Open `source`, emit its `SourceInfo`, then frames until `stopped()` or the end; close it.

    A frame is emitted only while `ready` is set: emitting clears it, and the viewer sets it
    again once it has shown the frame; frames that come meanwhile are dropped. Video files play at their own frame rate.
    Returns the last frame read (a video's last frame stays on screen when it ends).
    """
    last = None
    with FrameSource(source, timeout) as frames:
        emit(frames.info)
        interval = 1.0 / frames.info.fps
        next_due = time.monotonic()
        while not stopped():
            frame = frames.read()
            if frame is None:
                break
            last = frame
            if ready is None or ready.is_set():
                if ready is not None:
                    ready.clear()
                emit(frame)
            if frames.is_file:  # a camera paces itself; a file would play as fast as it decodes
                next_due += interval
                delay = next_due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_due = time.monotonic()
    return last
