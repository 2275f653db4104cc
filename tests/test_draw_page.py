"""The Draw page through the real main window: mouse strokes, live prediction, undo/redo/clear,
model switching and bad model files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.stroke_replay import replay, sample_strokes
from lenet_core import bundle


def wait_settled(qtbot, page):
    """Until the prediction on screen answers the drawing as it is now."""
    qtbot.waitUntil(lambda: not page._throttle.isActive() and page._shown == page._sequence, timeout=10000)
    return page.last_prediction


def draw_sample(qtbot, window, name: str = "seven"):
    page = window.draw_page
    replay(page.pad, sample_strokes(name)["strokes"])
    prediction = wait_settled(qtbot, page)
    assert not prediction.empty
    return prediction


def test_drawing_with_the_mouse_predicts_live(qtbot, main_window):
    page = main_window.draw_page
    assert page.top_k.text() == ""  # an empty pad shows a hint, not a guess
    seen = []
    page.prediction_shown.connect(seen.append)  # the page's own GUI-thread signal
    pad = page.pad
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(pad.width() // 2, pad.height() // 5))
    for step in range(1, 30):  # a vertical stroke, moved like a hand would
        QTest.mouseMove(pad, QPoint(pad.width() // 2, pad.height() // 5 + step * pad.height() // 50))
        qtbot.wait(5)
    assert seen and not seen[-1].empty, "predictions arrive while the stroke is still being drawn"
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(pad.width() // 2, pad.height() * 4 // 5))
    assert len(pad.strokes()) == 1
    prediction = wait_settled(qtbot, page)
    assert not prediction.empty and len(prediction.top) == 5
    assert prediction.top[0][0] in "1lIi|/7"  # a single vertical stroke
    assert page.top_k.text() == prediction.top[0][0]
    assert page.input_view.array.shape == (28, 28)


@pytest.mark.parametrize(("sample", "accepted"), [("seven", "7"), ("letter-a", "Aa"), ("letter-l", "L"), ("zero", "0OD")])
def test_shipped_samples_are_read(qtbot, main_window, sample, accepted):
    prediction = draw_sample(qtbot, main_window, sample)
    assert prediction.top[0][0] in accepted, prediction.top


def test_undo_redo_clear(qtbot, main_window):
    page = main_window.draw_page
    draw_sample(qtbot, main_window, "letter-a")  # two strokes
    assert len(page.pad.strokes()) == 2
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        page.undo_action.trigger()
    assert len(page.pad.strokes()) == 1
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        page.redo_action.trigger()
    assert len(page.pad.strokes()) == 2
    page.pad.setFocus()
    with qtbot.waitSignal(page.prediction_shown, timeout=5000) as cleared:
        QTest.keyClick(page.pad, Qt.Key.Key_Escape)
    assert cleared.args[0].empty and page.pad.is_empty() and page.top_k.text() == ""
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        QTest.keyClick(page.pad, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the clear
    assert len(page.pad.strokes()) == 2
    with qtbot.waitSignal(page.prediction_shown, timeout=5000):
        QTest.keyClick(page.pad, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert page.pad.is_empty()


def test_eraser_removes_ink(qtbot, main_window):
    page = main_window.draw_page
    draw_sample(qtbot, main_window, "letter-l")
    before = page.pad.render_image()
    qtbot.mouseClick(page.eraser_button, Qt.MouseButton.LeftButton)
    assert page.pad.eraser
    page.width_slider.setValue(40)
    replay(page.pad, [[[0.2, 0.82], [0.9, 0.82]]])  # rub out the foot of the L
    wait_settled(qtbot, page)
    after = page.pad.render_image()
    assert after[int(0.82 * 280), int(0.6 * 280)] < before[int(0.82 * 280), int(0.6 * 280)]
    assert page.pad.strokes()[-1].eraser


def test_dark_on_light_style_reads_the_same(qtbot, main_window):
    page = main_window.draw_page
    first = draw_sample(qtbot, main_window, "seven")
    with qtbot.waitSignal(page.prediction_shown, timeout=5000) as restyled:
        page.style_combo.setCurrentIndex(page.style_combo.findData("dark-on-light"))
    image = page.pad.render_image()
    assert image[0, 0] > 200  # light paper
    assert restyled.args[0].top[0][0] == first.top[0][0]
    np.testing.assert_allclose(restyled.args[0].pipeline.input, first.pipeline.input, atol=0.05)


def test_switching_model_repredicts(qtbot, main_window, tmp_path):
    draw_sample(qtbot, main_window, "seven")
    page = main_window.draw_page
    other = tmp_path / "copy-of-default.lenet"
    shutil.copy(bundle.resolve(None).path, other)
    with qtbot.waitSignal(page.prediction_shown, timeout=10000) as again:
        main_window.models.activate(str(other))
    assert page.recognizer.bundle.path == other
    assert again.args[0].top[0][0] == "7"
    assert "copy-of-default" in main_window.model_picker.currentText()


@pytest.mark.parametrize(("model", "sample", "accepted", "classes"), [("emnist-letters", "letter-a", "Aa", 26), ("emnist-digits", "seven", "7", 10), ("emnist-balanced", "zero", "0OD", 47)])
def test_each_shipped_model_is_picked_with_the_keyboard_and_reads(qtbot, main_window, model, sample, accepted, classes):
    draw_sample(qtbot, main_window, sample)
    page, picker = main_window.draw_page, main_window.model_picker
    target = next(i for i in range(picker.count()) if picker.itemText(i) == model)
    picker.setFocus()
    key = Qt.Key.Key_Down if target > picker.currentIndex() else Qt.Key.Key_Up
    while picker.currentIndex() != target:  # arrow keys on a closed combo box choose, as a user would
        QTest.keyClick(picker, key)
    qtbot.waitUntil(lambda: page.recognizer is not None and page.recognizer.name == model, timeout=10000)
    prediction = wait_settled(qtbot, page)
    assert len(page.recognizer.classes) == classes
    assert prediction.top[0][0] in accepted, prediction.top
    assert main_window.model_label.text().startswith(f"{model} · {classes} classes"), main_window.model_label.text()


def test_the_last_model_asked_for_wins_not_the_last_loaded(qtbot, main_window, monkeypatch):
    import time

    from app import model_manager

    slow_loads = []

    def load(source):
        if "digits" in str(source):  # the first request takes longer than the second
            time.sleep(0.5)
            slow_loads.append(source)
        return model_manager.Recognizer(source)

    monkeypatch.setattr(model_manager, "_load", load)
    models = main_window.models
    models.activate("emnist-digits")
    models.activate("emnist-letters")
    qtbot.waitUntil(lambda: bool(slow_loads) and models.recognizer.name == "emnist-letters", timeout=10000)
    qtbot.wait(300)  # the slow, older load has finished and been heard by now
    assert models.recognizer.name == "emnist-letters"
    assert main_window.draw_page.recognizer is models.recognizer


def test_broken_model_keeps_the_previous_one(qtbot, main_window, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr("app.window.QMessageBox.warning", lambda parent, title, text: warnings.append(text))
    active = main_window.models.recognizer
    broken = tmp_path / "broken.lenet"
    broken.write_bytes(b"PK\x03\x04 this is not a model")
    with qtbot.waitSignal(main_window.models.load_failed, timeout=10000) as failed:
        main_window.models.activate(str(broken))
    assert "broken.lenet" in failed.args[0]
    assert main_window.models.recognizer is active
    assert warnings and "Still using" in warnings[0]
    missing = tmp_path / "missing.lenet"
    with qtbot.waitSignal(main_window.models.load_failed, timeout=10000):
        main_window.models.activate(str(missing))
    assert main_window.models.recognizer is active


def test_model_with_wrong_class_count_is_refused(qtbot, main_window, tmp_path, monkeypatch):
    monkeypatch.setattr("app.window.QMessageBox.warning", lambda *args: None)
    source = bundle.resolve(None)
    meta = dict(source.meta, classes=list("0123456789"))  # says 10 classes, network has 47
    liar = bundle.write_bundle(tmp_path / "liar.lenet", meta, source.tflite_bytes())
    active = main_window.models.recognizer
    with qtbot.waitSignal(main_window.models.load_failed, timeout=10000) as failed:
        main_window.models.activate(str(liar))
    assert "47 outputs but the metadata lists 10 classes" in failed.args[0]
    assert main_window.models.recognizer is active


def test_stale_requests_are_dropped_not_queued(qtbot, main_window):
    page = main_window.draw_page
    draw_sample(qtbot, main_window, "seven")
    worker = page.worker
    dropped_before = worker.dropped
    for _ in range(50):  # a burst of requests while one is running
        page.predict_now()
    # The newest request is the one on screen (its answer is queued to the GUI thread, so it
    # lands a moment after the worker goes idle); a dropped newest request never would be.
    qtbot.waitUntil(lambda: not worker.busy and page._shown == page._sequence, timeout=10000)
    assert worker.dropped > dropped_before


def test_settings_are_remembered(qtbot, main_window_factory):
    first = main_window_factory()
    first.draw_page.width_slider.setValue(27)
    first.draw_page.style_combo.setCurrentIndex(1)
    first.resize(720, 530)  # the offscreen screen is 800×600
    first.close()
    second = main_window_factory()
    assert second.draw_page.width_slider.value() == 27
    assert second.draw_page.style_combo.currentData() == "dark-on-light"
    assert (second.width(), second.height()) == (720, 530)


def test_remembered_model_that_vanished_falls_back(qtbot, main_window_factory, tmp_path):
    gone = tmp_path / "gone.lenet"
    shutil.copy(bundle.resolve(None).path, gone)
    first = main_window_factory(model=str(gone))
    assert first.models.recognizer.bundle.path == gone
    first.close()
    gone.unlink()
    second = main_window_factory(wait_for_model=False)
    qtbot.waitUntil(lambda: second.models.recognizer is not None, timeout=10000)
    assert second.models.recognizer.name == bundle.DEFAULT_MODEL
