"""The drawing pad's rendering: snapshot against approved PNGs, independence from the widget's
size (what the recogniser gets does not depend on the screen), pen pressure, the crash hook.

Refresh the approved snapshots after an intended change with LENET_UPDATE_SNAPSHOTS=1.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import TEST_DATA
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication

from app.imaging import from_qimage
from app.stroke_replay import replay, sample_strokes
from app.widgets.drawing_pad import DrawingPad

SNAPSHOTS = TEST_DATA / "snapshots"


def make_pad(qtbot, side: int = 300, style: str = "light-on-dark") -> DrawingPad:
    pad = DrawingPad()
    qtbot.addWidget(pad)
    pad.resize(side, side)
    pad.set_style(style)
    pad.set_pen_width(16 / 280)
    pad.show()
    qtbot.waitExposed(pad)
    return pad


def compare_snapshot(image: np.ndarray, name: str) -> None:
    path = SNAPSHOTS / f"{name}.png"
    if os.environ.get("LENET_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        QImage(image.data, image.shape[1], image.shape[0], image.shape[1], QImage.Format.Format_Grayscale8).save(str(path))
        if os.environ.get("LENET_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"approved snapshot {path.name} was missing and has been written: look at it, then rerun")
    approved = from_qimage(QImage(str(path)).convertToFormat(QImage.Format.Format_Grayscale8))
    assert approved.shape == image.shape
    difference = np.abs(approved.astype(int) - image.astype(int))
    # anti-aliasing may differ by a level or two between Qt builds; shapes may not
    assert difference.mean() < 1.0 and (difference > 48).mean() < 0.002, f"{name}: mean {difference.mean():.2f}"


@pytest.mark.parametrize("style", ["light-on-dark", "dark-on-light"])
def test_pad_snapshot(qtbot, style):
    pad = make_pad(qtbot, style=style)
    replay(pad, sample_strokes("letter-a")["strokes"])
    compare_snapshot(pad.render_image(), f"pad-letter-a-{style}")


def test_render_does_not_depend_on_widget_size(qtbot):
    small, large = make_pad(qtbot, 240), make_pad(qtbot, 520)
    strokes = sample_strokes("three")["strokes"]
    replay(small, strokes)
    replay(large, strokes)
    a, b = small.render_image().astype(int), large.render_image().astype(int)
    assert np.abs(a - b).mean() < 3.0


def test_pad_keeps_a_square_area_when_the_window_is_not_square(qtbot):
    pad = make_pad(qtbot, 300)
    pad.resize(500, 300)  # letterboxed: strokes map to the centred square
    replay(pad, [[[0.5, 0.1], [0.5, 0.9]]])
    image = pad.render_image()
    column = int(np.argmax(image.sum(axis=0)))
    assert abs(column - 140) <= 3


def test_tablet_pressure_changes_the_width(qtbot):
    pad = make_pad(qtbot, 300)
    device = QPointingDevice.primaryPointingDevice()

    def stroke(x: float, pressure: float) -> None:
        for kind, y in ((QTabletEvent.Type.TabletPress, 60), *((QTabletEvent.Type.TabletMove, y) for y in range(64, 240, 4)), (QTabletEvent.Type.TabletRelease, 240)):
            event = QTabletEvent(kind, device, QPointF(x, y), QPointF(x, y), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                                 Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
            QApplication.sendEvent(pad, event)

    stroke(80, 0.1)
    stroke(220, 1.0)
    image = pad.render_image()
    light = (image[140, :140] > 128).sum()
    firm = (image[140, 140:] > 128).sum()
    assert len(pad.strokes()) == 2
    assert firm > light * 1.8


def test_exception_hook_logs_and_shows_a_dialog(qtbot, monkeypatch, private_home):
    import sys
    import threading

    from app import errors

    shown = []
    monkeypatch.setattr(errors, "_show_dialog", lambda summary, details, log_path: shown.append((summary, log_path)))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)  # the hook sets both
    log_path = errors.setup_logging()
    errors.install_exception_hook(log_path)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert shown and shown[0][0] == "RuntimeError: boom in a slot"
    for handler in __import__("logging").getLogger().handlers:
        handler.flush()
    assert "boom in a slot" in (private_home / "logs" / "lenet-studio.log").read_text()


def test_setting_up_logging_again_replaces_its_handler(private_home):
    import logging

    from app import errors

    before = list(logging.getLogger().handlers)
    try:
        errors.setup_logging()
        errors.setup_logging()
        added = [h for h in logging.getLogger().handlers if h not in before]
        assert len(added) == 1 and added[0].baseFilename.endswith("lenet-studio.log")
    finally:
        for handler in [h for h in logging.getLogger().handlers if h not in before]:
            logging.getLogger().removeHandler(handler)
            handler.close()
