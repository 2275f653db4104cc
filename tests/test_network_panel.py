"""Inside the network (issue 15) through the real window: the Network panel follows the
drawing live, a map enlarges on click and tells its range on hover; the Photo page shows it
for the chosen character; an old bundle says so; on the Result tab a confusion cell filters
the gallery and a sample opens its Network view."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TEST_DATA
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.stroke_replay import replay, sample_strokes
from lenet_core import bundle
from lenet_core.network_view import OLDER_VERSION, inspector_for


def wait_for_panel(qtbot, panel, timeout=15000):
    qtbot.waitUntil(lambda: panel.settled and panel.shown is not None, timeout=timeout)
    return panel.shown


def test_the_network_panel_follows_the_drawing(qtbot, main_window):
    page = main_window.draw_page
    assert not page.network.isVisible() and page.network_button.text() == "Network ▸"
    qtbot.mouseClick(page.network_button, Qt.MouseButton.LeftButton)
    assert page.network.isVisible() and page.network_button.isChecked()
    assert page.network_button.text() == "Network ◂"  # the arrow says which way a click moves the panel
    shown = wait_for_panel(qtbot, page.network)
    assert not shown.tiles and "Draw" in shown.message  # an empty pad: nothing inside yet

    updates = []
    page.network.updated.connect(lambda: updates.append(page.network.shown))  # GUI-thread signal
    pad = page.pad
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(pad.width() // 2, pad.height() // 5))
    for step in range(1, 30):
        QTest.mouseMove(pad, QPoint(pad.width() // 2, pad.height() // 5 + step * pad.height() // 50))
        qtbot.wait(5)
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(pad.width() // 2, pad.height() * 4 // 5))
    qtbot.waitUntil(lambda: not page._throttle.isActive() and page._shown == page._sequence, timeout=10000)
    shown = wait_for_panel(qtbot, page.network)
    assert len(updates) >= 2, "the panel updates while the stroke is drawn, not only at the end"
    first = updates[0]

    page.clear_action.trigger()
    replay(pad, sample_strokes("seven")["strokes"])
    qtbot.waitUntil(lambda: not page._throttle.isActive() and page._shown == page._sequence, timeout=10000)
    shown = wait_for_panel(qtbot, page.network)
    prediction = page.last_prediction
    expected = inspector_for(page.recognizer).picture(prediction.pipeline.input)
    kinds = [tile.kind for tile in shown.tiles]
    assert kinds == ["filters"] + [layer.layer.kind for layer in expected.layers]
    for tile, layer in zip(shown.tiles[1:], expected.layers):
        np.testing.assert_allclose(tile.values, layer.values, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(first.tiles[1].values, shown.tiles[1].values)  # it changed with the drawing
    top = prediction.top[0][0]
    # The panel shows the network on this input alone (the top-k also averages a few views).
    np.testing.assert_allclose(shown.picture.probabilities, expected.probabilities, rtol=1e-5, atol=1e-6)
    assert top == "7" and shown.picture.classes[int(np.argmax(shown.picture.probabilities))] == top
    assert f"‘{top}’" in page.network.caption.text()
    assert page.network.heat_view.array.shape == (28, 28, 3)
    assert [view.isVisible() for view in page.network.tile_views] == [True] * len(shown.tiles)

    # Hover a feature map of the first convolution: its number and value range; click: enlarged.
    view = page.network.tile_views[1]
    page.network.scroll.ensureWidgetVisible(view)
    qtbot.wait(50)
    centre = view.map_centre(3)
    QTest.mouseMove(view, centre)
    low, high = shown.tiles[1].values[..., 3].min(), shown.tiles[1].values[..., 3].max()
    assert view.toolTip().startswith(f"map 4 of {shown.tiles[1].count}: {low:.3f} … {high:.3f}")
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=centre)
    dialog = page.network.enlarged
    assert dialog is not None and dialog.isVisible()
    assert "map 4 of" in dialog.label.text() and dialog.view.array.shape == view.tile.values.shape[:2] + (4,)
    dialog.close()

    # Hidden again: no more work for it.
    page.network_button.click()
    assert not page.network.isVisible() and page.network_button.text() == "Network ▸"
    before = page.network._sequence
    replay(pad, sample_strokes("zero")["strokes"])
    qtbot.waitUntil(lambda: not page._throttle.isActive() and page._shown == page._sequence, timeout=10000)
    assert page.network._sequence == before


def test_an_older_bundle_says_so_and_still_explains(qtbot, main_window_factory, tmp_path):
    shipped = bundle.resolve("emnist-digits")
    meta = {key: value for key, value in shipped.meta.items() if key not in ("format_version", "created")}
    old = bundle.write_bundle(tmp_path / "old digits.lenet", meta, shipped.tflite_bytes())
    window = main_window_factory(model=str(old))
    page = window.draw_page
    page.show_network(True)
    replay(page.pad, sample_strokes("seven")["strokes"])
    shown = wait_for_panel(qtbot, page.network)
    qtbot.waitUntil(lambda: page.network.shown.why is not None, timeout=10000)
    shown = page.network.shown
    assert not shown.tiles and shown.message == OLDER_VERSION
    assert page.network.message.isVisible() and "older version" in page.network.message.text()
    assert page.network.heat_view.array is not None and shown.why.top[0] == page.last_prediction.top[0][0]


def test_the_photo_page_shows_the_chosen_character(qtbot, main_window, tmp_path):
    import cv2

    from lenet_core.datasets import load_dataset
    from tests.photo_maker import handwriting_line, photograph, pick

    data = load_dataset(TEST_DATA / "emnist", "balancedmini", "test")
    rng = np.random.default_rng(21)
    glyphs, _ = pick(data, 3, rng)
    path = tmp_path / "line.png"
    cv2.imwrite(str(path), photograph(handwriting_line(glyphs, height=90, gap=0.5, rng=rng), rng)[..., ::-1])
    page = main_window.photo_page
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        main_window.open_image(str(path))
    qtbot.waitUntil(lambda: page.reading is not None and page._shown == page._sequence, timeout=10000)
    qtbot.mouseClick(page.network_button, Qt.MouseButton.LeftButton)
    shown = wait_for_panel(qtbot, page.network)
    chosen = page.reading.characters[page.selected]
    np.testing.assert_array_equal(shown.picture.input, chosen.pipeline.input.astype(np.float32))
    centre = page.photo_view.to_widget(page.reading.characters[2].box).center().toPoint()
    qtbot.mouseClick(page.photo_view, Qt.MouseButton.LeftButton, pos=centre)
    assert page.selected == 2
    shown = wait_for_panel(qtbot, page.network)
    np.testing.assert_array_equal(shown.picture.input, page.reading.characters[2].pipeline.input.astype(np.float32))
    assert f"‘{page.reading.characters[2].char}’" in page.network.caption.text()


def test_a_confusion_cell_filters_the_gallery_and_a_sample_opens_its_network(qtbot, main_window, digits_mini):
    pytest.importorskip("tensorflow")
    window = main_window
    window.tabs.setCurrentWidget(window.train_page)
    page = window.train_page
    with qtbot.waitSignal(page.data_ready, timeout=20000):
        page.source_edit.setText(str(digits_mini))
        QTest.keyClick(page.source_edit, Qt.Key.Key_Return)
    page.architecture_combo.setCurrentIndex(page.architecture_combo.findData("lenet5"))
    page.epochs_spin.setValue(1)
    page.batch_spin.setValue(32)
    page.augment_check.setChecked(False)
    page.config_overrides = {"jit_compile": False, "seed": 1}
    with qtbot.waitSignal(page.run_finished, timeout=180000) as finished:
        page.start_training()
    result = finished.args[0].result
    evaluation = result.evaluation
    view = page.result_view
    window.resize(1200, 820)
    qtbot.wait(50)
    confusion = evaluation.confusion.copy()
    np.fill_diagonal(confusion, 0)
    row, column = np.unravel_index(int(np.argmax(confusion)), confusion.shape)
    assert confusion[row, column] > 0
    with qtbot.waitSignal(page.confusion.cell_clicked, timeout=5000):
        qtbot.mouseClick(page.confusion.plot.viewport(), Qt.MouseButton.LeftButton, pos=page.confusion.cell_centre(row, column))
    classes = evaluation.classes
    expected = np.flatnonzero((result.test.labels == row) & (evaluation.predictions == column))
    assert view.gallery.count() == min(60, len(expected)) == min(60, int(evaluation.confusion[row, column]))
    assert set(view.gallery.captions) == {f"{classes[row]}→{classes[column]}"}
    assert f"true {classes[row]} read as {classes[column]}: {len(expected)}" in view.gallery_label.text()
    assert view.all_button.isVisible()

    rect = view.gallery.cell_rect(0)
    qtbot.mouseClick(view.gallery, Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = view.sample_dialog
    assert dialog is not None and dialog.isVisible() and f"Test sample {expected[0]}" in dialog.windowTitle()
    qtbot.waitUntil(lambda: dialog.panel.settled and dialog.panel.shown is not None and dialog.panel.shown.picture is not None,
                    timeout=60000)
    shown = dialog.panel.shown
    np.testing.assert_allclose(shown.picture.input, result.test.images[expected[0]] / 255.0, atol=1e-6)
    assert int(np.argmax(shown.picture.probabilities)) == column  # the run's own model reads it as in the matrix
    assert shown.why is not None and len(shown.tiles) == 1 + 7  # filters + lenet5's 7 shown layers
    assert (shown.why.top[0], shown.why.runner[0]) == (classes[column], classes[row])  # read as Y rather than X

    qtbot.mouseClick(view.all_button, Qt.MouseButton.LeftButton)
    assert view.gallery.count() == min(60, len(evaluation.misclassified)) and not view.all_button.isVisible()
