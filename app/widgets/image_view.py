"""A numpy image shown scaled to fit, with crisp pixels when enlarged (the 28×28 input)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.imaging import to_qimage


class ImageView(QWidget):
    clicked = Signal()

    def __init__(self, title: str = "", smooth: bool = False, minimum: int = 84, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.smooth = smooth
        self.image = QImage()
        self.array: np.ndarray | None = None
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_array(self, array: np.ndarray | None) -> None:
        self.array = array
        self.image = to_qimage(array) if array is not None and array.size else QImage()
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image is drawn inside the widget (aspect kept, centred)."""
        if self.image.isNull():
            return QRectF()
        area = QRectF(self.rect())
        scale = min(area.width() / self.image.width(), area.height() / self.image.height())
        width, height = self.image.width() * scale, self.image.height() * scale
        return QRectF((area.width() - width) / 2, (area.height() - height) / 2, width, height)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        if self.image.isNull():
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "—")
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
            painter.drawImage(self.image_rect(), self.image)
        painter.end()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()

    def sizeHint(self) -> QSize:
        return QSize(112, 112)
