"""Teaching the app one's handwriting through the real window: draw and add samples (button and
shortcut, label from the top guess or typed), correct a character on the Photo page, see,
delete and import samples on the Samples page, Adapt (a short run on a worker) so a new model
"emnist-digits + mine" becomes active and reads, the Train page's "Start from", and
Model ▸ Export… whose files load with TensorFlow and LiteRT."""

from __future__ import annotations

import json
import zipfile

import cv2
import numpy as np
import pytest
from conftest import TEST_DATA
from photo_maker import handwriting_line, photograph, pick
from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_adapt import write_folder
from test_draw_page import draw_sample

from lenet_core import bundle, samples
from lenet_core.datasets import load_dataset


@pytest.fixture
def window(main_window_factory):
    return main_window_factory("emnist-digits")


def add_drawn(qtbot, window, name, label=None, shortcut=False):
    page = window.draw_page
    prediction = draw_sample(qtbot, window, name)
    assert page.sample_label.text() == prediction.top[0][0]  # pre-filled from the top guess
    if label is not None:
        page.sample_label.selectAll()
        QTest.keyClicks(page.sample_label, label)
    with qtbot.waitSignal(page.sample_saver.saved, timeout=10000) as saved:
        if shortcut:
            page.pad.setFocus()
            QTest.keyClick(page.pad, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        else:
            qtbot.mouseClick(page.add_sample_button, Qt.MouseButton.LeftButton)
    return saved.args


def test_draw_add_samples_then_adapt_and_use_the_new_model(qtbot, window, tmp_path, digits_mini, monkeypatch):
    draw = window.draw_page
    label, path, count = add_drawn(qtbot, window, "seven", label="7")
    assert (label, count) == ("7", 1) and draw.pad.is_empty() and "Added “7”" in draw.sample_status.text()
    crop = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    assert crop.shape[0] > 28 and crop.shape[1] > 28  # the drawing's crop, not the 28×28 input
    label, _, _ = add_drawn(qtbot, window, "three", shortcut=True)
    assert samples.total() == 2 and samples.counts()[label] >= 1
    # A label the store cannot take is said on the page, and nothing is saved.
    draw_sample(qtbot, window, "zero")
    draw.sample_label.setText("a/b")
    qtbot.mouseClick(draw.add_sample_button, Qt.MouseButton.LeftButton)
    assert "Not added" in draw.sample_status.text() and samples.total() == 2 and not draw.pad.is_empty()

    # --- the Samples page: import a folder, see counts and thumbnails, delete one -------------
    page = window.samples_page
    window.tabs.setCurrentWidget(page)
    data = load_dataset(digits_mini, "digitsmini", "test")
    folder = write_folder(tmp_path / "mine", data, 5)
    monkeypatch.setattr("app.pages.samples.QFileDialog.getExistingDirectory", lambda *args: str(folder))
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Imported" in page.message.text(), timeout=20000)
    assert "Imported 50 samples" in page.message.text()
    assert page.class_list.count() == 10 and samples.total() == 52
    row = next(i for i in range(page.class_list.count()) if page.class_list.item(i).data(Qt.ItemDataRole.UserRole) == "7")
    with qtbot.waitSignal(page.samples_changed, timeout=10000):
        page.class_list.setCurrentRow(row)
    assert page.grid.count() == samples.counts()["7"] and page.class_list.item(row).text().split()[-1] == str(page.grid.count())
    before = samples.counts()["7"]
    qtbot.mouseClick(page.grid, Qt.MouseButton.LeftButton, pos=page.grid.cell_rect(0).center())
    assert page.delete_button.isEnabled()
    with qtbot.waitSignal(page.samples_changed, timeout=10000):
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert samples.counts()["7"] == before - 1

    # --- Adapt: a short run on a worker, then the new model is active --------------------------
    page.epochs_spin.setValue(2)
    page.config_overrides = {"jit_compile": False}
    with qtbot.waitSignal(page.adapted, timeout=240000) as adapted:
        qtbot.mouseClick(page.adapt_button, Qt.MouseButton.LeftButton)
        assert page.is_adapting() and not page.adapt_button.isEnabled()
    new_path = adapted.args[0]
    qtbot.waitUntil(lambda: window.models.recognizer.bundle.path.name == new_path.split("/")[-1], timeout=20000)
    model = window.models.recognizer.bundle
    assert model.name == "emnist-digits + mine" and not model.shipped
    assert model.meta["base"]["name"] == "emnist-digits" and model.classes == tuple("0123456789")
    assert "→" in page.adapt_status.text() and "made active" in page.adapt_status.text()
    assert window.model_picker.currentText().startswith("emnist-digits + mine")

    # The new model reads on the Draw page: a drawn seven is still a seven.
    window.tabs.setCurrentWidget(draw)
    draw.pad.clear()
    prediction = draw_sample(qtbot, window, "seven")
    assert draw.recognizer.bundle.name == "emnist-digits + mine" and prediction.top[0][0] == "7"

    # Adapting again starts from the original base, not from the adapted model.
    assert page._base().name == "emnist-digits"

    # --- Model ▸ Export… ----------------------------------------------------------------------
    target = tmp_path / "exports"
    target.mkdir()
    images = data.images[:40, ..., None].astype(np.float32) / 255.0
    outputs = {}
    for choice in ("Keras (.keras)", "LiteRT (.tflite)"):
        monkeypatch.setattr("PySide6.QtWidgets.QInputDialog.getItem", lambda *args, choice=choice: (choice, True))
        monkeypatch.setattr("app.window.QFileDialog.getExistingDirectory", lambda *args: str(target))
        with qtbot.waitSignal(window.model_exported, timeout=20000) as exported:
            window.export_model_action.trigger()
        files = exported.args[0]
        assert files is not None and [f.name for f in files][1:] == ["labels.json", "README.md"]
        assert json.loads(files[1].read_text())["classes"] == list("0123456789")
        outputs[files[0].suffix] = files[0]
    import keras
    from ai_edge_litert.interpreter import Interpreter

    from_keras = keras.saving.load_model(outputs[".keras"], compile=False).predict(images, verbose=0).argmax(1)
    interpreter = Interpreter(model_path=str(outputs[".tflite"]))
    index_in, index_out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(index_in, images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index_in, images)
    interpreter.invoke()
    assert (interpreter.get_tensor(index_out).argmax(1) == from_keras).all()


def test_stop_ends_adapt_without_saving(qtbot, window, tmp_path, digits_mini):
    data = load_dataset(digits_mini, "digitsmini", "test")
    samples.import_folder(write_folder(tmp_path / "mine", data, 3))
    page = window.samples_page
    window.tabs.setCurrentWidget(page)
    page.epochs_spin.setValue(50)
    page.config_overrides = {"jit_compile": False}
    qtbot.mouseClick(page.adapt_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.run.batch, timeout=120000):
        pass
    with qtbot.waitSignal(page.adapt_failed, timeout=60000):
        qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    assert "nothing was saved" in page.adapt_status.text()
    assert window.models.recognizer.bundle.name == "emnist-digits"
    assert not any(b.name.endswith("+ mine") for b in bundle.list_models().bundles)


def test_adapt_refuses_samples_the_model_has_no_class_for(qtbot, window):
    samples.add_sample(np.full((40, 40), 255, np.uint8), "x")
    samples.add_sample(np.full((40, 40), 255, np.uint8), "1")
    page = window.samples_page
    window.tabs.setCurrentWidget(page)
    qtbot.mouseClick(page.adapt_button, Qt.MouseButton.LeftButton)
    assert "has no class 'x'" in page.adapt_status.text() and page.run is None


def test_export_samples_as_zip(qtbot, window, tmp_path, monkeypatch):
    samples.add_sample(np.full((40, 40), 255, np.uint8), "x")
    page = window.samples_page
    window.tabs.setCurrentWidget(page)
    monkeypatch.setattr("app.pages.samples.QFileDialog.getSaveFileName", lambda *args: (str(tmp_path / "mine.zip"), ""))
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Exported" in page.message.text(), timeout=10000)
    with zipfile.ZipFile(tmp_path / "mine.zip") as archive:
        assert [name.split("/")[0] for name in archive.namelist()] == ["x"]


def test_correct_a_character_on_the_photo_page(qtbot, window, tmp_path, monkeypatch):
    data = load_dataset(TEST_DATA / "emnist", "digitsmini", "test")
    rng = np.random.default_rng(3)
    glyphs, _ = pick(data, 4, rng)
    photo = photograph(handwriting_line(glyphs, height=90, gap=0.5, rng=rng), rng)
    cv2.imwrite(str(tmp_path / "line.png"), photo[..., ::-1])
    page = window.photo_page
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        window.open_image(str(tmp_path / "line.png"))
    qtbot.waitUntil(lambda: page.reading is not None and len(page.reading.characters) == 4, timeout=10000)
    target = page.reading.characters[2]
    monkeypatch.setattr("PySide6.QtWidgets.QInputDialog.getText", lambda *args, **kwargs: ("5", True))
    centre = page.photo_view.to_widget(target.box).center().toPoint()
    # What the window sends the view on a right-click (QTest's clicks bypass the window, which makes it).
    QApplication.sendEvent(page.photo_view, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, page.photo_view.mapToGlobal(centre)))
    assert page.selected == 2 and page.character_menu is not None
    assert [action.text() for action in page.character_menu.actions()] == ["Correct…"]
    with qtbot.waitSignal(page.sample_saver.saved, timeout=10000) as saved:
        page.character_menu.actions()[0].trigger()
    page.character_menu.close()
    label, path, _ = saved.args
    assert label == "5" and samples.counts() == {"5": 1}
    crop = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    x, y, w, h = target.box
    assert w <= crop.shape[1] <= 2 * w + 4 and h <= crop.shape[0] <= 2 * h + 4  # the character's crop of the photo
    assert "Stored this character as “5”" in page.status.text()


def test_train_page_can_start_from_a_model_on_my_samples(qtbot, window, tmp_path, digits_mini):
    data = load_dataset(digits_mini, "digitsmini", "test")
    samples.import_folder(write_folder(tmp_path / "mine", data, 2))
    page = window.train_page
    window.tabs.setCurrentWidget(page)
    with qtbot.waitSignal(page.data_ready, timeout=20000) as ready:
        qtbot.mouseClick(page.data_panel.samples_button, Qt.MouseButton.LeftButton)
    assert ready.args[0].count == 20 and ready.args[0].classes == tuple("0123456789")
    base = bundle.resolve("emnist-digits")
    assert page.settings_panel.choose_base(str(base.path))
    assert not page.architecture_combo.isEnabled()
    page.epochs_spin.setValue(1)
    page.batch_spin.setValue(32)
    page.config_overrides = {"jit_compile": False}
    config = page.config()
    assert config.base == str(base.path) and config.data == str(samples.samples_dir()) and config.learning_rate == 5e-4
    with qtbot.waitSignal(page.run_finished, timeout=180000) as finished:
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    result = finished.args[0].result
    assert result.classes == base.classes and result.adaptation.base == "emnist-digits"
    assert "Fine-tuned from emnist-digits" in page.summary_label.text() and page.name_edit.text() == "emnist-digits + samples"
    page.settings_panel.choose_base(None)
    assert page.config().base is None and page.architecture_combo.isEnabled()
