"""The Result tab: what the run scored on its test part: accuracy and F1, the confusion
matrix, the most confused pairs and a gallery of misclassified samples.

Click a matrix cell: the gallery shows exactly those samples (true X read as Y). Click a
sample: a window shows inside the network for it (issue 15); the run's model is exported to
LiteRT for that once, on a background task.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QListWidget, QScrollArea, QToolButton, QVBoxLayout, QWidget

from app.widgets.sample_grid import SampleGrid
from app.workers import run_task
from lenet_core.training import TrainResult

GALLERY_SAMPLES = 60


class ResultView(QWidget):
    """`show_result(result)` fills it; `show_result(None)` empties it. A save row may be added at the foot."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from app.widgets.confusion_view import ConfusionMatrixView

        self.summary_label = QLabel("No result yet: train a model first.")
        self.summary_label.setObjectName("trainSummary")
        self.summary_label.setWordWrap(True)
        self.confusion = ConfusionMatrixView()
        self.worst_list = QListWidget()
        self.worst_list.setMaximumWidth(230)
        self.gallery = SampleGrid("No misclassified samples.")
        self.gallery.clicked.connect(self.show_sample)
        self.gallery_label = QLabel("Misclassified test samples (true → predicted):")
        self.gallery_label.setWordWrap(True)
        self.all_button = QToolButton(text="Show all misclassified")
        self.all_button.clicked.connect(self.show_all_misclassified)
        self.all_button.setVisible(False)
        self.result: TrainResult | None = None
        self.gallery_indices = np.zeros(0, np.int64)  # the test samples in the gallery, in order
        self.sample_dialog: SampleNetworkDialog | None = None
        self._inspector = None  # the run's model on LiteRT, made on the first sample click
        self._exporting = False
        self._wanted: int | None = None
        self._wanted_pair: tuple = ()
        gallery_scroll = QScrollArea()
        gallery_scroll.setWidgetResizable(True)
        gallery_scroll.setWidget(self.gallery)
        gallery_scroll.setMinimumHeight(70)
        side = QVBoxLayout()
        side.addWidget(QLabel("Most confused (true → predicted):"))
        side.addWidget(self.worst_list, 1)
        middle = QHBoxLayout()
        middle.addWidget(self.confusion, 1)
        middle.addLayout(side)
        self.confusion.cell_clicked.connect(self.show_cell)
        gallery_row = QHBoxLayout()
        gallery_row.addWidget(self.gallery_label, 1)
        gallery_row.addWidget(self.all_button)
        self.main_layout = QVBoxLayout(self)
        self.main_layout.addWidget(self.summary_label)
        self.main_layout.addLayout(middle, 3)
        self.main_layout.addLayout(gallery_row)
        self.main_layout.addWidget(gallery_scroll, 2)

    def show_result(self, result: TrainResult | None) -> None:
        self.result, self._inspector, self._wanted = result, None, None
        self.gallery_indices = np.zeros(0, np.int64)
        self.worst_list.clear()
        if result is None:
            self.summary_label.setText("No result yet: train a model first.")
            self.confusion.clear()
            self.gallery.clear()
            return
        partial = (f"<b>Partial run</b>: stopped after {len(result.history)} of {result.config.epochs} epochs. "
                   if result.partial else "")
        evaluation = result.evaluation
        if evaluation is None:
            self.summary_label.setText(f"{partial}Stopped before the first epoch ended: the network was not evaluated, "
                                       "and there is no model to save.")
            self.confusion.clear()
            self.gallery.clear("Nothing was evaluated.")  # not "No misclassified samples", which reads as perfect
            self.gallery_label.setText("")
            return
        self.summary_label.setText(
            f"{partial}Test accuracy <b>{evaluation.accuracy:.2%}</b> · weighted F1 <b>{evaluation.weighted_f1:.4f}</b> · "
            f"{evaluation.samples:,} test samples · {len(result.classes)} classes · {result.config.architecture}, "
            f"{len(result.history)} epochs on {result.device}"
            + (f"<br>Fine-tuned from {result.adaptation.base}, before → after: {result.adaptation.describe()}"
               if result.adaptation is not None else "")
        )
        self.confusion.set_matrix(evaluation.confusion, evaluation.classes)
        for pair in evaluation.worst:
            self.worst_list.addItem(f"{pair.true} → {pair.predicted}: {pair.count} ({pair.rate:.1%} of {pair.true})")
        self.show_all_misclassified()

    def _fill_gallery(self, indices: np.ndarray, label: str) -> None:
        evaluation, result = self.result.evaluation, self.result
        self.gallery_indices = np.asarray(indices[:GALLERY_SAMPLES], np.int64)
        wrong = self.gallery_indices
        classes = evaluation.classes
        true_labels, predicted = result.test.labels[wrong], evaluation.predictions[wrong]
        self.gallery.set_samples(
            result.test.images[wrong],
            [f"{classes[t]}→{classes[p]}" for t, p in zip(true_labels, predicted)],
            [f"test sample {i}: true {classes[t]}, predicted {classes[p]} · click to see inside the network"
             for i, t, p in zip(wrong, true_labels, predicted)],
        )
        shown = f" (first {len(wrong)})" if len(indices) > len(wrong) else ""
        self.gallery_label.setText(f"{label}: {len(indices)}{shown} — click one to see inside the network")

    @Slot()
    def show_all_misclassified(self) -> None:
        if self.result is None or self.result.evaluation is None:
            return
        self.all_button.setVisible(False)
        self._fill_gallery(self.result.evaluation.misclassified, "Misclassified test samples (true → predicted)")

    @Slot(int, int)
    def show_cell(self, row: int, column: int) -> None:
        """Exactly the test samples of true class `row` read as class `column`."""
        if self.result is None or self.result.evaluation is None:
            return
        evaluation = self.result.evaluation
        indices = np.flatnonzero((self.result.test.labels == row) & (evaluation.predictions == column))
        classes = evaluation.classes
        what = "read right" if row == column else f"read as {classes[column]}"
        self._fill_gallery(indices, f"Test samples of true {classes[row]} {what}")
        self.gallery.empty_text = f"No test sample of {classes[row]} was {what}."
        self.all_button.setVisible(True)

    # --- inside the network for one sample ------------------------------------------------------

    @Slot(int)
    def show_sample(self, position: int) -> None:
        if self.result is None or not 0 <= position < len(self.gallery_indices):
            return
        index = int(self.gallery_indices[position])
        if self.sample_dialog is None:
            self.sample_dialog = SampleNetworkDialog(self.window())
        classes = self.result.evaluation.classes
        true, predicted = classes[self.result.test.labels[index]], classes[self.result.evaluation.predictions[index]]
        self.sample_dialog.setWindowTitle(f"Test sample {index}: true {true}, read as {predicted}")
        self.sample_dialog.show()
        self.sample_dialog.raise_()
        self._wanted = index
        # A mistake's heat map contrasts what it was read as with what it is.
        self._wanted_pair = ((predicted, 1.0), (true, 0.0)) if predicted != true else ()
        if self._inspector is not None:
            self.sample_dialog.panel.show_input(self._inspector, self.result.test.images[index], self._wanted_pair)
        elif not self._exporting:
            from lenet_core.network_export import inspector_for_model

            self._exporting = True
            self.sample_dialog.panel.show_message("Preparing the layer view: exporting this run's model to LiteRT…")
            run_task(_export, self.result, inspector_for_model, on_result=self._on_exported, on_error=self._on_export_error)

    @Slot(object)
    def _on_exported(self, made) -> None:
        self._exporting = False
        result, inspector = made
        if result is not self.result:
            return  # a newer run is shown now
        self._inspector = inspector
        if self._wanted is not None and self.sample_dialog is not None:
            self.sample_dialog.panel.show_input(inspector, self.result.test.images[self._wanted], self._wanted_pair)

    @Slot(object)
    def _on_export_error(self, error) -> None:
        self._exporting = False
        if self.sample_dialog is not None:
            self.sample_dialog.panel.show_message(f"The layer view could not be made: {error}")


    def shutdown(self) -> None:
        if self.sample_dialog is not None:
            self.sample_dialog.close()
            self.sample_dialog.panel.shutdown()


def _export(result: TrainResult, make):
    return result, make(result.model, result.config.architecture, result.classes)


class SampleNetworkDialog(QDialog):
    """Inside the network for one test sample (a window beside the Result tab)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from app.widgets.network_view import NetworkPanel

        self.panel = NetworkPanel()
        QVBoxLayout(self).addWidget(self.panel)
        self.resize(420, 640)
