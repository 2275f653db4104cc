"""What the network thinks: the best guess large, then labelled probability bars."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget


class ProbabilityBars(QWidget):
    """One row per guess: the character, a bar as long as its probability, the percentage."""

    def __init__(self, rows: int = 5, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows = rows
        self.entries: tuple[tuple[str, float], ...] = ()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(rows * 26)

    def set_entries(self, entries: tuple[tuple[str, float], ...]) -> None:
        self.entries = tuple(entries[: self.rows])
        self.setAccessibleDescription(", ".join(f"{c} {p:.0%}" for c, p in self.entries))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, self.rows * 26)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        row_height = self.height() / self.rows
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        label_width, value_width = row_height * 1.4, 56
        bar_space = max(self.width() - label_width - value_width - 8, 10)
        accent = palette.color(QPalette.ColorRole.Highlight)
        track = palette.color(QPalette.ColorRole.Mid)
        track.setAlpha(60)
        for index, (char, probability) in enumerate(self.entries):
            top = index * row_height
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            painter.drawText(QRectF(0, top, label_width, row_height), Qt.AlignmentFlag.AlignCenter, char)
            bar = QRectF(label_width, top + row_height * 0.22, bar_space, row_height * 0.56)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(track)
            painter.drawRoundedRect(bar, 3, 3)
            colour = QColor(accent) if index == 0 else QColor(accent.lighter(140))
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(bar.x(), bar.y(), max(bar.width() * probability, 2), bar.height()), 3, 3)
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            painter.drawText(
                QRectF(label_width + bar_space + 4, top, value_width, row_height),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"{probability:.1%}" if probability < 0.9995 else "100%",
            )
        painter.end()


class _BestGuess(QLabel):
    """The best guess, large. With no guess it keeps its height and shows a faint dotted box where
    the character will go (a large "–" in a bold 64-pt font read as a black bar)."""

    def __init__(self):
        super().__init__()
        self.guess = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_guess(self, char: str) -> None:
        self.guess = char
        self.setText(char)
        self.setAccessibleName(f"Best guess {char}" if char else "No guess yet")

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # pages enlarge the font: keep one height for both states
            self.setFixedHeight(QFontMetrics(self.font()).height())

    def paintEvent(self, event) -> None:
        if self.guess:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        side = min(self.height() * 0.7, self.width() * 0.8)
        box = QRectF((self.width() - side * 0.7) / 2, (self.height() - side) / 2, side * 0.7, side)
        colour = self.palette().color(QPalette.ColorRole.Mid)
        painter.setPen(QPen(colour, 1.5, Qt.PenStyle.DashLine))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawRoundedRect(box, 6, 6)
        painter.end()


class TopKView(QWidget):
    """The best guess as a large character with its probability, above the bars."""

    def __init__(self, rows: int = 5, parent: QWidget | None = None):
        super().__init__(parent)
        self.best = _BestGuess()
        self.best.setObjectName("bestGuess")
        self.best.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.font())
        font.setPointSize(64)
        font.setBold(True)
        self.best.setFont(font)
        self.caption = QLabel("")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.bars = ProbabilityBars(rows)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.best)
        layout.addWidget(self.caption)
        layout.addWidget(self.bars)
        self.show_hint("Draw a character to see what the network reads.")

    def show_prediction(self, top: tuple[tuple[str, float], ...]) -> None:
        char, probability = top[0]
        self.best.set_guess(char)
        self.caption.setText(f"{probability:.1%} sure")
        self.bars.set_entries(top)

    def show_hint(self, text: str) -> None:
        self.best.set_guess("")
        self.caption.setText(text)
        self.bars.set_entries(())

    def text(self) -> str:
        """The best guess on screen; "" while there is none."""
        return self.best.guess
