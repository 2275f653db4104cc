"""The preprocessing pipeline as a strip of pictures: every stage with its name and pixel size,
from the original to the 28×28 input; a click on a stage shows it enlarged.

Thumbnails can be made off the GUI thread with `thumbnails` (plain numpy), so a live update
of a large photo costs the GUI thread only small images.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.widgets.elided_label import FixedLinesLabel
from app.widgets.image_view import ImageView
from lenet_core.preprocess import Stage

THUMBNAIL_SIDE = 192  # pixels: twice a tile, so tiles stay sharp on high-DPI screens


def thumbnail(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """The image shrunk (never enlarged) to fit `side`; small images come back as they are."""
    image = np.asarray(image)
    if image.size == 0 or max(image.shape[:2]) <= side:
        return image
    scale = side / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    if image.dtype not in (np.uint8, np.uint16, np.float32):  # cv2.resize works on these
        image = image.astype(np.float32)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def thumbnails(stages: Sequence[Stage], side: int = THUMBNAIL_SIDE) -> dict[str, np.ndarray]:
    return {stage.name: thumbnail(stage.image, side) for stage in stages}


def size_text(image: np.ndarray) -> str:
    image = np.asarray(image)
    if image.size == 0:
        return "—"
    return f"{image.shape[1]}×{image.shape[0]}"


class StageTile(QWidget):
    """One stage: its picture, its name and its size."""

    clicked = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.stage: Stage | None = None
        self.view = ImageView(smooth=name not in ("input",), minimum=48)
        self.view.setCursor(Qt.CursorShape.PointingHandCursor)
        self.view.clicked.connect(self._on_clicked)
        # Two lines for every title, wrapped or not: a long one ("Ink white, background black")
        # no longer makes its picture shorter than the others.
        self.title = FixedLinesLabel(lines=2)
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # its longest word sets no width
        self.size_label = QLabel()
        self.size_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.size_label.setEnabled(False)  # drawn in the muted colour
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.title)
        layout.addWidget(self.size_label)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_stage(self, stage: Stage, small: np.ndarray | None = None) -> None:
        if self.stage is not None and self.stage.image is stage.image:
            self.stage = stage
            return  # the same picture (the original of a photo being re-read): nothing to redraw
        self.stage = stage
        self.view.set_array(small if small is not None else thumbnail(stage.image))
        self.title.setText(stage.title)
        self.size_label.setText(size_text(stage.image))
        tip = f"{stage.title} · {size_text(stage.image)} pixels — click to enlarge"
        self.setToolTip(tip)
        self.view.setAccessibleName(f"{stage.title}, {size_text(stage.image)}")

    @Slot()
    def _on_clicked(self) -> None:
        if self.stage is not None:
            self.clicked.emit(self.name)


class StageDialog(QDialog):
    """One stage enlarged; it follows the strip while it is open."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModal(False)
        self.view = ImageView(minimum=420)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        self.name = ""
        self.resize(560, 560)

    def show_stage(self, stage: Stage) -> None:
        self.name = stage.name
        image = np.asarray(stage.image)
        self.view.smooth = max(image.shape[:2], default=0) > 200  # small images: crisp pixels
        self.view.set_array(thumbnail(image, 2048))
        self.setWindowTitle(stage.title)
        self.caption.setText(f"{stage.title} · {size_text(image)} pixels")


class PipelineStrip(QWidget):
    """Tiles for the stages in order, with arrows between them."""

    stage_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tiles: dict[str, StageTile] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.dialog: StageDialog | None = None
        self.stages: tuple[Stage, ...] = ()
        self.setMinimumHeight(112)

    def set_stages(self, stages: Sequence[Stage], small: dict[str, np.ndarray] | None = None) -> None:
        self.stages = tuple(stages)
        names = [stage.name for stage in self.stages]
        if names != list(self.tiles):
            self._rebuild(names)
        for stage in self.stages:
            self.tiles[stage.name].set_stage(stage, (small or {}).get(stage.name))
        if self.dialog is not None and self.dialog.isVisible() and self.dialog.name in self.tiles:
            self.dialog.show_stage(self.tiles[self.dialog.name].stage)

    def clear(self) -> None:
        self.set_stages(())

    def _rebuild(self, names: list[str]) -> None:
        while self._layout.count():
            widget = self._layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.tiles = {}
        for position, name in enumerate(names):
            if position:
                arrow = QLabel("→")
                arrow.setEnabled(False)
                self._layout.addWidget(arrow)
            tile = StageTile(name)
            tile.clicked.connect(self.enlarge)
            self.tiles[name] = tile
            self._layout.addWidget(tile, 1)

    @Slot(str)
    def enlarge(self, name: str) -> None:
        """Show a stage large, in a window of its own that follows later updates."""
        tile = self.tiles.get(name)
        if tile is None or tile.stage is None:
            return
        if self.dialog is None:
            self.dialog = StageDialog(self.window())
        self.dialog.show_stage(tile.stage)
        self.dialog.show()
        self.dialog.raise_()
        self.stage_clicked.emit(name)
