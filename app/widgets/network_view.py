"""The Network panel (issue 15): inside the network for one 28×28 input — the "why" heat map,
the first layer's filters, every layer's activations in order (feature maps as grids, dense
layers as strips) and the output probabilities.

The activations, the heat map and the coloured mosaics are all computed on the panel's own
`LatestOnly` worker (the Draw page's pattern): the GUI thread only wraps finished pixels in
QImages and paints. Click a map to enlarge it; hover for the map's number and value range.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.imaging import to_qimage
from app.workers import LatestOnly
from lenet_core.network_view import NetworkInspector, NetworkPicture, Why, inspector_for, tile

GAP = 1
PANEL_NICENESS = 5  # how much lower the panel's worker runs than the rest of the app
TITLE_HEIGHT = 18
SCALE_HEIGHT = 12


def _lut(anchors: list[tuple[int, int, int]]) -> np.ndarray:
    """A 256-entry RGB table through evenly spaced anchor colours."""
    positions = np.linspace(0, 255, len(anchors))
    channels = [np.interp(np.arange(256), positions, [colour[c] for colour in anchors]) for c in range(3)]
    return np.stack(channels, axis=1).round().astype(np.uint8)


SEQUENTIAL = _lut([(0, 0, 4), (60, 15, 110), (180, 55, 90), (250, 140, 30), (252, 255, 164)])  # dark → bright
DIVERGING = _lut([(40, 90, 200), (235, 235, 235), (200, 40, 40)])  # blue (−) → light (0) → red (+)
GAP_COLOUR = np.array([70, 70, 70], np.uint8)


def _packed(table: np.ndarray) -> np.ndarray:
    """An RGB table as 256 RGBA pixels packed in uint32 (one gather per pixel, not three)."""
    rgba = np.concatenate([table, np.full((len(table), 1), 255, np.uint8)], axis=1)
    return np.ascontiguousarray(rgba).view(np.uint32).ravel()


_PACKED: dict[int, np.ndarray] = {}
_GAP_PACKED = _packed(GAP_COLOUR[None])[0]


def colourise(values: np.ndarray, low: float, high: float, table: np.ndarray) -> np.ndarray:
    """Values (NaN: a gap) → RGBA uint8 through `table`, `low` → first entry, `high` → last."""
    packed = _PACKED.get(id(table))
    if packed is None:
        packed = _PACKED.setdefault(id(table), _packed(table))
    span = high - low if high > low else 1.0
    index = (np.asarray(values, np.float32) - np.float32(low)) * np.float32(255 / span)
    gaps = np.isnan(index)
    index[gaps] = 0
    np.clip(index, 0, 255, out=index)
    pixels = packed[index.astype(np.uint8)]
    pixels[gaps] = _GAP_PACKED
    return pixels.view(np.uint8).reshape(*pixels.shape, 4)


def _scale(values: np.ndarray, signed: bool) -> tuple[float, float, np.ndarray]:
    """The colour scale of a layer: 0…max, or −m…m (diverging) where values go below zero."""
    low, high = float(values.min()), float(values.max())  # the layer's own values: no gaps
    if signed or low < 0:
        bound = max(abs(low), abs(high), 1e-6)
        return -bound, bound, DIVERGING
    return 0.0, max(high, 1e-6), SEQUENTIAL


def _columns(count: int) -> int:
    return {6: 6, 16: 8, 32: 8, 64: 16, 128: 16}.get(count, int(np.ceil(np.sqrt(count * 2))))


@dataclass(frozen=True)
class Tile:
    """One drawn layer: a mosaic of its maps (or a strip of its units), ready to paint."""

    title: str
    kind: str  # conv, pool, dense, output, filters
    pixels: np.ndarray  # RGB uint8 mosaic
    low: float
    high: float
    table: np.ndarray
    cell: tuple[int, int]  # one map's (height, width) in mosaic pixels (1×1 for strips)
    columns: int
    values: np.ndarray  # H×W×C maps, or N units
    labels: tuple[str, ...] = ()  # the classes, for the output strip
    gap: int = GAP  # mosaic pixels between maps

    @property
    def count(self) -> int:
        return int(self.values.shape[-1])

    def index_at(self, x: float, y: float) -> int | None:
        """Which map (or unit) is at mosaic pixel (x, y)."""
        (height, width), gap = self.cell, self.gap
        column, row = int(x // (width + gap)), int(y // (height + gap))
        if column >= self.columns or x % (width + gap) >= width or y % (height + gap) >= height:
            return None
        index = row * self.columns + column
        return index if index < self.count else None

    def map_values(self, index: int) -> np.ndarray:
        return self.values[..., index] if self.values.ndim == 3 else self.values[index : index + 1]

    def describe(self, index: int) -> str:
        if self.kind == "output":
            return f"class ‘{self.labels[index]}’: {float(self.values[index]):.2%}"
        values = self.map_values(index)
        noun = {"filters": "filter", "dense": "unit"}.get(self.kind, "map")
        if self.values.ndim == 1:
            return f"{noun} {index + 1} of {self.count}: {float(values[0]):.3f}"
        return f"{noun} {index + 1} of {self.count}: {float(values.min()):.3f} … {float(values.max()):.3f}"


@dataclass(frozen=True)
class Shown:
    """What the worker hands to the GUI for one input."""

    tiles: tuple[Tile, ...]
    heat: np.ndarray | None  # RGB uint8 28×28: the input with the why map over it
    why: Why | None
    picture: NetworkPicture | None
    message: str = ""


def _map_tile(title: str, kind: str, maps: np.ndarray, signed: bool = False) -> Tile:
    columns = _columns(maps.shape[-1])
    low, high, table = _scale(maps, signed)
    return Tile(title, kind, colourise(tile(maps, columns, GAP), low, high, table), low, high, table,
                maps.shape[:2], columns, maps)


def _strip_tile(title: str, kind: str, units: np.ndarray, labels: tuple[str, ...] = ()) -> Tile:
    columns = min(len(units), 24 if kind == "output" else 48)  # the output in cells big enough for their class
    rows = -(-len(units) // columns)
    padded = np.full(rows * columns, np.nan, np.float32)
    padded[: len(units)] = units
    low, high, table = _scale(units, False)
    if kind == "output":
        low, high = 0.0, 1.0
    mosaic = padded.reshape(rows, columns)  # one pixel a unit, no gaps
    return Tile(title, kind, colourise(mosaic, low, high, table), low, high, table, (1, 1), columns, units, labels, gap=0)


def heat_overlay(image: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """The input in grey with red where the ink supports the top guess, blue the runner-up;
    coloured on and next to the ink only (blanking background changes nothing: the colour
    there is its ink neighbours')."""
    image = np.asarray(image, np.float32)
    bound = max(float(np.abs(contrast).max()), 1e-6)
    grey = (image * 0.45 + 0.15)[..., None] * 255
    padded = np.pad(image, 1)
    near_ink = np.max([padded[dy : dy + 28, dx : dx + 28] for dy in range(3) for dx in range(3)], axis=0)
    signed = np.clip(contrast / bound, -1, 1)[..., None]
    red, blue = np.array([230, 40, 40], np.float32), np.array([40, 110, 240], np.float32)
    weight = np.abs(signed) * np.clip(near_ink * 2, 0, 1)[..., None]
    colour = np.where(signed > 0, red, blue)
    return np.clip(grey * (1 - weight) + colour * weight, 0, 255).astype(np.uint8)


_lowered: set[int] = set()


def _lower_this_threads_priority() -> None:
    """The panel's worker yields the cores to the GUI thread and the top-k's worker (Linux:
    threads have their own nice value; elsewhere nothing changes)."""
    ident = threading.get_native_id()
    if ident in _lowered or not hasattr(os, "setpriority"):
        return
    _lowered.add(ident)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, ident, min(19, os.getpriority(os.PRIO_PROCESS, ident) + PANEL_NICENESS))


def inspect(source, image: np.ndarray | None, explain: tuple[str, str] | None = None) -> Shown:
    """Runs on the worker: activations, the why map (of `explain`'s two classes, or the
    network's top two) and the painted mosaics for one input."""
    _lower_this_threads_priority()
    inspector = source if isinstance(source, NetworkInspector) else inspector_for(source)
    if image is None:
        return Shown((), None, None, None, "Draw or choose a character to see inside the network.")
    image = np.asarray(image)
    image = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    why = inspector.why(image, explain)
    heat = heat_overlay(image, why.contrast)
    if not inspector.available:
        return Shown((), heat, why, None, inspector.problem)
    picture = inspector.picture(image)
    return Shown(tiles_for(picture), heat, why, picture)


def tiles_for(picture: NetworkPicture) -> tuple[Tile, ...]:
    """The first layer's filters, then every shown layer, coloured and laid out."""
    tiles = []
    if picture.filters is not None:
        filters = picture.filters.transpose(1, 2, 0)
        tiles.append(_map_tile(f"filters of {picture.filters_layer} (weights) · {filters.shape[-1]}×"
                               f"{filters.shape[0]}×{filters.shape[1]}", "filters", filters, signed=True))
    for shown in picture.layers:
        layer = shown.layer
        if shown.values.ndim == 3:
            tiles.append(_map_tile(layer.describe(), layer.kind, shown.values))
        else:
            tiles.append(_strip_tile(layer.describe(), layer.kind, shown.values,
                                     picture.classes if layer.kind == "output" else ()))
    return tuple(tiles)


class TileView(QWidget):
    """One layer: its title, its colour scale with the numbers, and the mosaic scaled to the width."""

    clicked = Signal(int, int)  # (tile index in the panel, map index)

    def __init__(self, number: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.number = number
        self.tile: Tile | None = None
        self.image = QImage()
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_tile(self, tile: Tile) -> None:
        old = self.tile
        self.tile = tile
        self.image = to_qimage(tile.pixels)
        self.setAccessibleName(tile.title)
        if old is None or old.pixels.shape != tile.pixels.shape:
            self.updateGeometry()
        self.update()

    def _zoom(self) -> float:
        """The most a mosaic pixel is enlarged: small maps and strips more than big maps."""
        if self.tile.kind == "output":
            return 22.0
        return 9.0 if self.tile.cell[0] == 1 else (3.0 if self.tile.cell[0] >= 14 else 6.0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if self.tile is None:
            return TITLE_HEIGHT + SCALE_HEIGHT
        height, columns = self.tile.pixels.shape[:2]
        scale = min(width / columns, self._zoom())
        return TITLE_HEIGHT + SCALE_HEIGHT + 4 + int(np.ceil(height * scale))

    def sizeHint(self) -> QSize:
        return QSize(200, self.heightForWidth(200))

    def minimumSizeHint(self) -> QSize:
        return QSize(60, self.heightForWidth(60))

    def mosaic_rect(self) -> QRectF:
        if self.tile is None:
            return QRectF()
        height, width = self.tile.pixels.shape[:2]
        scale = min(self.width() / width, self._zoom())
        return QRectF(0, TITLE_HEIGHT + SCALE_HEIGHT + 4, width * scale, height * scale)

    def map_centre(self, index: int) -> QPoint:
        """Where map `index` is drawn (for tests)."""
        rect = self.mosaic_rect()
        (height, width), gap = self.tile.cell, self.tile.gap
        row, column = divmod(index, self.tile.columns)
        scale = rect.width() / self.tile.pixels.shape[1]
        return QPoint(int(rect.x() + (column * (width + gap) + width / 2) * scale),
                      int(rect.y() + (row * (height + gap) + height / 2) * scale))

    def index_at(self, x: float, y: float) -> int | None:
        rect = self.mosaic_rect()
        if self.tile is None or not rect.contains(x, y):
            return None
        scale = rect.width() / self.tile.pixels.shape[1]
        return self.tile.index_at((x - rect.x()) / scale, (y - rect.y()) / scale)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        if self.tile is None:
            painter.end()
            return
        palette = self.palette()
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        painter.drawText(QRect(0, 0, self.width(), TITLE_HEIGHT), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(self.tile.title, Qt.TextElideMode.ElideRight, self.width()))
        # The colour scale: the gradient of the table with its two ends' values.
        low, high = f"{self.tile.low:.2f}", f"{self.tile.high:.2f}"
        metrics = painter.fontMetrics()
        bar = QRectF(metrics.horizontalAdvance(low) + 6, TITLE_HEIGHT + 2, min(120, self.width() / 2), SCALE_HEIGHT - 3)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for stop in (0, 64, 128, 192, 255):
            gradient.setColorAt(stop / 255, QColor(*[int(c) for c in self.tile.table[stop]]))
        painter.fillRect(bar, gradient)
        painter.drawText(QRectF(0, TITLE_HEIGHT, bar.x() - 3, SCALE_HEIGHT), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, low)
        painter.drawText(QRectF(bar.right() + 4, TITLE_HEIGHT, 80, SCALE_HEIGHT), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, high)
        painter.drawImage(self.mosaic_rect(), self.image)
        if self.tile.kind == "output":
            self._paint_class_labels(painter)
        painter.end()

    def _paint_class_labels(self, painter: QPainter) -> None:
        rect = self.mosaic_rect()
        side = rect.width() / self.tile.pixels.shape[1]
        if side < 9:
            return
        font = painter.font()
        font.setPixelSize(max(7, int(side * 0.6)))
        painter.setFont(font)
        for index, label in enumerate(self.tile.labels):
            row, column = divmod(index, self.tile.columns)
            cell = QRectF(rect.x() + column * side, rect.y() + row * side, side, side)
            painter.setPen(QColor(0, 0, 0) if self.tile.values[index] > 0.5 else QColor(230, 230, 230))
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, label)

    def mouseMoveEvent(self, event) -> None:
        index = self.index_at(event.position().x(), event.position().y())
        if index is None and self.tile is not None and event.position().y() < TITLE_HEIGHT + SCALE_HEIGHT:
            text = f"{self.tile.title}\ncolour scale {self.tile.low:.3f} … {self.tile.high:.3f}"
            self.setToolTip(text)
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        elif index is None:
            QToolTip.hideText()
            self.setToolTip("")
        else:
            text = self.tile.describe(index) + ("" if self.tile.values.ndim == 1 else " · click to enlarge")
            self.setToolTip(text)
            QToolTip.showText(event.globalPosition().toPoint(), text, self)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.tile is None or self.tile.values.ndim != 3:
            return
        index = self.index_at(event.position().x(), event.position().y())
        if index is not None:
            self.clicked.emit(self.number, index)


class MapDialog(QDialog):
    """One feature map (or filter), enlarged with crisp pixels, its number and value range."""

    def __init__(self, tile: Tile, index: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(tile.title.split(" · ")[0])
        values = tile.map_values(index)
        self.array = colourise(values, tile.low, tile.high, tile.table)
        from app.widgets.image_view import ImageView

        self.view = ImageView(minimum=280)
        self.view.set_array(self.array)
        self.label = QLabel(f"{tile.title}\n{tile.describe(index)} (colour scale {tile.low:.2f} … {tile.high:.2f})")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.label)
        self.resize(340, 400)


class NetworkPanel(QFrame):
    """`show_input(recognizer_or_inspector, image)` updates it (None clears it); `updated`
    is emitted once what it shows answers the latest request."""

    updated = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("networkPanel")
        self.shown: Shown | None = None
        self.enlarged: MapDialog | None = None
        self._sequence = 0
        self._applied = 0
        self.worker = LatestOnly(self)
        self.worker.finished.connect(self._on_inspected)

        self.heading = QLabel("<b>Inside the network</b>")
        self.message = QLabel("Draw or choose a character to see inside the network.")
        self.message.setWordWrap(True)
        from app.widgets.image_view import ImageView

        self.heat_view = ImageView("why", minimum=84)
        self.heat_view.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.heat_view.setFixedSize(112, 112)
        self.heat_view.setToolTip("Occlusion sensitivity: blank a small square of ink and watch the top guess drop")
        self.caption = QLabel("")
        self.caption.setObjectName("whyCaption")
        self.caption.setWordWrap(True)
        self.tiles_box = QWidget()
        self.tiles_layout = QVBoxLayout(self.tiles_box)
        self.tiles_layout.setContentsMargins(0, 0, 4, 0)
        self.tiles_layout.setSpacing(6)
        self.tiles_layout.addStretch(1)
        self.tile_views: list[TileView] = []
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.tiles_box)
        self.scroll = scroll
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.heat_view)
        layout.addWidget(self.caption)
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    @property
    def settled(self) -> bool:
        return self._applied == self._sequence

    def show_input(self, source, image: np.ndarray | None, top: tuple[tuple[str, float], ...] = ()) -> None:
        """`top`: the top-k shown beside the panel; the heat map then explains its first two."""
        self._sequence += 1
        if source is None:
            self.show_message("Loading the model…")
            self.updated.emit()
            return
        explain = (top[0][0], top[1][0]) if len(top) >= 2 else None
        self.worker.submit((self._sequence, source), inspect, source, None if image is None else np.array(image), explain)

    def show_message(self, text: str) -> None:
        """Only a message (while the model is being prepared)."""
        self._sequence += 1
        self._applied = self._sequence
        self._apply(Shown((), None, None, None, text))

    @Slot(object, object)
    def _on_inspected(self, token, value) -> None:
        sequence, _source = token
        if sequence < self._applied:
            return
        self._applied = sequence
        if isinstance(value, Exception):
            value = Shown((), None, None, None, f"Cannot show the network: {value}")
        self._apply(value)
        self.updated.emit()

    def _apply(self, shown: Shown) -> None:
        self.shown = shown
        self.message.setText(shown.message)
        self.message.setVisible(bool(shown.message))
        self.heat_view.set_array(shown.heat)
        self.caption.setText(shown.why.caption if shown.why is not None else "")
        while len(self.tile_views) < len(shown.tiles):
            view = TileView(len(self.tile_views))
            view.clicked.connect(self.enlarge)
            self.tiles_layout.insertWidget(len(self.tile_views), view)
            self.tile_views.append(view)
        for index, view in enumerate(self.tile_views):
            if index < len(shown.tiles):
                view.set_tile(shown.tiles[index])
            view.setVisible(index < len(shown.tiles))

    @Slot(int, int)
    def enlarge(self, tile_index: int, map_index: int) -> None:
        if self.shown is None or tile_index >= len(self.shown.tiles):
            return
        if self.enlarged is not None:
            self.enlarged.close()
        self.enlarged = MapDialog(self.shown.tiles[tile_index], map_index, self.window())
        self.enlarged.show()

    def shutdown(self) -> None:
        self.worker.shutdown()
