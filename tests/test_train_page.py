"""The Train page through the real main window: choosing data, training on a worker with live
curves, stopping within a batch, the evaluation, saving into the model picker and using the
new model on the Draw page, NaN, closing mid-run, remembered settings, and the EMNIST download
against a local server."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from local_http import ArchiveServer, closed_port_url, sha256, tiny_emnist_zip
from PySide6.QtCore import QObject, Qt, QThread, Slot
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.stroke_replay import replay, sample_strokes
from lenet_core import bundle
from lenet_core.datasets import load_dataset
from lenet_core.paths import user_models_dir

QUICK = dict(epochs=3, batch=16, learning_rate=0.003)


@pytest.fixture(scope="module")
def digits_csv(digits_mini, tmp_path_factory):
    """A Kaggle-style CSV pair (with a header row) made from real EMNIST digits."""
    folder = tmp_path_factory.mktemp("kaggle")
    for part, count in (("train", 480), ("test", 200)):
        data = load_dataset(digits_mini, "digitsmini", part).subset(slice(0, count))
        table = np.column_stack([data.labels, data.images.reshape(len(data), -1)])
        header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
        np.savetxt(folder / f"mnist_{part}.csv", table, fmt="%d", delimiter=",", header=header, comments="")
    return folder


def answer(monkeypatch, reply: QMessageBox.StandardButton) -> list[str]:
    """Answer every question dialog with `reply`; returns the questions asked."""
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return reply

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def open_train_page(qtbot, window, source=None):
    window.tabs.setCurrentWidget(window.train_page)
    page = window.train_page
    if source is not None:
        with qtbot.waitSignal(page.data_ready, timeout=20000) as ready:
            page.source_edit.setText(str(source))
            QTest.keyClick(page.source_edit, Qt.Key.Key_Return)
        return page, ready.args[0]
    return page, None


def set_up_quick_run(page, epochs=QUICK["epochs"]):
    page.architecture_combo.setCurrentIndex(page.architecture_combo.findData("lenet5"))
    page.epochs_spin.setValue(epochs)
    page.batch_spin.setValue(QUICK["batch"])
    page.lr_spin.setValue(QUICK["learning_rate"])
    page.augment_check.setChecked(False)
    # XLA compiles for 10+ s on this machine; the tiny runs here are faster without it.
    page.config_overrides = {"jit_compile": False, "seed": 1}
    page.report_interval_s = 0  # every batch reported: the stop count below is exact


class ThreadCheck(QObject):
    """A GUI-thread receiver that notes on which thread each signal arrives."""

    def __init__(self):
        super().__init__()
        self.on_gui_thread: list[bool] = []

    @Slot(object)
    def note(self, _value) -> None:
        self.on_gui_thread.append(QThread.currentThread() is QApplication.instance().thread())


def test_choosing_data_lists_splits_and_shows_samples(qtbot, main_window, digits_mini, monkeypatch):
    page, _ = open_train_page(qtbot, main_window)
    monkeypatch.setattr("app.pages.train.QFileDialog.getExistingDirectory", lambda *args: str(digits_mini))
    with qtbot.waitSignal(page.data_ready, timeout=20000) as ready:
        page.browse_folder_action.trigger()
    preview = ready.args[0]
    splits = [page.split_combo.itemData(i) for i in range(page.split_combo.count())]
    assert splits == ["balancedmini", "digitsmini"]
    assert page.split_combo.currentData() == "digitsmini"  # the one with a train part
    assert "train 800" in page.split_combo.currentText() and "test 200" in page.split_combo.currentText()
    assert page.preview_grid.count() == 64 and set(page.preview_grid.captions) <= set("0123456789")
    assert "10 classes" in page.classes_label.text()
    assert page.start_button.isEnabled()
    assert preview.classes == tuple("0123456789")

    page.split_combo.setFocus()
    with qtbot.waitSignal(page.data_ready, timeout=20000) as other:
        QTest.keyClick(page.split_combo, Qt.Key.Key_Up)
    assert other.args[0].split == "balancedmini" and other.args[0].part == "test"
    assert "validation part scores" in page.data_status.text()

    with qtbot.waitSignal(page.data_failed, timeout=10000) as failed:
        page.load_source(str(digits_mini / "no-such-folder"))
    assert "does not exist" in failed.args[0] and "does not exist" in page.data_status.text()
    assert not page.start_button.isEnabled()


def test_train_stop_resume_evaluate_save_and_use(qtbot, main_window, digits_csv, monkeypatch):
    window = main_window
    page, preview = open_train_page(qtbot, window, digits_csv)
    assert preview.split == "mnist" and preview.count == 480
    set_up_quick_run(page, epochs=4)
    check = ThreadCheck()

    # --- a run stopped after its first epoch, in the middle of an epoch ---------------------
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert page.is_training() and page.stop_button.isEnabled() and not page.start_button.isEnabled()
    page.run.batch.connect(check.note)
    with qtbot.waitSignal(page.run.epoch, timeout=90000) as first_epoch:
        pass
    assert first_epoch.args[0].epoch == 1
    qtbot.waitUntil(lambda: page.curves.points("val_loss") == 1 and page.curves.points("train_batch_loss") >= 20, timeout=5000)
    assert page.curves.points("train_accuracy") == 1
    steps = None

    def in_epoch_two(progress) -> bool:
        nonlocal steps
        steps = progress.steps
        return progress.epoch >= 2 and progress.batch >= 5

    with qtbot.waitSignal(page.run.batch, check_params_cb=in_epoch_two, timeout=30000):
        pass
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    assert not page.stop_button.isEnabled()
    with qtbot.waitSignal(page.run_finished, timeout=60000) as stopped:
        pass
    outcome = stopped.args[0]
    assert outcome.batches_after_stop == 1, "Keras stops after the batch that was running"
    finished_epochs = len(outcome.result.history)  # the worker may be ahead of the GUI: 1 or more
    assert outcome.result.stopped and outcome.result.partial and 1 <= finished_epochs < 4
    assert f"Stopped after {finished_epochs} of 4 epochs" in page.progress_label.text()
    assert "Partial run" in page.summary_label.text()
    assert check.on_gui_thread and all(check.on_gui_thread)
    # An epoch whose last batch met the stop counts, but its validation pass is skipped (no point).
    validated = sum(1 for epoch in outcome.result.history if np.isfinite(epoch.val_loss))
    assert page.curves.points("val_loss") == validated and page.curves.points("train_batch_loss") > steps
    assert page.tabs.currentWidget() is page.result_tab and page.save_button.isEnabled()
    assert page.name_edit.text() == "mnist-lenet5-partial"
    with qtbot.waitSignal(page.model_saved, timeout=30000) as saved_partial:
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert bundle.read_bundle(saved_partial.args[0]).partial

    # --- a run to the end -------------------------------------------------------------------
    page.epochs_spin.setValue(2)
    page.start_training()
    assert page.curves.points("val_loss") == 0  # a new run starts clean curves
    with qtbot.waitSignal(page.run_finished, timeout=120000) as finished:
        pass
    result = finished.args[0].result
    assert not result.stopped and [epoch.epoch for epoch in result.history] == [1, 2]
    evaluation = result.evaluation
    assert evaluation.accuracy > 0.3  # 10 classes: chance is 0.1
    assert f"{evaluation.accuracy:.2%}" in page.summary_label.text() and "weighted F1" in page.summary_label.text()
    assert page.confusion.matrix.shape == (10, 10) and page.confusion.matrix.sum() == 200
    (left, right), (top, bottom) = page.confusion.plot.getViewBox().viewRange()
    assert right - left < 10.5 and bottom - top < 10.5, "the matrix fills its plot, no empty bands beside it"
    assert page.worst_list.count() == len(evaluation.worst) > 0
    assert page.gallery.count() == min(60, len(evaluation.misclassified)) > 0
    assert "→" in page.gallery.captions[0]
    window.resize(1200, 820)
    qtbot.wait(50)
    with qtbot.waitSignal(page.confusion.hovered, timeout=5000) as hovered:
        QTest.mouseMove(page.confusion.plot.viewport(), page.confusion.cell_centre(3, 5))
    count = int(evaluation.confusion[3, 5])
    assert hovered.args[0].startswith(f"true 3 → predicted 5: {count}")
    assert page.confusion.readout.text() == hovered.args[0]

    # --- saving: refused names, the picker, overwrite, use now ------------------------------------
    for refused, reason in (("emnist-balanced", "shipped"), ("../escape", "letters, digits"), ("", "name")):
        page.name_edit.setText(refused)
        page.save_button.click()
        assert reason in page.save_status.text()
    assert not (user_models_dir() / "emnist-balanced.lenet").exists()
    page.name_edit.setText("my digits")
    with qtbot.waitSignal(page.model_saved, timeout=30000) as saved:
        page.save_button.click()
    path = user_models_dir() / "my digits.lenet"
    assert saved.args[0] == str(path) and bundle.read_bundle(path).meta["metrics"]["accuracy"] == pytest.approx(evaluation.accuracy, abs=1e-4)
    assert window.model_picker.findText("my digits  (yours)") >= 0
    assert window.model_picker.findText("mnist-lenet5-partial  (yours)") >= 0
    written = path.stat().st_mtime_ns
    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    page.save_button.click()
    assert asked and "Replace" in asked[0] and "Not saved" in page.save_status.text()
    assert path.stat().st_mtime_ns == written

    with qtbot.waitSignal(window.models.model_changed, timeout=20000):
        qtbot.mouseClick(page.use_button, Qt.MouseButton.LeftButton)
    assert window.draw_page.recognizer.name == "my digits"
    assert window.model_picker.currentText() == "my digits  (yours)"
    assert "active model now" in page.save_status.text() and "makes it active" not in page.save_status.text()
    window.tabs.setCurrentWidget(window.draw_page)
    draw = window.draw_page
    with qtbot.waitSignal(draw.prediction_shown, check_params_cb=lambda p: not p.empty, timeout=10000) as predicted:
        replay(draw.pad, sample_strokes("seven")["strokes"])
    assert len(predicted.args[0].top) == 5 and predicted.args[0].top[0][0] in "0123456789"
    assert not [file for file in user_models_dir().iterdir() if file.suffix != ".lenet"]  # no temporary files


def test_nan_loss_stops_with_a_clear_message(qtbot, main_window, digits_csv):
    page, _ = open_train_page(qtbot, main_window, digits_csv)
    set_up_quick_run(page, epochs=2)
    page.config_overrides.update(learning_rate=1e20, schedule="constant")
    with qtbot.waitSignal(page.run_failed, timeout=90000) as failed:
        page.start_button.click()
    assert "NaN" in failed.args[0] and "\n" not in failed.args[0]
    assert "NaN" in page.message.text()
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)


def test_stop_before_the_first_batch_ends_the_run_at_once(qtbot, main_window, digits_csv):
    page, _ = open_train_page(qtbot, main_window, digits_csv)
    set_up_quick_run(page, epochs=2)
    with qtbot.waitSignal(page.run_failed, timeout=60000) as ended:
        page.start_button.click()
        page.stop_button.click()  # while the data loads
    assert "nothing was trained" in ended.args[0]
    assert "Stopped before the first batch" in page.message.text() and "failed" not in page.message.text()
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)
    assert page.result is None and not page.save_button.isEnabled()


def test_the_curves_show_validation_only_when_a_part_is_held_back(qtbot, main_window, digits_csv):
    page, _ = open_train_page(qtbot, main_window, digits_csv)
    set_up_quick_run(page, epochs=2)
    for percent, shown in ((0, False), (20, True)):
        page.validation_spin.setValue(percent)
        with qtbot.waitSignal(page.run_failed, timeout=60000):
            page.start_button.click()
            assert ("validation" in page.curves.legend_names("loss")) is shown
            assert ("validation" in page.curves.legend_names("accuracy")) is shown
            assert page.curves.series["val_loss"].item.isVisible() is shown
            assert page.curves.legend_names("loss")[:2] == ["train (during epoch)", "train (epoch)"]
            page.stop_button.click()
        qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)


def test_closing_during_training_asks_and_stops_cleanly(qtbot, main_window_factory, digits_csv, monkeypatch):
    window = main_window_factory()
    page, _ = open_train_page(qtbot, window, digits_csv)
    set_up_quick_run(page, epochs=50)
    page.start_button.click()
    run = page.run
    with qtbot.waitSignal(run.batch, timeout=90000):
        pass
    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    window.close()
    assert asked and window.isVisible() and page.is_training()  # "No": keeps training
    asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
    window.close()
    assert asked and not window.isVisible()
    assert not run.is_running() and run.stop_requested and run.error is None
    assert not user_models_dir().exists() or list(user_models_dir().iterdir()) == []


def test_settings_are_remembered(qtbot, main_window_factory, digits_csv):
    first = main_window_factory()
    page, _ = open_train_page(qtbot, first, digits_csv)
    page.architecture_combo.setCurrentIndex(page.architecture_combo.findData("lenet5-classic"))
    page.epochs_spin.setValue(7)
    page.batch_spin.setValue(64)
    page.validation_spin.setValue(20)
    assert page.dropout_spin.value() == 0.0, "the seed recipe lenet5-classic has no dropout"
    page.architecture_combo.setCurrentIndex(page.architecture_combo.findData("lenet-plus"))
    assert page.dropout_spin.value() == pytest.approx(0.3), "choosing an architecture shows its own dropout"
    page.architecture_combo.setCurrentIndex(page.architecture_combo.findData("lenet5-classic"))
    page.augment_strength_spin.setValue(0.5)
    page.augment_check.setChecked(False)
    assert not page.augment_strength_spin.isEnabled()
    page.dropout_spin.setValue(0.15)
    page.smoothing_spin.setValue(0.1)
    page.max_samples_spin.setValue(300)
    first.close()
    second = main_window_factory()
    page = second.train_page
    assert page.source_edit.text() == str(digits_csv)
    assert (page.architecture_combo.currentData(), page.epochs_spin.value(), page.batch_spin.value()) == ("lenet5-classic", 7, 64)
    assert (page.validation_spin.value(), page.augment_check.isChecked(), page.max_samples_spin.value()) == (20, False, 300)
    # The window reopens on the Train tab it closed on, and the page reads the remembered source once it
    # shows; that read may already be done by the time the model has loaded, so wait on the state.
    assert second.tabs.currentWidget() is page
    qtbot.waitUntil(lambda: page.preview is not None, timeout=20000)
    assert page.preview.count > 0 and page.split_combo.count() > 0
    assert page.config().max_samples == 300 and page.config().validation_fraction == pytest.approx(0.2)
    assert (page.config().dropout, page.config().label_smoothing, page.config().augment_strength) == pytest.approx((0.15, 0.1, 0.5))
    assert not page.augment_strength_spin.isEnabled()
    page.augment_check.setChecked(True)
    assert page.augment_strength_spin.isEnabled()


def test_download_shows_progress_then_the_data(qtbot, main_window, digits_mini, monkeypatch):
    page, _ = open_train_page(qtbot, main_window)
    archive = tiny_emnist_zip(digits_mini)
    server = ArchiveServer(archive).start()
    try:
        server.hold_at = len(archive) // 2
        page.download_url, page.download_sha256 = server.url, sha256(archive)
        asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
        page.download_button.click()
        assert asked and "535 MB" in asked[0]
        qtbot.waitUntil(lambda: 400 <= page.download_bar.value() < 1000 and page.download_bar.isVisible(), timeout=10000)
        assert " of " in page.download_status.text() and not page.download_button.isEnabled()
        with qtbot.waitSignal(page.data_ready, timeout=20000) as ready:
            server.release()
        assert ready.args[0].split == "tinyx" and ready.args[0].count == 120
        assert page.source_edit.text().endswith("gzip.zip") and "Downloaded and verified" in page.download_status.text()
        assert not page.download_bar.isVisible() and page.download_button.isEnabled()
    finally:
        server.stop()


def test_offline_download_says_so_in_one_line(qtbot, main_window, monkeypatch):
    page, _ = open_train_page(qtbot, main_window)
    page.download_url = closed_port_url()
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(page.download_finished, timeout=20000) as finished:
        page.download_button.click()
    assert finished.args == [False]
    text = page.download_status.text()
    assert text.startswith("Offline: cannot reach 127.0.0.1") and "\n" not in text
    assert "CSV" in text and "folder" in text  # points to the other sources
    assert "connection refused" in page.download_status.toolTip()


def test_the_train_page_does_not_import_tensorflow_at_launch(tmp_path):
    code = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.window import MainWindow
window = MainWindow()
window.show()
window.tabs.setCurrentWidget(window.train_page)
app.processEvents()
print('heavy:', [name for name in ('tensorflow', 'keras') if name in sys.modules])
window.close()
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LENET_STUDIO_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout


def test_a_run_stopped_inside_its_first_epoch_offers_nothing_to_save(qtbot, main_window, digits_csv):
    """Stopped after a few batches of epoch 1: no empty matrix passed off as a result, no
    "No misclassified samples" (which reads as perfect), and no Save of a model of nothing."""
    page, _ = open_train_page(qtbot, main_window, digits_csv)
    set_up_quick_run(page, epochs=3)
    page.batch_spin.setValue(2)  # many steps in an epoch: time to stop inside it
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.run.batch, check_params_cb=lambda progress: progress.epoch == 1 and progress.batch >= 3, timeout=90000):
        pass
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.run_finished, timeout=60000) as stopped:
        pass
    result = stopped.args[0].result
    if result.history:
        pytest.skip("the worker finished epoch 1 before the stop arrived")
    assert "not evaluated" in page.summary_label.text() and "no model to save" in page.summary_label.text()
    assert page.result_view.gallery.empty_text == "Nothing was evaluated."
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=5000)
    assert not page.save_button.isEnabled() and not page.use_button.isEnabled()
    assert "nothing to save" in page.save_panel.save_status.text()


def test_a_running_training_shows_in_the_status_bar_on_every_page(qtbot, main_window, digits_csv):
    page, _ = open_train_page(qtbot, main_window, digits_csv)
    set_up_quick_run(page, epochs=2)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.run.batch, timeout=90000):
        pass
    main_window.tabs.setCurrentWidget(main_window.draw_page)
    label = main_window.training_label
    qtbot.waitUntil(lambda: label.isVisible() and label.text().startswith("Training: epoch "), timeout=10000)
    assert "ETA" in label.text()
    with qtbot.waitSignal(page.run_finished, timeout=120000):
        pass
    assert not label.isVisible()


def test_an_auto_batch_run_takes_the_probes_batch_and_says_so(qtbot, main_window, digits_csv, monkeypatch):
    """Batch size one below 1 reads "auto": the run trains with the batch the speed probe
    measured fastest (a stand-in probe here: real timings would make the test slow and flaky),
    the rate scaled with it, and the log says what was chosen."""
    from lenet_core import tuning

    rates = {"xla-off/128": 900.0, "xla-off/256": 1500.0, "xla-off/512": 1100.0, "xla-off/1024": 1000.0}
    measured: list[str] = []

    def measure(option):
        measured.append(option.label)
        return rates[option.label]

    monkeypatch.setattr(tuning, "keras_measure", lambda architecture, augment: measure)
    page, _ = open_train_page(qtbot, main_window, digits_csv)
    set_up_quick_run(page, epochs=2)
    page.batch_spin.setValue(1)
    page.batch_spin.setFocus()
    QTest.keyClick(page.batch_spin, Qt.Key.Key_Down)  # below 1
    assert (page.batch_spin.value(), page.batch_spin.text()) == (0, "auto")
    page.batch_spin.setValue(64)
    page.batch_spin.selectAll()
    QTest.keyClicks(page.batch_spin, "Auto")  # or typed
    QTest.keyClick(page.batch_spin, Qt.Key.Key_Return)
    assert (page.batch_spin.value(), page.batch_spin.text()) == (0, "auto")
    config = page.config()
    assert (config.batch_size, config.auto_batch_size) == (128, True)
    with qtbot.waitSignal(page.run_finished, timeout=90000) as finished:
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert measured == ["xla-off/128", "xla-off/256", "xla-off/512", "xla-off/1024"]  # lenet5 goes up to 1024
    log = page.log_view.toPlainText()
    assert "speed: XLA off, batch 256, learning rate ×2 for the batch (measured now" in log, log
    assert "batch 256, lr 0.006" in log, log  # the page's 0.003 is for batch 128
    assert finished.args[0].result.tuning["batch_size"] == 256


def test_closing_right_after_a_run_failed_asks_nothing(qtbot, main_window, digits_csv, monkeypatch):
    """The window closes before the run's last signal is handled: the worker has returned, so
    there is nothing to stop and no question to ask (offscreen, a modal question would wait forever)."""
    from app.pages.train import TrainPage

    page, _ = open_train_page(qtbot, main_window, digits_csv)
    set_up_quick_run(page, epochs=2)
    monkeypatch.setattr(TrainPage, "_on_ended", lambda self: None)  # the run's `ended`, as if still queued
    with qtbot.waitSignal(page.run_failed, timeout=60000):
        page.start_button.click()
        page.stop_button.click()  # while the data loads
    qtbot.waitUntil(lambda: not page.run.is_running(), timeout=10000)
    assert page.is_training()
    assert main_window.close()
    assert not main_window.isVisible()
