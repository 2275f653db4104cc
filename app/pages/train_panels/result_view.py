"""The Result tab: what the run scored on its test part: accuracy and F1, the confusion
matrix, the most confused pairs and a gallery of misclassified samples."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QScrollArea, QVBoxLayout, QWidget

from app.widgets.sample_grid import SampleGrid
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
        self.main_layout = QVBoxLayout(self)
        self.main_layout.addWidget(self.summary_label)
        self.main_layout.addLayout(middle, 3)
        self.main_layout.addWidget(QLabel("Misclassified test samples (true → predicted):"))
        self.main_layout.addWidget(gallery_scroll, 2)

    def show_result(self, result: TrainResult | None) -> None:
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
            self.summary_label.setText(f"{partial}Stopped before the first epoch ended: nothing to evaluate yet.")
            self.confusion.clear()
            self.gallery.clear()
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
        wrong = evaluation.misclassified[:GALLERY_SAMPLES]
        classes = evaluation.classes
        true_labels, predicted = result.test.labels[wrong], evaluation.predictions[wrong]
        self.gallery.set_samples(
            result.test.images[wrong],
            [f"{classes[t]}→{classes[p]}" for t, p in zip(true_labels, predicted)],
            [f"test sample {i}: true {classes[t]}, predicted {classes[p]}" for i, t, p in zip(wrong, true_labels, predicted)],
        )
