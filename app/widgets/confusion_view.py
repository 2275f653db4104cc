"""The confusion matrix as a heatmap (pyqtgraph `ImageItem`): true classes down, predicted
classes across, coloured by the share of each true class, with the count under the mouse.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.widgets.training_curves import themed_plot

LABEL_SPACING_PX = 15  # class labels closer than this on screen overlap: then every n-th is shown


class ConfusionMatrixView(QWidget):
    hovered = Signal(str)  # the readout under the mouse ("" when off the matrix)
    cell_clicked = Signal(int, int)  # (true row, predicted column) of a clicked cell

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = themed_plot("Confusion matrix", self)
        self.plot.setLabel("left", "true")
        self.plot.setLabel("bottom", "predicted")
        self.plot.invertY(True)  # row 0 at the top, as the matrix is read
        # Cells fill the area (not square): square cells in a wide area left the matrix floating
        # in empty bands, away from its row labels.
        self.plot.hideButtons()
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.readout = QLabel("Hover over a cell: true → predicted, count")
        self.readout.setObjectName("confusionReadout")
        self.readout.setWordWrap(True)  # a narrow window wraps it instead of growing
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.matrix: np.ndarray | None = None
        self.classes: tuple[str, ...] = ()
        self._label_step = 0
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.getViewBox().sigResized.connect(self._update_ticks)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    def set_matrix(self, matrix: np.ndarray, classes: tuple[str, ...]) -> None:
        self.matrix = np.asarray(matrix)
        self.classes = tuple(classes)
        totals = self.matrix.sum(axis=1, keepdims=True)
        rates = self.matrix / np.maximum(totals, 1)
        # A square root lifts the few-percent confusions out of the dark next to the diagonal.
        self.image.setImage(np.sqrt(rates), levels=(0.0, 1.0))
        self.image.setRect(0, 0, len(classes), len(classes))
        self.plot.setRange(xRange=(0, len(classes)), yRange=(0, len(classes)), padding=0.01)
        self._label_step = 0
        self._update_ticks()
        self.readout.setText("Hover over a cell: true → predicted, count")

    @Slot()
    def _update_ticks(self) -> None:
        """Label as many classes as fit: all of them when the cells are tall enough."""
        if not self.classes:
            return
        view = self.plot.getViewBox()
        cell_px = min(view.width(), view.height()) / max(len(self.classes), 1)
        step = max(1, int(np.ceil(LABEL_SPACING_PX / max(cell_px, 1e-3))))
        if step == self._label_step:
            return
        self._label_step = step
        ticks = [[(index + 0.5, label) for index, label in enumerate(self.classes) if index % step == 0], []]
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.getAxis("bottom").setTicks(ticks)

    def clear(self) -> None:
        self.matrix, self.classes = None, ()
        self.image.clear()
        self.readout.setText("")

    def cell_text(self, row: int, column: int) -> str:
        count = int(self.matrix[row, column])
        total = int(self.matrix[row].sum())
        share = f" ({count / total:.1%} of {self.classes[row]})" if total else ""
        return f"true {self.classes[row]} → predicted {self.classes[column]}: {count}{share}"

    def cell_centre(self, row: int, column: int) -> QPoint:
        """Where a cell's centre is, in the plot's viewport coordinates (for tests)."""
        scene = self.plot.getViewBox().mapViewToScene(QPointF(column + 0.5, row + 0.5))
        return self.plot.mapFromScene(scene)

    @Slot(object)
    def _on_mouse_clicked(self, event) -> None:
        if self.matrix is None or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.plot.getViewBox().mapSceneToView(event.scenePos())
        row, column = int(np.floor(point.y())), int(np.floor(point.x()))
        if 0 <= row < len(self.classes) and 0 <= column < len(self.classes):
            self.cell_clicked.emit(row, column)

    @Slot(object)
    def _on_mouse_moved(self, scene_position) -> None:
        if self.matrix is None:
            return
        point = self.plot.getViewBox().mapSceneToView(scene_position)
        row, column = int(np.floor(point.y())), int(np.floor(point.x()))
        inside = 0 <= row < len(self.classes) and 0 <= column < len(self.classes)
        text = self.cell_text(row, column) if inside else ""
        self.readout.setText(text or "Hover over a cell: true → predicted, count")
        self.hovered.emit(text)
