"""Replay a recorded drawing (resources/samples/strokes/*.json) as real mouse events, so the
smoke test and the tests exercise exactly the path a user's mouse takes.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from lenet_core.paths import resource_path


def sample_strokes(name: str) -> dict:
    """{"char": "7", "strokes": [[[x, y], ...], ...]} with x, y in 0..1 of the pad."""
    path = Path(name) if name.endswith(".json") else resource_path("samples", "strokes", f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _send(widget: QWidget, kind: QEvent.Type, position: QPointF, buttons: Qt.MouseButton) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    global_position = QPointF(widget.mapToGlobal(position.toPoint()))
    event = QMouseEvent(kind, position, global_position, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def replay(widget: QWidget, strokes: list[list[list[float]]], process_events: bool = True) -> None:
    """Press, move through every point, release — for each stroke, in pad coordinates."""
    side = min(widget.width(), widget.height())
    left, top = (widget.width() - side) / 2, (widget.height() - side) / 2
    for stroke in strokes:
        points = [QPointF(left + x * side, top + y * side) for x, y in stroke]
        _send(widget, QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
        for point in points[1:]:
            _send(widget, QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
            if process_events:
                QApplication.processEvents()
        _send(widget, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)
