"""The text read from a photo, one cell per character with its confidence under it; cells wrap
like text, words keep a gap, lines start a new row, and a click selects a character.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

from app.widgets.photo_view import confidence_colour

CELL_WIDTH, CELL_HEIGHT, GAP, WORD_GAP = 40, 58, 4, 16
ROWS_SHOWN = 4  # more rows than this scroll


class ReadingView(QWidget):
    character_clicked = Signal(int)
    rows_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.cells: list[tuple[str, float, int, int]] = []  # char, confidence, line, word
        self.selected = -1
        self.hint = ""
        self._text = ""
        self._rects: list[QRectF] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(CELL_HEIGHT + 2 * GAP)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_cells(self, cells: list[tuple[str, float, int, int]], text: str, selected: int = -1) -> None:
        """`cells`: (character, confidence, line, word) in reading order; `text`: them as text."""
        self.cells = list(cells)
        self._text = text
        self.selected = selected
        self.hint = ""
        self._relayout()

    def show_hint(self, text: str) -> None:
        self.cells, self.selected, self.hint, self._text = [], -1, text, ""
        self._relayout()

    def set_selected(self, index: int) -> None:
        self.selected = index
        self.update()

    def text(self) -> str:
        return self._text

    # --- layout -----------------------------------------------------------------------------

    def _relayout(self) -> None:
        self._rects = []
        x, y = GAP, GAP
        width = max(self.width(), CELL_WIDTH + 2 * GAP)
        for index, (_, _, line, word) in enumerate(self.cells):
            if index:
                previous = self.cells[index - 1]
                if line != previous[2]:
                    x, y = GAP, y + CELL_HEIGHT + GAP
                elif word != previous[3]:
                    x += WORD_GAP
            if x + CELL_WIDTH > width - GAP and x > GAP:  # wrap like text
                x, y = GAP, y + CELL_HEIGHT + GAP
            self._rects.append(QRectF(x, y, CELL_WIDTH, CELL_HEIGHT))
            x += CELL_WIDTH + GAP
        height = (y + CELL_HEIGHT + GAP) if self.cells else CELL_HEIGHT + 2 * GAP
        if int(height) != self.minimumHeight():
            self.setMinimumHeight(int(height))
            self.rows_changed.emit()
        self.setAccessibleDescription(self.text() or self.hint)
        self.update()

    def resizeEvent(self, event) -> None:
        self._relayout()

    def sizeHint(self) -> QSize:
        return QSize(320, self.minimumHeight())

    # --- interaction ------------------------------------------------------------------------

    def mouseReleaseEvent(self, event) -> None:
        for index, rect in enumerate(self._rects):
            if rect.contains(event.position()):
                self.character_clicked.emit(index)
                return

    def keyPressEvent(self, event) -> None:
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(event.key())
        if step and self.cells:
            self.character_clicked.emit(max(0, min(len(self.cells) - 1, self.selected + step)))
            return
        super().keyPressEvent(event)

    # --- painting ---------------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        if not self.cells:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect().adjusted(GAP, 0, -GAP, 0), Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap, self.hint)
            painter.end()
            return
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.9)
        big.setBold(True)
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        for index, ((char, confidence, _, _), rect) in enumerate(zip(self.cells, self._rects)):
            colour = confidence_colour(confidence)
            fill = QColor(colour)
            fill.setAlpha(70 if index == self.selected else 28)
            painter.setBrush(fill)
            painter.setPen(QPen(colour, 2.5 if index == self.selected else 1))
            painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            painter.setFont(big)
            painter.drawText(rect.adjusted(0, 0, 0, -16), Qt.AlignmentFlag.AlignCenter, char)
            painter.setFont(small)
            painter.drawText(rect.adjusted(0, rect.height() - 18, 0, -2), Qt.AlignmentFlag.AlignCenter, f"{confidence:.0%}")
        painter.end()


class ReadingArea(QScrollArea):
    """A `ReadingView` as tall as its rows, up to ROWS_SHOWN; longer readings scroll."""

    def __init__(self, view: ReadingView, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = view
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setWidget(view)
        view.rows_changed.connect(self.updateGeometry)

    def sizeHint(self) -> QSize:
        most = ROWS_SHOWN * (CELL_HEIGHT + GAP) + GAP
        return QSize(self.view.sizeHint().width(), min(self.view.minimumHeight(), most))

    def minimumSizeHint(self) -> QSize:
        return QSize(CELL_WIDTH + 2 * GAP, CELL_HEIGHT + 2 * GAP)
