"""What a new user trips over in the first minutes (issue 17), through the real window: shortcuts
with the focus anywhere, controls that stay visible at the minimum size, a layout that does not
jump while predictions change, empty states and messages that say what they mean."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollBar

from app.stroke_replay import replay, sample_strokes


def wait_settled(qtbot, page):
    qtbot.waitUntil(lambda: not page._throttle.isActive() and page._shown == page._sequence, timeout=10000)
    return page.last_prediction


def draw(qtbot, page, name="seven"):
    replay(page.pad, sample_strokes(name)["strokes"])
    return wait_settled(qtbot, page)


def test_pad_has_the_focus_at_launch_and_takes_it_when_drawn_on(qtbot, main_window):
    page = main_window.draw_page
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.pad, timeout=3000)
    main_window.model_picker.setFocus()
    pad = page.pad
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(pad.width() // 2, pad.height() // 3))
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(pad.width() // 2, pad.height() // 3))
    assert QApplication.focusWidget() is pad


def test_draw_shortcuts_work_with_the_focus_on_the_toolbar(qtbot, main_window):
    page = main_window.draw_page
    draw(qtbot, page, "letter-a")  # two strokes
    picker = main_window.model_picker
    picker.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is picker, timeout=3000)
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        QTest.keyClick(picker, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(page.pad.strokes()) == 1
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        QTest.keyClick(picker, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(page.pad.strokes()) == 2
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        QTest.keyClick(picker, Qt.Key.Key_Escape)
    assert page.pad.is_empty()
    draw(qtbot, page)
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        QTest.keyClick(picker, Qt.Key.Key_Delete)
    assert page.pad.is_empty()


def test_draw_shortcuts_do_not_fire_on_another_page(qtbot, main_window):
    page = main_window.draw_page
    draw(qtbot, page)
    main_window.tabs.setCurrentWidget(main_window.photo_page)
    main_window.model_picker.setFocus()
    QTest.keyClick(main_window.model_picker, Qt.Key.Key_Escape)
    QTest.keyClick(main_window.model_picker, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(100)
    assert len(page.pad.strokes()) == 1, "Esc and Ctrl+Z on the Photo page leave the drawing alone"
    main_window.tabs.setCurrentWidget(page)
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        QTest.keyClick(main_window.model_picker, Qt.Key.Key_Escape)
    assert page.pad.is_empty()


def test_pen_width_slider_is_usable_at_the_minimum_size(qtbot, main_window):
    window = main_window
    for width in (window.minimumSizeHint().width(), 801):
        window.resize(width, 526)
        qtbot.waitUntil(lambda width=width: window.width() <= max(width, window.minimumSizeHint().width()) + 1, timeout=2000)
        qtbot.wait(50)
        slider = window.draw_page.width_slider
        assert slider.isVisible() and slider.width() >= 100, (width, slider.width())
        for button in (window.draw_page.undo_button, window.draw_page.clear_button, window.draw_page.style_combo):
            assert button.isVisible() and button.width() >= button.minimumSizeHint().width()


def test_pad_keeps_its_geometry_while_predictions_change(qtbot, main_window):
    window = main_window
    window.resize(800, 600)  # narrow: where the old layout moved the pad by up to 80 px
    qtbot.wait(100)
    page = window.draw_page
    pad = page.pad
    geometries = {pad.geometry().getRect()}
    for sample in ("seven", "letter-a", "zero"):
        draw(qtbot, page, sample)
        qtbot.wait(20)
        geometries.add(pad.geometry().getRect())
        page.undo_action.trigger()  # renames the undo action ("Undo stroke"…)
        wait_settled(qtbot, page)
        geometries.add(pad.geometry().getRect())
        page.top_k.show_hint("A much longer message than any prediction, one that wraps over several lines of the side panel.")
        qtbot.wait(20)
        geometries.add(pad.geometry().getRect())
        page.clear_action.trigger()
        wait_settled(qtbot, page)
    geometries.add(pad.geometry().getRect())
    assert len(geometries) == 1, geometries


def test_empty_state_is_a_frame_not_a_black_bar(qtbot, main_window):
    page = main_window.draw_page
    assert page.top_k.text() == "" and page.top_k.best.text() == ""
    height = page.top_k.best.height()
    draw(qtbot, page)
    assert page.top_k.text() == page.last_prediction.top[0][0]
    assert page.top_k.best.height() == height, "the best guess keeps its height, empty or not"
    image = page.top_k.best.grab().toImage()
    page.clear_action.trigger()
    wait_settled(qtbot, page)
    empty = page.top_k.best.grab().toImage()
    dark = sum(1 for y in range(0, empty.height(), 2) for x in range(0, empty.width(), 2)
               if empty.pixelColor(x, y).lightness() < 60)
    assert dark < 0.01 * (empty.width() * empty.height() / 4), "no solid dark glyph where the guess goes"
    assert image.size() == empty.size()


def test_a_dot_is_too_little_ink_not_no_ink(qtbot, main_window):
    page = main_window.draw_page
    pad = page.pad
    page.width_slider.setValue(2)
    with qtbot.waitSignal(page.prediction_shown, timeout=5000) as shown:
        QTest.mouseClick(pad, Qt.MouseButton.LeftButton, pos=QPoint(pad.width() // 2, pad.height() // 2))
    if shown.args[0].empty:
        assert "too little ink" in page.top_k.caption.text().lower()
        assert "no ink" not in page.top_k.caption.text().lower()


def test_status_bar_elides_instead_of_cutting(qtbot, main_window):
    window = main_window
    window.resize(window.minimumSizeHint().width(), 526)
    qtbot.wait(100)
    bar = window.statusBar()
    for label in (window.model_label, window.device_label):
        if label.isVisible():
            assert label.geometry().right() <= bar.width(), "inside the status bar"
            shown = label.shown_text()
            assert shown == label.text() or shown.endswith("…")


def test_quick_guide_lists_the_shortcuts(qtbot, main_window):
    main_window.show_guide()
    box = main_window.guide_box
    qtbot.waitUntil(box.isVisible, timeout=3000)
    assert "Ctrl+Z" in box.text() and "Esc" in box.text()
    box.close()


def test_no_horizontal_scrollbar_on_the_draw_page_at_minimum_size(qtbot, main_window):
    window = main_window
    window.resize(window.minimumSizeHint().width(), window.minimumSizeHint().height())
    qtbot.wait(100)
    bars = [bar for bar in window.draw_page.findChildren(QScrollBar) if bar.isVisible() and bar.orientation() == Qt.Orientation.Horizontal]
    assert not bars


def test_start_and_stop_stay_put_while_messages_change(qtbot, main_window):
    """Long device or data messages wrap inside their own room: the Train page's Start and Stop
    buttons do not move, and the Train page does not make the window wider than the others."""
    window = main_window
    window.tabs.setCurrentWidget(window.train_page)
    qtbot.wait(50)
    page = window.train_page
    before = page.start_button.mapTo(page, page.start_button.rect().topLeft())
    page.settings_panel.device_label.setText("GPU: a very long device name " * 6)
    page.data_panel.data_status.setText("a long message about the data set that wraps over several lines " * 4)
    qtbot.wait(50)
    assert page.start_button.mapTo(page, page.start_button.rect().topLeft()) == before
    assert page.minimumSizeHint().width() <= window.draw_page.minimumSizeHint().width() + 200
    assert window.minimumSizeHint().width() <= 729, "no wider than the window's minimum before"


def test_photo_page_fits_the_minimum_window_without_a_sideways_scroll(qtbot, main_window):
    window = main_window
    window.tabs.setCurrentWidget(window.photo_page)
    window.resize(window.minimumSizeHint().width(), 600)
    qtbot.wait(100)
    page = window.photo_page
    bars = [bar for bar in page.findChildren(QScrollBar)
            if bar.isVisible() and bar.orientation() == Qt.Orientation.Horizontal and bar.maximum() > 0]
    assert not bars, "no horizontal scrolling at the window's minimum width"
    picker = page.split_picker
    right = picker.mapTo(page, picker.rect().topRight()).x()
    assert picker.isVisible() and right <= page.width(), "“Read as” is not cut off"


def test_every_stage_tile_has_the_same_picture_height(qtbot, main_window):
    window = main_window
    window.tabs.setCurrentWidget(window.photo_page)
    window.resize(1024, 700)
    qtbot.wait(100)
    tiles = window.photo_page.strip.tiles if hasattr(window.photo_page.strip, "tiles") else None
    from app.widgets.pipeline_strip import StageTile

    tiles = [tile for tile in window.photo_page.strip.findChildren(StageTile) if tile.isVisible()]
    assert len(tiles) >= 6
    heights = {tile.view.height() for tile in tiles}
    assert len(heights) == 1, heights


def test_opening_each_page_at_the_minimum_size_does_not_grow_the_window(qtbot, main_window):
    window = main_window
    window.resize(100, 100)  # as small as it goes
    qtbot.wait(100)
    size = window.size()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(100)
        assert window.size() == size, window.tabs.tabText(index)
    assert size.width() <= 729, "no wider than the minimum the issue measured"
    window.tabs.setCurrentWidget(window.train_page)
    qtbot.wait(100)
    page = window.train_page
    side = page.layout().itemAt(0).widget()
    assert side.geometry().right() < page.tabs.geometry().left(), "the Train page's columns do not overlap"
