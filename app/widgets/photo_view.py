"""A photo shown scaled to fit, with a box over each character found and a rectangle the user
drags to choose the part to read. Coordinates going in and out are the photo's own pixels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

Box = tuple[int, int, int, int]
DRAG_START = 6  # pixels the mouse must move before a press becomes a drag


def confidence_colour(probability: float) -> QColor:
    """Green for a sure reading, amber for a doubtful one, red for a guess."""
    if probability >= 0.8:
        return QColor(40, 170, 80)
    if probability >= 0.5:
        return QColor(230, 150, 20)
    return QColor(215, 50, 50)


class PhotoView(QWidget):
    region_selected = Signal(object)  # (x, y, w, h) in photo pixels
    box_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image = QImage()
        self.photo_size = QSize()  # the photo's pixels; the shown image may be a smaller copy
        self.boxes: list[tuple[Box, str, float]] = []  # box, label, confidence
        self.selected = -1
        self.region: Box | None = None
        self.placeholder = ""
        self._press: QPointF | None = None
        self._drag: QRectF | None = None
        self._scaled: tuple[int, QSize, QPixmap] | None = None  # the photo at its drawn size
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.CrossCursor)

    # --- content ----------------------------------------------------------------------------

    def set_image(self, image: QImage, photo_size: QSize | None = None) -> None:
        """Show `image`; `photo_size` is the photo's real size when `image` is a reduced copy."""
        self.image = image
        self.photo_size = photo_size or image.size()
        self.update()

    def clear(self) -> None:
        self.image = QImage()
        self.photo_size = QSize()
        self.boxes, self.selected, self.region = [], -1, None
        self.update()

    def set_boxes(self, boxes: list[tuple[Box, str, float]], selected: int = -1) -> None:
        self.boxes = list(boxes)
        self.selected = selected
        self.update()

    def set_selected(self, index: int) -> None:
        self.selected = index
        self.update()

    def set_region(self, region: Box | None) -> None:
        self.region = region
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    # --- coordinates ------------------------------------------------------------------------

    def photo_rect(self) -> QRectF:
        """Where the photo is drawn inside the widget (aspect kept, centred)."""
        if self.image.isNull() or self.photo_size.isEmpty():
            return QRectF()
        area = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        scale = min(area.width() / self.photo_size.width(), area.height() / self.photo_size.height())
        width, height = self.photo_size.width() * scale, self.photo_size.height() * scale
        return QRectF(area.x() + (area.width() - width) / 2, area.y() + (area.height() - height) / 2, width, height)

    def to_widget(self, box: Box) -> QRectF:
        target = self.photo_rect()
        scale = target.width() / self.photo_size.width()
        x, y, w, h = box
        return QRectF(target.x() + x * scale, target.y() + y * scale, w * scale, h * scale)

    def to_photo(self, rect: QRectF) -> Box | None:
        """A widget rectangle → photo pixels, clipped to the photo; None if nothing is left."""
        target = self.photo_rect()
        if target.isEmpty():
            return None
        clipped = rect.normalized().intersected(target)
        if clipped.isEmpty():
            return None
        scale = self.photo_size.width() / target.width()
        box = QRect(round((clipped.x() - target.x()) * scale), round((clipped.y() - target.y()) * scale),
                    round(clipped.width() * scale), round(clipped.height() * scale))
        if box.width() < 2 or box.height() < 2:
            return None
        return box.x(), box.y(), box.width(), box.height()

    def box_at(self, point: QPointF) -> int:
        """The index of the smallest box under the point, or -1."""
        hits = [(box[2] * box[3], index) for index, (box, _, _) in enumerate(self.boxes) if self.to_widget(box).contains(point)]
        return min(hits)[1] if hits else -1

    # --- mouse ------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self.image.isNull():
            self._press = event.position()
            self._drag = None

    def mouseMoveEvent(self, event) -> None:
        if self._press is None:
            return
        if self._drag is None and (event.position() - self._press).manhattanLength() < DRAG_START:
            return
        self._drag = QRectF(self._press, event.position()).normalized()
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        drag, press = self._drag, self._press
        self._press = self._drag = None
        self.update()
        if drag is not None:
            region = self.to_photo(drag)
            if region is not None:
                self.region_selected.emit(region)
            return
        index = self.box_at(press)
        if index >= 0:
            self.box_clicked.emit(index)

    # --- painting ---------------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        if self.image.isNull():
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect().adjusted(24, 24, -24, -24), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        target = self.photo_rect()
        painter.drawPixmap(target.topLeft(), self._pixmap_for(target.size().toSize()))
        if self.region is not None:
            self._paint_region(painter, self.to_widget(self.region))
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for index, (box, label, confidence) in enumerate(self.boxes):
            self._paint_box(painter, self.to_widget(box), label, confidence, index == self.selected)
        if self._drag is not None:
            self._paint_region(painter, self._drag)
        painter.end()

    def _pixmap_for(self, size: QSize) -> QPixmap:
        """The photo scaled smoothly once per size, so repaints (a rectangle being dragged) are cheap."""
        key = self.image.cacheKey()
        if self._scaled is None or self._scaled[0] != key or self._scaled[1] != size:
            scaled = self.image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
            self._scaled = (key, size, QPixmap.fromImage(scaled))
        return self._scaled[2]

    def _paint_region(self, painter: QPainter, rect: QRectF) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        pen = QPen(QColor(30, 120, 230), 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(rect)

    def _paint_box(self, painter: QPainter, rect: QRectF, label: str, confidence: float, selected: bool) -> None:
        colour = confidence_colour(confidence)
        if selected:
            fill = QColor(colour)
            fill.setAlpha(50)
            painter.fillRect(rect, fill)
        painter.setPen(QPen(colour, 3 if selected else 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        if not label:
            return
        metrics = painter.fontMetrics()
        tag = QRectF(rect.x(), rect.y() - metrics.height() - 2, max(metrics.horizontalAdvance(label) + 8, 16), metrics.height() + 2)
        if tag.y() < 0:
            tag.moveTop(rect.bottom() + 1)  # no room above the box: put the label below it
        painter.fillRect(tag, colour)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    def sizeHint(self) -> QSize:
        return QSize(560, 380)
