"""Which characters a reading may give: All, Digits, Letters, Upper case, Lower case, or a custom
string typed by the user (`lenet_core.charset` does the masking). Used by the Draw and Photo pages.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from lenet_core.charset import NAMED

CUSTOM = "custom"


class CharsetPicker(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        for name, title in NAMED:
            self.combo.addItem(title, name)
        self.combo.addItem("Custom…", CUSTOM)
        self.combo.setToolTip("Which characters the answer may hold: the network's other classes are left out")
        self.combo.setAccessibleName("Character set")
        self.custom = QLineEdit()
        self.custom.setPlaceholderText("e.g. 0123456789ABCDEF")
        self.custom.setToolTip("The characters the answer may hold, typed one after another")
        self.custom.setAccessibleName("Custom character set")
        self.custom.setMaximumWidth(180)
        self.custom.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.custom)
        self.combo.currentIndexChanged.connect(self._on_choice)
        self.custom.textChanged.connect(self._on_custom)

    def value(self) -> str | None:
        """What `lenet_core.charset.mask` takes: a set's name, the custom string, or None for all."""
        name = self.combo.currentData()
        if name == CUSTOM:
            return self.custom.text().strip() or None
        return None if name == "all" else name

    def setting(self) -> str:
        """The choice as one string to remember: a set's name, or "custom:" and the string."""
        name = self.combo.currentData()
        return f"{CUSTOM}:{self.custom.text()}" if name == CUSTOM else name

    def set_setting(self, text: str) -> None:
        if text.startswith(f"{CUSTOM}:"):
            self.custom.setText(text[len(CUSTOM) + 1 :])
            self.combo.setCurrentIndex(self.combo.findData(CUSTOM))
            return
        index = self.combo.findData(text)
        self.combo.setCurrentIndex(index if index >= 0 else 0)

    @Slot()
    def _on_choice(self) -> None:
        self.custom.setVisible(self.combo.currentData() == CUSTOM)
        self.changed.emit()

    @Slot()
    def _on_custom(self) -> None:
        if self.combo.currentData() == CUSTOM:
            self.changed.emit()
