"""A spin box whose lowest value reads (and can be typed as) a word such as "auto"."""

from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QSpinBox


class WordedMinimumSpinBox(QSpinBox):
    """QSpinBox with `word` as the special value text of its minimum. Qt shows the special text
    but does not accept it typed; this accepts it (any case) and its beginnings while typing."""

    def __init__(self, word: str, minimum: int, maximum: int, value: int):
        super().__init__()  # Qt validates while it sets the value: `word` must be there first
        self.word = word
        self.setSpecialValueText(word)
        self.setRange(minimum, maximum)
        self.setValue(value)

    def validate(self, text: str, pos: int):
        typed = text.strip().lower()
        if typed and self.word.lower().startswith(typed):
            state = QValidator.State.Acceptable if typed == self.word.lower() else QValidator.State.Intermediate
            return state, text, pos
        return super().validate(text, pos)

    def valueFromText(self, text: str) -> int:
        return self.minimum() if text.strip().lower() == self.word.lower() else super().valueFromText(text)
