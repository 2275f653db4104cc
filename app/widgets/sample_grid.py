"""A grid of small 28×28 samples with a caption under each (data preview, misclassified
gallery), painted in one pass so a few dozen samples cost one widget, not dozens of labels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.imaging import to_qimage

CELL_IMAGE = 42  # 28×28 shown 1.5× (crisp pixels)
CAPTION = 16
GAP = 6


class SampleGrid(QWidget):
    clicked = Signal(int)  # the index of a clicked sample

    def __init__(self, empty_text: str = "—", parent: QWidget | None = None):
        super().__init__(parent)
        self.empty_text = empty_text
        self.default_empty_text = empty_text
        self.captions: list[str] = []
        self.tooltips: list[str] = []
        self._images: list[QImage] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)

    def set_samples(self, images: np.ndarray, captions: list[str], tooltips: list[str] | None = None) -> None:
        self.empty_text = self.default_empty_text
        self._images = [to_qimage(image) for image in images]
        self.captions = list(captions)
        self.tooltips = list(tooltips) if tooltips is not None else list(captions)
        self.updateGeometry()
        self.update()

    def clear(self, empty_text: str | None = None) -> None:
        """No samples; `empty_text` says why, in place of the usual words for none."""
        self.set_samples(np.zeros((0, 28, 28), np.uint8), [])
        if empty_text is not None:
            self.empty_text = empty_text

    def count(self) -> int:
        return len(self._images)

    # --- geometry -----------------------------------------------------------------------------

    @staticmethod
    def _cell() -> QSize:
        return QSize(CELL_IMAGE + GAP, CELL_IMAGE + CAPTION + GAP)

    def _columns(self, width: int) -> int:
        return max(1, (width - GAP) // self._cell().width())

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        rows = -(-len(self._images) // self._columns(width)) if self._images else 1
        return GAP + rows * self._cell().height()

    def sizeHint(self) -> QSize:
        return QSize(8 * self._cell().width() + GAP, self.heightForWidth(8 * self._cell().width() + GAP))

    def minimumSizeHint(self) -> QSize:
        return QSize(self._cell().width() + GAP, self._cell().height() + GAP)

    def cell_rect(self, index: int) -> QRect:
        columns = self._columns(self.width())
        row, column = divmod(index, columns)
        cell = self._cell()
        return QRect(GAP + column * cell.width(), GAP + row * cell.height(), CELL_IMAGE, CELL_IMAGE + CAPTION)

    def index_at(self, x: int, y: int) -> int | None:
        for index in range(len(self._images)):
            if self.cell_rect(index).contains(x, y):
                return index
        return None

    # --- painting and tooltips ----------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        if not self._images:
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text)
            painter.end()
            return
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        for index, image in enumerate(self._images):
            rect = self.cell_rect(index)
            if not rect.intersects(event.rect()):
                continue
            painter.drawImage(QRect(rect.left(), rect.top(), CELL_IMAGE, CELL_IMAGE), image)
            caption = QRect(rect.left() - GAP // 2, rect.top() + CELL_IMAGE, CELL_IMAGE + GAP, CAPTION)
            painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, self.captions[index])
        painter.end()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.index_at(int(event.position().x()), int(event.position().y()))
            if index is not None:
                self.clicked.emit(index)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self.index_at(event.pos().x(), event.pos().y())
            if index is not None and self.tooltips[index]:
                QToolTip.showText(event.globalPos(), self.tooltips[index], self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)
