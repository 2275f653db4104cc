"""The drawing pad: smooth strokes from a mouse or a tablet pen (with pressure), pen width,
eraser, undo/redo, clear, and light-on-dark or dark-on-light ink.

Strokes are kept as vectors in pad units (0..1 of the side), so the pad draws crisply at any
size and device pixel ratio, and the image handed to the recogniser is rendered by the same
painting code at a fixed resolution, independent of the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QTabletEvent, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.imaging import from_qimage

RENDER_SIDE = 280  # pixels of the image handed to the pipeline
STYLES = {
    "light-on-dark": (QColor(18, 20, 24), QColor(245, 245, 245)),
    "dark-on-light": (QColor(250, 250, 246), QColor(20, 24, 40)),
}


@dataclass(eq=False)
class Stroke:
    points: list[tuple[float, float, float]] = field(default_factory=list)  # x, y in 0..1; pressure 0..1
    width: float = 0.06  # fraction of the pad side
    eraser: bool = False


class _AddStroke(QUndoCommand):
    def __init__(self, pad: DrawingPad, stroke: Stroke):
        super().__init__("erase" if stroke.eraser else "stroke")
        self.pad, self.stroke = pad, stroke

    def redo(self) -> None:
        self.pad._strokes.append(self.stroke)
        self.pad._changed()

    def undo(self) -> None:
        strokes = self.pad._strokes
        del strokes[next(i for i in range(len(strokes) - 1, -1, -1) if strokes[i] is self.stroke)]
        self.pad._changed()


class _Clear(QUndoCommand):
    def __init__(self, pad: DrawingPad):
        super().__init__("clear")
        self.pad, self.removed = pad, list(pad._strokes)

    def redo(self) -> None:
        self.pad._strokes.clear()
        self.pad._changed()

    def undo(self) -> None:
        self.pad._strokes.extend(self.removed)
        self.pad._changed()


class DrawingPad(QWidget):
    changed = Signal()  # any change: a point added, undo, redo, clear, style
    stroke_finished = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("drawingPad")
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Draw a character with the mouse or a pen")
        self.undo_stack = QUndoStack(self)
        self._strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self.pen_width = 0.06
        self.eraser = False
        self.style_name = "light-on-dark"
        self.setAccessibleName("Drawing pad")

    # --- state ------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not any(not stroke.eraser for stroke in self._strokes) and self._current is None

    def strokes(self) -> list[Stroke]:
        return list(self._strokes)

    def set_style(self, name: str) -> None:
        if name in STYLES and name != self.style_name:
            self.style_name = name
            self._changed()

    def set_pen_width(self, fraction: float) -> None:
        self.pen_width = float(min(max(fraction, 0.005), 0.25))

    def set_eraser(self, on: bool) -> None:
        self.eraser = bool(on)
        self.setCursor(Qt.CursorShape.PointingHandCursor if on else Qt.CursorShape.CrossCursor)

    def clear(self) -> None:
        if self._strokes:
            self.undo_stack.push(_Clear(self))

    def _changed(self) -> None:
        self.update()
        self.changed.emit()

    # --- input --------------------------------------------------------------------------------

    def _side_rect(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_pad(self, position: QPointF) -> tuple[float, float]:
        rect = self._side_rect()
        return ((position.x() - rect.x()) / rect.width(), (position.y() - rect.y()) / rect.height())

    def begin_stroke(self, position: QPointF, pressure: float = 1.0) -> None:
        x, y = self._to_pad(position)
        self._current = Stroke([(x, y, pressure)], self.pen_width, self.eraser)
        self._changed()

    def extend_stroke(self, position: QPointF, pressure: float = 1.0) -> None:
        if self._current is None:
            return
        x, y = self._to_pad(position)
        last = self._current.points[-1]
        if abs(x - last[0]) + abs(y - last[1]) < 0.002:
            return  # sub-pixel jitter adds nothing
        self._current.points.append((x, y, pressure))
        self._changed()

    def end_stroke(self) -> None:
        stroke, self._current = self._current, None
        if stroke is not None:
            self.undo_stack.push(_AddStroke(self, stroke))  # pushing runs redo(): adds and repaints
            self.stroke_finished.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)  # drawing here means the pad's keys are wanted
        if event.button() == Qt.MouseButton.LeftButton:
            self.begin_stroke(event.position())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.extend_stroke(event.position())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.end_stroke()
        event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:
        pressure = float(event.pressure()) if event.pressure() > 0 else 1.0
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self.begin_stroke(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletMove:
            self.extend_stroke(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletRelease:
            self.end_stroke()
        event.accept()  # accepted tablet events are not repeated as mouse events

    # --- painting -----------------------------------------------------------------------------

    def paint_strokes(self, painter: QPainter, rect: QRectF) -> None:
        """Background and every stroke into `rect`: the one routine for screen and recogniser."""
        background, ink = STYLES[self.style_name]
        painter.fillRect(rect, background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        strokes = self._strokes + ([self._current] if self._current is not None else [])
        for stroke in strokes:
            self._paint_stroke(painter, rect, stroke, background if stroke.eraser else ink)

    @staticmethod
    def _paint_stroke(painter: QPainter, rect: QRectF, stroke: Stroke, colour: QColor) -> None:
        side = rect.width()
        coords = [(rect.x() + x * side, rect.y() + y * side) for x, y, _ in stroke.points]
        points = [QPointF(x, y) for x, y in coords]
        pressures = [p for _, _, p in stroke.points]
        width = max(stroke.width * side, 1.0)
        if stroke.eraser:
            # An antialiased eraser as wide as the pen leaves the ink's soft edge behind as a faint
            # line; one device pixel more on each side covers it.
            width += 2.0
        pen = QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        if len(points) == 1:
            pen.setWidthF(width * pressures[0])
            painter.setPen(pen)
            painter.drawPoint(points[0])
            return
        if min(pressures) >= 0.999:  # mouse: one smooth path through the midpoints
            path = QPainterPath(points[0])
            # Plain float arithmetic: QPointF operators crashed PySide6 6.12 (refcount bug).
            for (cx, cy), (fx, fy) in zip(coords[1:-1], coords[2:]):
                path.quadTo(QPointF(cx, cy), QPointF((cx + fx) / 2, (cy + fy) / 2))
            path.lineTo(points[-1])
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            return
        for start, end, pressure in zip(points, points[1:], pressures[1:]):  # pen: width follows pressure
            pen.setWidthF(max(width * (0.3 + 0.7 * pressure), 1.0))
            painter.setPen(pen)
            painter.drawLine(start, end)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        background, _ = STYLES[self.style_name]
        painter.fillRect(self.rect(), background.darker(115) if background.lightness() > 128 else background.lighter(130))
        rect = self._side_rect()
        self.paint_strokes(painter, rect)
        if self.is_empty():
            painter.setPen(QColor(128, 128, 128))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "Draw a character here")
        painter.end()

    def render_image(self, side: int = RENDER_SIDE) -> np.ndarray:
        """The drawing as an 8-bit gray image, side × side, exactly as shown (without the hint)."""
        image = QImage(side, side, QImage.Format.Format_Grayscale8)
        painter = QPainter(image)
        self.paint_strokes(painter, QRectF(0, 0, side, side))
        painter.end()
        return from_qimage(image)

    def sizeHint(self) -> QSize:
        return QSize(360, 360)
