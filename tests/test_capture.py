"""The camera source on a real video file (MJPG in .avi, decoded by OpenCV as a camera's
frames would be), and the ways a camera fails: missing, not a video, never answering."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from bad_images import seven_on_paper

from lenet_core import capture


def write_video(path, frames: int = 12, fps: float = 30.0, size=(320, 240)) -> None:
    """A short clip: paper with a "7" that drifts to the right, and the frame number in a corner."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    page = cv2.resize(seven_on_paper(), (size[1] * 300 // 360, size[1]))
    for index in range(frames):
        frame = np.full((size[1], size[0]), 235, np.uint8)
        left = 20 + index * 60 // frames
        frame[:, left : left + page.shape[1]] = page[:, : size[0] - left]
        frame[:12, :40] = index * 240 // frames  # a marker to tell frames apart
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path)
    return path


def test_video_file_frames_are_decoded_in_order(video):
    with capture.FrameSource(video) as source:
        assert source.info.is_file and source.info.label == "clip.avi"
        assert (source.info.width, source.info.height) == (320, 240)
        assert source.info.fps == pytest.approx(30.0)
        frames = []
        while (frame := source.read()) is not None:
            frames.append(frame)
    assert len(frames) == 12
    assert frames[0].shape == (240, 320, 3) and frames[0].dtype == np.uint8
    markers = [int(frame[4:8, 4:30].mean()) for frame in frames]
    assert markers == sorted(markers) and markers[-1] > markers[0] + 150


def test_stream_plays_at_the_file_rate_and_reports_info_first(video):
    emitted = []
    started = time.perf_counter()
    last = capture.stream(video, emitted.append, lambda: False)
    seconds = time.perf_counter() - started
    assert isinstance(emitted[0], capture.SourceInfo)
    assert len(emitted) == 13 and last.shape == (240, 320, 3)
    assert 0.25 < seconds < 3.0  # 12 frames at 30 fps: about 0.4 s, not as fast as it decodes


def test_stream_drops_frames_the_viewer_is_not_ready_for(video):
    ready = threading.Event()
    ready.set()
    emitted = []
    capture.stream(video, emitted.append, lambda: False, ready)  # nobody sets `ready` again
    frames = [value for value in emitted if isinstance(value, np.ndarray)]
    assert len(frames) == 1  # the first frame went out; the rest were dropped, not queued


def test_stream_stops_when_asked(video):
    stop = threading.Event()
    emitted = []

    def emit(value):
        emitted.append(value)
        if len(emitted) == 3:
            stop.set()

    capture.stream(video, emit, stop.is_set)
    assert len(emitted) == 3


def test_missing_camera_fails_fast():
    started = time.perf_counter()
    with pytest.raises(capture.CaptureError, match="Camera 9 is not available"):
        capture.FrameSource(9, timeout=3.0)
    assert time.perf_counter() - started < 3.5


def test_files_that_are_not_videos(tmp_path):
    with pytest.raises(capture.CaptureError, match="does not exist"):
        capture.FrameSource(tmp_path / "nothing.avi")
    notes = tmp_path / "notes.avi"
    notes.write_text("not a video")
    with pytest.raises(capture.CaptureError, match="cannot be played as video"):
        capture.FrameSource(notes)


def test_a_camera_that_never_answers_does_not_hang(monkeypatch):
    release = threading.Event()

    released = threading.Event()

    class StuckCapture:
        def __init__(self, *args):
            release.wait(10)  # a driver that blocks in open

        def isOpened(self):
            return True

        def read(self):
            return True, np.zeros((4, 4, 3), np.uint8)

        def release(self):
            released.set()

    monkeypatch.setattr(capture.cv2, "VideoCapture", StuckCapture)
    started = time.perf_counter()
    with pytest.raises(capture.CaptureError, match="did not answer within 1 s"):
        capture.FrameSource(0, timeout=1.0)
    assert time.perf_counter() - started < 1.5
    release.set()  # the driver answers at last: the abandoned helper lets the device go
    assert released.wait(5)


def test_list_cameras_finds_none_here_without_error():
    cameras = capture.list_cameras()
    assert isinstance(cameras, list) and all(isinstance(index, int) for index in cameras)
