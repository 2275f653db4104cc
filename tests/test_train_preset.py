"""The Train page's preset and strategy choices through the real window: Quick fills in its
recipe (and its warm-up reaches the run), Custom keeps what the user set, both are remembered."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from lenet_core.presets import PRESETS


def choose(qtbot, combo, text: str) -> None:
    """Pick an item the way a keyboard user does: focus the closed combo box, arrow to it."""
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    while combo.currentText() != text:
        before = combo.currentIndex()
        QTest.keyClick(combo, Qt.Key.Key_Down)
        assert combo.currentIndex() != before, f"{text!r} not in the list"


def test_the_quick_preset_fills_in_its_recipe_and_the_run_gets_it(qtbot, main_window_factory):
    window = main_window_factory()
    window.tabs.setCurrentWidget(window.train_page)
    page = window.train_page
    panel = page.settings_panel
    page.epochs_spin.setValue(3)
    choose(qtbot, panel.preset_combo, "Quick")
    quick = PRESETS["quick"].settings
    assert page.architecture_combo.currentData() == quick["architecture"]
    assert (page.epochs_spin.value(), page.batch_spin.value()) == (quick["epochs"], quick["batch_size"])
    assert page.lr_spin.value() == quick["learning_rate"] and page.validation_spin.value() == 0
    assert page.dropout_spin.value() == 0 and page.smoothing_spin.value() == quick["label_smoothing"]
    config = page.config()
    assert config.warmup_epochs == quick["warmup_epochs"] and config.epochs == quick["epochs"]
    page.epochs_spin.setValue(8)  # a preset is a starting point: the user's change counts
    assert page.config().epochs == 8
    choose(qtbot, panel.strategy_combo, "Mirrored: every GPU here")
    assert page.config().strategy == "mirrored"
    page.remember_settings()
    window.close()

    again = main_window_factory()
    panel = again.train_page.settings_panel
    assert panel.preset_combo.currentText() == "Quick" and panel.strategy_combo.currentData() == "mirrored"
    assert again.train_page.config().warmup_epochs == quick["warmup_epochs"]
    QTest.keyClick(panel.preset_combo, Qt.Key.Key_Up)  # back to Custom: no hidden warm-up any more
    assert panel.preset_combo.currentText() == "Custom" and again.train_page.config().warmup_epochs == 0.0
