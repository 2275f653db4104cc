"""A numpy image shown scaled to fit, with crisp pixels when enlarged (the 28×28 input)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.imaging import to_qimage


class ImageView(QWidget):
    clicked = Signal()

    def __init__(self, title: str = "", smooth: bool = False, minimum: int = 84, parent: QWidget | None = None,
                 empty_text: str = ""):
        super().__init__(parent)
        self.title = title
        self.empty_text = empty_text
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
        if self.image.isNull():
            # Empty: a recessed frame with a short word, not a white box with a stray dash.
            painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window).darker(108))
            painter.setPen(QColor(128, 128, 128))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
            if self.empty_text:
                painter.drawText(self.rect().adjusted(4, 4, -4, -4),
                                 Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text)
        else:
            painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
            painter.drawImage(self.image_rect(), self.image)
        painter.end()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()

    def sizeHint(self) -> QSize:
        return QSize(112, 112)
