"""Live loss and accuracy curves of a training run (pyqtgraph): the running train figures
after each reported batch, and train and validation figures at each epoch end.

Points are stored as they arrive; the plots are redrawn at most every `REDRAW_MS`, so a burst
of batch reports costs one redraw and the GUI stays smooth.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QWidget

from lenet_core.training import BatchProgress, EpochResult

REDRAW_MS = 100
TRAIN_COLOUR = (31, 119, 180)
VALIDATION_COLOUR = (230, 110, 20)


def themed_plot(title: str, parent: QWidget) -> pg.PlotWidget:
    """A PlotWidget in the window's colours (pyqtgraph's global options stay untouched)."""
    palette = parent.palette()
    plot = pg.PlotWidget(parent, background=palette.color(QPalette.ColorRole.Base))
    text = palette.color(QPalette.ColorRole.Text)
    plot.setTitle(title, color=text.name())
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(text))
        axis.setTextPen(pg.mkPen(text))
    plot.setMenuEnabled(False)
    return plot


class _Series:
    """x/y points of one curve, kept as Python lists (appending is cheap, redraws are rare)."""

    def __init__(self, item: pg.PlotDataItem):
        self.item = item
        self.x: list[float] = []
        self.y: list[float] = []

    def add(self, x: float, y: float) -> None:
        if math.isfinite(y):
            self.x.append(x)
            self.y.append(y)

    def break_line(self) -> None:
        """No line across epochs: Keras's running figures start afresh with each epoch."""
        if self.y and math.isfinite(self.y[-1]):
            self.x.append(self.x[-1])
            self.y.append(math.nan)

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()

    def draw(self) -> None:
        self.item.setData(np.asarray(self.x, float), np.asarray(self.y, float))


class TrainingCurves(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss_plot = themed_plot("Loss", self)
        self.accuracy_plot = themed_plot("Accuracy (%)", self)
        self.series: dict[str, _Series] = {}
        for plot, metric in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy")):
            plot.setLabel("bottom", "epoch")
            plot.showGrid(x=True, y=True, alpha=0.2)
            legend = plot.addLegend(offset=(-10, 10) if metric == "loss" else (-10, -10))
            legend.setLabelTextColor(self.palette().color(QPalette.ColorRole.Text))
            self.series[f"train_batch_{metric}"] = _Series(
                plot.plot(pen=pg.mkPen(TRAIN_COLOUR + (150,), width=1), name="train (during epoch)")
            )
            self.series[f"train_{metric}"] = _Series(
                plot.plot(pen=None, symbol="o", symbolSize=7, symbolBrush=TRAIN_COLOUR, symbolPen=None, name="train (epoch)")
            )
            self.series[f"val_{metric}"] = _Series(
                plot.plot(pen=pg.mkPen(VALIDATION_COLOUR, width=2), symbol="s", symbolSize=7, symbolBrush=VALIDATION_COLOUR,
                          symbolPen=None, name="validation")
            )
        self.accuracy_plot.setYRange(0, 100, padding=0.02)
        self.accuracy_plot.getViewBox().enableAutoRange(axis="y", enable=False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.accuracy_plot)
        self.redraws = 0
        self._batch_epoch = 0
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(self.redraw)

    def clear(self) -> None:
        for series in self.series.values():
            series.clear()
        self._batch_epoch = 0
        self.redraw()

    def add_batch(self, progress: BatchProgress) -> None:
        if progress.epoch != self._batch_epoch:
            self._batch_epoch = progress.epoch
            self.series["train_batch_loss"].break_line()
            self.series["train_batch_accuracy"].break_line()
        x = progress.epoch - 1 + progress.batch / progress.steps
        self.series["train_batch_loss"].add(x, progress.loss)
        self.series["train_batch_accuracy"].add(x, 100 * progress.accuracy)
        self._schedule()

    def add_epoch(self, result: EpochResult) -> None:
        self.series["train_loss"].add(result.epoch, result.loss)
        self.series["train_accuracy"].add(result.epoch, 100 * result.accuracy)
        self.series["val_loss"].add(result.epoch, result.val_loss)
        self.series["val_accuracy"].add(result.epoch, 100 * result.val_accuracy)
        self._schedule()

    def show_validation(self, shown: bool) -> None:
        """Show the validation curves and their legend entries only for runs that hold data back."""
        for metric, plot in (("loss", self.loss_plot), ("accuracy", self.accuracy_plot)):
            item = self.series[f"val_{metric}"].item
            item.setVisible(shown)
            legend = plot.getPlotItem().legend
            legend.removeItem(item)
            if shown:
                legend.addItem(item, "validation")

    def legend_names(self, metric: str) -> list[str]:
        """The names in the legend of the "loss" or "accuracy" plot, top to bottom."""
        plot = self.loss_plot if metric == "loss" else self.accuracy_plot
        return [label.text for _, label in plot.getPlotItem().legend.items]

    def points(self, name: str) -> int:
        """How many points the curve `name` shows now (e.g. "train_batch_loss", "val_accuracy")."""
        _, y = self.series[name].item.getData()
        return 0 if y is None else int(np.isfinite(y).sum())

    def _schedule(self) -> None:
        if not self._redraw.isActive():
            self._redraw.start()

    @Slot()
    def redraw(self) -> None:
        self._redraw.stop()
        for series in self.series.values():
            series.draw()
        self.redraws += 1

    def set_epochs(self, epochs: int) -> None:
        """Fix the x range to the whole run, so the curves grow into it instead of rescaling."""
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setXRange(0, max(1, epochs), padding=0.02)
            plot.getViewBox().enableAutoRange(axis="x", enable=False)

