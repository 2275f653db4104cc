"""The Photo page through the real main window: opening, drag and drop, paste, boxes and the
chosen character's pipeline, a dragged region, live settings, the enlarged stage, the
video-file camera, no camera, and bad files — all shown in the page, none blocking it."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from bad_images import EXPECTED, seven_on_paper, write_all
from conftest import TEST_DATA
from photo_maker import handwriting_line, photograph, pick
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_capture import write_video

from app.imaging import to_qimage
from lenet_core.datasets import load_dataset


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A photo of five handwritten characters in a line, and one of a big "7"."""
    folder = tmp_path_factory.mktemp("photos")
    data = load_dataset(TEST_DATA / "emnist", "balancedmini", "test")
    rng = np.random.default_rng(21)
    glyphs, _ = pick(data, 5, rng)
    line = photograph(handwriting_line(glyphs, height=90, gap=0.5, rng=rng), rng)
    cv2.imwrite(str(folder / "line.jpg"), line[..., ::-1])
    cv2.imwrite(str(folder / "seven.png"), seven_on_paper())
    return folder


@pytest.fixture
def page(photo_page):
    return photo_page


def settled(qtbot, page):
    """Until the reading on screen answers the photo and settings as they are now."""
    qtbot.waitUntil(lambda: not page._throttle.isActive() and page._shown == page._sequence and page.reading is not None, timeout=10000)
    return page.reading


def open_and_read(qtbot, window, path):
    page = window.photo_page
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        window.open_image(str(path))
    return settled(qtbot, page)


def test_opening_a_photo_boxes_and_reads_every_character(qtbot, main_window, page, photos):
    main_window.tabs.setCurrentWidget(main_window.draw_page)
    reading = open_and_read(qtbot, main_window, photos / "line.jpg")
    assert main_window.tabs.currentWidget() is page
    assert len(reading.characters) == 5
    assert [box for box, _, _ in page.photo_view.boxes] == [character.box for character in reading.characters]
    assert page.reading_view.text() == reading.text
    assert page.top_k.text() == reading.characters[0].char
    assert list(page.strip.tiles) == ["original", "gray", "normalised", "cleaned", "cuts", "cropped", "centred", "input"]
    assert page.strip.tiles["input"].size_label.text() == "28×28"
    height, width = page.image.shape[:2]
    assert page.strip.tiles["original"].size_label.text() == f"{width}×{height}"
    assert not page.message.isVisible()


def test_clicking_a_box_shows_that_characters_pipeline(qtbot, main_window, page, photos):
    reading = open_and_read(qtbot, main_window, photos / "line.jpg")
    target = reading.characters[3]
    centre = page.photo_view.to_widget(target.box).center().toPoint()
    qtbot.mouseClick(page.photo_view, Qt.MouseButton.LeftButton, pos=centre)
    assert page.selected == 3 and page.photo_view.selected == 3 and page.reading_view.selected == 3
    assert page.strip.tiles["input"].stage.image is target.pipeline.input
    assert page.top_k.text() == target.char
    # The same through the reading's cells, and the arrow keys.
    qtbot.mouseClick(page.reading_view, Qt.MouseButton.LeftButton, pos=page.reading_view._rects[1].center().toPoint())
    assert page.selected == 1
    page.reading_view.setFocus()
    QTest.keyClick(page.reading_view, Qt.Key.Key_Right)
    assert page.selected == 2


def test_dragging_a_rectangle_reads_only_that_part(qtbot, main_window, page, photos):
    reading = open_and_read(qtbot, main_window, photos / "line.jpg")
    first, second = (page.photo_view.to_widget(character.box) for character in reading.characters[1:3])
    start = QPoint(int(first.left()) - 4, int(min(first.top(), second.top())) - 6)
    end = QPoint(int(second.right()) + 4, int(max(first.bottom(), second.bottom())) + 6)
    view = page.photo_view
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
        for step in range(1, 11):
            QTest.mouseMove(view, start + (end - start) * step / 10)
        QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    part = shown.args[0]
    assert page.region is not None and page.whole_action.isEnabled()
    assert [c.char for c in part.characters] == [c.char for c in reading.characters[1:3]]
    for inside, whole in zip(part.characters, reading.characters[1:3]):
        assert np.allclose(inside.box, whole.box, atol=3)
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as again:
        page.whole_action.trigger()
    assert len(again.args[0].characters) == 5 and page.region is None


def test_settings_change_the_strip_and_reading_live(qtbot, main_window, page, photos):
    reading = open_and_read(qtbot, main_window, photos / "seven.png")
    assert reading.text == "7"
    plain = reading.characters[0].pipeline.input
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        page.stroke_box.setValue(2.0)
    bolder = settled(qtbot, page).characters[0].pipeline.input
    assert bolder.sum() > plain.sum() * 1.15
    assert page.strip.tiles["input"].stage.image is bolder
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        page.border_box.setValue(6.0)
    smaller = settled(qtbot, page).characters[0].pipeline.input
    assert (smaller[:5] == 0).all() and (smaller[:, :5] == 0).all()
    page.threshold_picker.setCurrentIndex(page.threshold_picker.findData("fixed"))
    assert page.level_slider.isEnabled()
    for value in range(50, 96, 5):  # dragged: only the newest setting is read
        page.level_slider.setValue(value)
    settled(qtbot, page)
    assert page.options().threshold == "fixed" and page.options().threshold_level == pytest.approx(0.95)
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        page.ink_picker.setCurrentIndex(page.ink_picker.findData("off"))  # "light ink": there is none
    assert settled(qtbot, page).empty
    assert "no ink" in page.reading_view.hint and page.top_k.text() == ""
    assert list(page.strip.tiles)[-1] == "input"  # the strip still shows every stage
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        page.reset_settings()
    assert settled(qtbot, page).text == "7"
    assert page.options() == page.options().__class__(mode="photo")


def test_reading_all_the_ink_as_one_character(qtbot, main_window, page, photos):
    open_and_read(qtbot, main_window, photos / "line.jpg")
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        page.split_picker.setCurrentIndex(page.split_picker.findData(False))
    assert len(shown.args[0].characters) == 1 and len(page.photo_view.boxes) == 1
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        page.split_picker.setCurrentIndex(page.split_picker.findData(True))
    assert len(shown.args[0].characters) == 5


def test_clicking_a_stage_enlarges_it(qtbot, main_window, page, photos):
    open_and_read(qtbot, main_window, photos / "seven.png")
    tile = page.strip.tiles["cleaned"]
    qtbot.mouseClick(tile.view, Qt.MouseButton.LeftButton)
    dialog = page.strip.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.name == "cleaned" and "Thresholded" in dialog.windowTitle()
    assert dialog.view.array.shape == tile.stage.image.shape
    dialog.close()


def drop_on(widget, mime: QMimeData) -> None:
    point = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def test_dropping_files_and_pictures_onto_the_window(qtbot, main_window, page, photos):
    main_window.tabs.setCurrentWidget(main_window.draw_page)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photos / "seven.png")), QUrl.fromLocalFile(str(photos / "line.jpg"))])
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        drop_on(main_window, mime)
    assert main_window.tabs.currentWidget() is page
    assert shown.args[0].text == "7" and page.file_position.text() == "1 of 2" and page.files_nav.isVisible()
    picture = QMimeData()
    picture.setImageData(to_qimage(cv2.imread(str(photos / "line.jpg"))[..., ::-1].copy()))
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        drop_on(main_window, picture)
    assert len(shown.args[0].characters) == 5


def test_pasting_from_the_clipboard(qtbot, main_window, page, photos):
    clipboard = QGuiApplication.clipboard()
    clipboard.setImage(QImage(str(photos / "seven.png")))
    main_window.tabs.setCurrentWidget(main_window.draw_page)
    main_window.activateWindow()
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        QTest.keyClick(main_window, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert shown.args[0].text == "7" and main_window.tabs.currentWidget() is page
    encoded = QMimeData()
    encoded.setData("image/png", (photos / "line.jpg").read_bytes())  # any encoded bytes: decoded by read_image
    clipboard.setMimeData(encoded)
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        main_window.paste_image_action.trigger()
    assert len(shown.args[0].characters) == 5
    clipboard.setText("just some text")
    with qtbot.waitSignal(page.message_shown, timeout=5000) as told:
        page.paste_button.click()
    assert "no image" in told.args[0]


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("bad"))


def test_bad_files_are_told_in_the_page(qtbot, main_window, page, image_files, photos):
    open_and_read(qtbot, main_window, photos / "seven.png")
    for name, (kind, expected) in EXPECTED.items():
        if kind != "error":
            continue
        with qtbot.waitSignal(page.message_shown, timeout=10000, check_params_cb=bool) as told:
            main_window.open_image(str(image_files[name]))
        assert expected in told.args[0] and name in told.args[0] and "Traceback" not in told.args[0]
        assert page.message.isVisible() and page.message.text() == told.args[0]
    assert page.reading.text == "7"  # the photo on screen stays until one opens
    reading = open_and_read(qtbot, main_window, image_files["cmyk.jpg"])
    assert reading.text == "7" and not page.message.isVisible()


@pytest.mark.parametrize("name", [name for name, (kind, _) in EXPECTED.items() if kind == "reads"])
def test_odd_but_valid_files_are_read(qtbot, main_window, page, image_files, name):
    reading = open_and_read(qtbot, main_window, image_files[name])
    assert reading.text == EXPECTED[name][1]
    if reading.empty:
        assert "no ink" in page.reading_view.hint


def test_loading_and_reading_run_off_the_gui_thread(qtbot, main_window, page, image_files, monkeypatch):
    import app.pages.photo as photo_module

    threads = []
    for name in ("read_image", "read_photo"):
        original = getattr(photo_module, name)

        def spy(*args, _original=original, **kwargs):
            threads.append(threading.current_thread() is threading.main_thread())
            return _original(*args, **kwargs)

        monkeypatch.setattr(photo_module, name, spy)
    reading = open_and_read(qtbot, main_window, image_files["big-6000x4500.jpg"])
    assert reading.text == "7"
    assert len(threads) >= 2 and not any(threads), "decoding or reading ran on the GUI thread"


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "desk.avi"
    write_video(path, frames=45, fps=30)
    return path


def test_a_video_file_works_as_the_camera(qtbot, main_window, page, video):
    camera = page.camera
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as live:
        assert camera.start(video)
    assert camera.running and page.live and camera.capture_button.isEnabled()
    assert not page.photo_view.image.isNull() and live.args[0].text == "7"
    assert camera.source_picker.currentText() == "desk.avi"
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as kept:
        qtbot.mouseClick(camera.capture_button, Qt.MouseButton.LeftButton)
    assert not camera.running and not page.live
    assert kept.args[0].text == "7" and "desk.avi" in page.image_name
    frame = page.image.copy()
    # Mirrored: what is kept is the flipped frame.
    camera.mirror_box.setChecked(True)
    with qtbot.waitSignal(camera.captured, timeout=10000) as ended:  # played to the end
        camera.start(video)
    assert "last frame" in ended.args[1]
    qtbot.waitUntil(lambda: not camera.running, timeout=5000)
    assert page.image.shape == frame.shape and not np.array_equal(page.image, frame)


def test_no_camera_is_said_plainly(qtbot, main_window, page, monkeypatch):
    camera = page.camera
    monkeypatch.setattr("lenet_core.capture.list_cameras", lambda timeout=2.0: [])
    with qtbot.waitSignal(camera.cameras_listed, timeout=5000):
        camera.refresh_button.click()
    assert camera.source_picker.currentText() == "No camera found"
    with qtbot.waitSignal(page.message_shown, timeout=5000) as told:
        camera.start_button.click()
    assert "No camera found" in told.args[0] and not camera.running
    with qtbot.waitSignal(page.message_shown, timeout=8000, check_params_cb=bool) as told:
        camera.start(9)
    assert "Camera 9 is not available" in told.args[0]
    qtbot.waitUntil(lambda: not camera.running, timeout=5000)
    assert not page.live


def test_several_files_are_gone_through_with_next_and_previous(qtbot, main_window, page, photos):
    """As from the command line: every file is reachable, and one that is not there is named."""
    main_window.tabs.setCurrentWidget(main_window.draw_page)
    given = [photos / "seven.png", photos / "missing.png", photos / "line.jpg"]
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        main_window.open_images([str(path) for path in given])
    assert main_window.tabs.currentWidget() is page and shown.args[0].text == "7"
    assert page.file_position.text() == "1 of 2"
    assert page.message.isVisible() and "missing.png" in page.message.text() and "1 of 3 files does not exist" in page.message.text()
    assert not page.previous_action.isEnabled() and page.next_action.isEnabled()
    main_window.model_picker.setFocus()  # the page's keys work wherever the focus is
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        QTest.keyClick(main_window.model_picker, Qt.Key.Key_PageDown)
    assert len(shown.args[0].characters) == 5 and page.file_position.text() == "2 of 2"
    assert "line.jpg" in page.status.text() and not page.message.isVisible()
    assert not page.next_action.isEnabled()
    with qtbot.waitSignal(page.reading_shown, timeout=10000) as shown:
        page.previous_button.click()
    assert shown.args[0].text == "7" and "seven.png" in page.status.text()


def test_only_missing_files_say_so(qtbot, main_window, page, photos):
    main_window.open_images([str(photos / "nothing-here.png")])
    qtbot.waitUntil(page.message.isVisible, timeout=3000)
    assert "nothing-here.png does not exist" in page.message.text() and not page.files_nav.isVisible()


def test_a_large_photo_says_its_own_size_and_the_size_it_is_read_at(qtbot, main_window, page, tmp_path):
    big = np.full((4800, 6400, 3), 235, np.uint8)
    cv2.putText(big, "7", (2600, 3200), cv2.FONT_HERSHEY_SIMPLEX, 60, (20, 20, 20), 120)
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), big)
    open_and_read(qtbot, main_window, path)
    text = page.status.text()
    assert "6400×4800 (read at " in text, text
    assert f"({page.image.shape[1]}×{page.image.shape[0]})" not in text and f"read at {page.image.shape[1]}×{page.image.shape[0]})" in text
