"""Reading by recognition through the real main window: a line of touching handwriting opened
on the Photo page is cut into its characters, the text is shown, selectable and copied
(Copy button, Ctrl+C) with its word spaces; the character set picker on both pages."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import TEST_DATA
from line_maker import Glyph, centre_line, draw_line
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from test_draw_page import draw_sample, wait_settled
from test_photo_page import open_and_read, settled

from lenet_core.datasets import load_dataset
from lenet_core.imageio import read_image
from lenet_core.inference import Recognizer


@pytest.fixture(scope="module")
def touching_line(tmp_path_factory):
    """Two words of touching handwriting (EMNIST test characters redrawn with a round pen)."""
    data = load_dataset(TEST_DATA / "emnist", "balancedmini", "test")
    glyphs = [Glyph(data.classes[label], centre_line(image, white_ink=True), str(i))
              for i, (image, label) in enumerate(zip(data.images[:5], data.labels[:5]))]
    image, _ = draw_line(glyphs, "touching", np.random.default_rng(7), height=90, pen=8, word_breaks=(3,))
    path = tmp_path_factory.mktemp("touching") / "touching.png"
    cv2.imwrite(str(path), image)
    return path


def test_a_touching_line_is_cut_read_and_copied(qtbot, main_window, touching_line):
    page = main_window.photo_page
    main_window.tabs.setCurrentWidget(page)
    reading = open_and_read(qtbot, main_window, touching_line)
    blobs = len(Recognizer().read(read_image(touching_line), search=False).characters)
    assert len(reading.characters) > blobs  # cuts through touching ink: more than one per blob
    assert len(page.photo_view.boxes) == len(reading.characters)
    text = reading.text
    assert " " in text and len(text.replace(" ", "")) == len(reading.characters)
    assert page.text_view.toPlainText() == text and page.text_view.isReadOnly()
    assert "cuts" in [stage.name for stage in reading.segmentation.stages]
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("something else")
    qtbot.mouseClick(page.copy_button, Qt.MouseButton.LeftButton)
    assert clipboard.text() == text
    clipboard.setText("something else")
    page.reading_view.setFocus()
    QTest.keyClick(page.reading_view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == text
    # a selection in the text box copies just that part
    page.text_view.setFocus()
    page.text_view.selectAll()
    cursor = page.text_view.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(2, cursor.MoveMode.KeepAnchor)
    page.text_view.setTextCursor(cursor)
    QTest.keyClick(page.text_view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == text[:2]
    # clicking a character still shows its top-k
    page.select_character(len(reading.characters) - 1)
    assert page.top_k.text() == reading.characters[-1].char


def test_the_character_set_applies_on_the_photo_page(qtbot, main_window, touching_line):
    page = main_window.photo_page
    main_window.tabs.setCurrentWidget(page)
    open_and_read(qtbot, main_window, touching_line)
    page.charset_picker.combo.setCurrentIndex(page.charset_picker.combo.findData("digits"))
    qtbot.waitUntil(lambda: page._shown == page._sequence and page.reading is not None and page.reading.text.replace(" ", "").isdigit(), timeout=10000)
    page.charset_picker.combo.setCurrentIndex(page.charset_picker.combo.findData("custom"))
    assert page.charset_picker.custom.isVisible()
    page.charset_picker.custom.setText("#%")
    qtbot.waitUntil(lambda: page.message.isVisible() and "Characters:" in page.message.text(), timeout=10000)
    page.charset_picker.custom.setText("AB")
    qtbot.waitUntil(lambda: not page.message.isVisible(), timeout=10000)
    reading = settled(qtbot, page)
    assert set(reading.text.replace(" ", "")) <= set("AB")


def test_the_character_set_applies_on_the_draw_page_and_is_remembered(qtbot, main_window_factory):
    first = main_window_factory()
    page = first.draw_page
    draw_sample(qtbot, first, "seven")
    page.charset_picker.combo.setCurrentIndex(page.charset_picker.combo.findData("upper"))
    qtbot.waitUntil(lambda: page._shown == page._sequence, timeout=10000)
    prediction = wait_settled(qtbot, page)
    assert all(char.isalpha() and char == char.upper() for char, _ in prediction.top)
    first.photo_page.charset_picker.set_setting("custom:0123456789ABCDEF")
    first.close()
    second = main_window_factory()
    assert second.draw_page.charset_picker.value() == "upper"
    assert second.photo_page.charset_picker.value() == "0123456789ABCDEF"


def test_a_missing_whole_character_network_is_told_in_the_page(qtbot, main_window, touching_line, tmp_path, monkeypatch):
    """A broken installation (the reader's network file gone): the page says what is wrong and
    what to do, the window keeps working, and the next photo reads once the file is back."""
    from lenet_core import wholeness

    page = main_window.photo_page
    main_window.tabs.setCurrentWidget(page)
    monkeypatch.setattr(wholeness, "NETWORK_FILE", ("reader", "no-such-network.tflite"))
    wholeness.shipped.cache_clear()
    try:
        with qtbot.waitSignal(page.message_shown, timeout=20000, check_params_cb=bool) as told:
            main_window.open_image(str(touching_line))
        assert "no-such-network.tflite is missing; reinstall LeNet Studio" in told.args[0]
        assert "Traceback" not in told.args[0] and page.message.isVisible()
        qtbot.mouseClick(main_window.tabs.tabBar(), Qt.MouseButton.LeftButton)  # the window still answers
        monkeypatch.undo()
        wholeness.shipped.cache_clear()
        main_window.tabs.setCurrentWidget(page)
        reading = open_and_read(qtbot, main_window, touching_line)
        assert reading.characters and not page.message.isVisible()
    finally:
        wholeness.shipped.cache_clear()
