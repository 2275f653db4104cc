"""The Draw page: a drawing pad with live top-k while the stroke grows, and the 28×28 image
the network actually sees.

Prediction runs on a `LatestOnly` worker: requests are throttled while drawing, and a request
that is superseded before it starts is dropped, so the GUI thread never waits on inference.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.charset_picker import CharsetPicker
from app.widgets.drawing_pad import DrawingPad
from app.widgets.image_view import ImageView
from app.widgets.top_k import TopKView
from app.workers import LatestOnly
from lenet_core import preprocess
from lenet_core.charset import CharsetError
from lenet_core.inference import Prediction, Recognizer

THROTTLE_MS = 30  # at most ~33 predictions a second while drawing
TOP_K = 5


def _recognise(recognizer: Recognizer, image, charset: str | None = None) -> Prediction:
    return recognizer.recognise(image, preprocess.DRAWING, TOP_K, charset=charset)


class DrawPage(QWidget):
    prediction_shown = Signal(object)  # the Prediction now on screen (empty when the pad is)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.recognizer: Recognizer | None = None
        self.last_prediction: Prediction | None = None
        self.first_prediction_at: float | None = None
        self._sequence = 0
        self._shown = 0
        self.worker = LatestOnly(self)
        self.worker.finished.connect(self._on_prediction)
        self._throttle = QTimer(self, singleShot=True, interval=THROTTLE_MS)
        self._throttle.timeout.connect(self.predict_now)

        self.pad = DrawingPad()
        self.pad.changed.connect(self._schedule)
        self.top_k = TopKView(TOP_K)
        self.input_view = ImageView("28×28 input", minimum=112)
        self.input_view.setToolTip("The 28×28 image the network sees, after cropping, centring and resampling")
        self._build_controls()

        side = QVBoxLayout()
        side.addWidget(self.top_k)
        side.addSpacing(12)
        side.addWidget(QLabel("What the network sees (28×28):"))
        side.addWidget(self.input_view, 0, Qt.AlignmentFlag.AlignLeft)
        side.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.pad, 1)
        left.addLayout(self.controls)
        charset_row = QHBoxLayout()  # under the pen's controls: the page keeps its minimum size
        charset_row.addWidget(QLabel("Characters"))
        charset_row.addWidget(self.charset_picker)
        charset_row.addStretch(1)
        left.addLayout(charset_row)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(side, 2)

    # --- controls -----------------------------------------------------------------------------

    def _build_controls(self) -> None:
        self.controls = QHBoxLayout()
        self.width_slider = QSlider(Qt.Orientation.Horizontal)
        self.width_slider.setRange(2, 40)  # pen width in pixels of a 280-pixel pad
        self.width_slider.setValue(16)
        self.width_slider.setToolTip("Pen width")
        self.width_slider.setAccessibleName("Pen width")
        self.width_slider.valueChanged.connect(lambda value: self.pad.set_pen_width(value / 280))
        self.pad.set_pen_width(16 / 280)
        self.pen_button = QToolButton(text="Pen", checkable=True, checked=True)
        self.eraser_button = QToolButton(text="Eraser", checkable=True)
        self.eraser_button.setToolTip("Eraser (E)")
        self.eraser_button.setShortcut(QKeySequence("E"))
        self.pen_button.setShortcut(QKeySequence("P"))
        group = QButtonGroup(self)
        group.addButton(self.pen_button)
        group.addButton(self.eraser_button)
        self.eraser_button.toggled.connect(self.pad.set_eraser)

        self.undo_action = self.pad.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.pad.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.StandardKey.Redo])
        self.clear_action = QAction("Clear", self)
        self.clear_action.setShortcuts([QKeySequence(Qt.Key.Key_Escape), QKeySequence(QKeySequence.StandardKey.Delete)])
        self.clear_action.triggered.connect(self.pad.clear)
        for action in (self.undo_action, self.redo_action, self.clear_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        undo, redo, clear = (QToolButton() for _ in range(3))
        undo.setDefaultAction(self.undo_action)
        redo.setDefaultAction(self.redo_action)
        clear.setDefaultAction(self.clear_action)
        self.undo_button, self.redo_button, self.clear_button = undo, redo, clear

        self.style_combo = QComboBox()
        self.style_combo.addItem("White ink on dark", "light-on-dark")
        self.style_combo.addItem("Dark ink on light", "dark-on-light")
        self.style_combo.currentIndexChanged.connect(lambda _: self.pad.set_style(self.style_combo.currentData()))
        self.style_combo.setToolTip("Either way: the pipeline normalises the ink")
        self.charset_picker = CharsetPicker()
        self.charset_picker.changed.connect(self.predict_now)

        self.controls.addWidget(QLabel("Width"))
        self.controls.addWidget(self.width_slider, 1)
        for widget in (self.pen_button, self.eraser_button, undo, redo, clear, self.style_combo):
            self.controls.addWidget(widget)

    # --- prediction ---------------------------------------------------------------------------

    def set_recognizer(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer
        self.predict_now()  # switching models re-predicts the current drawing

    @Slot()
    def _schedule(self) -> None:
        if not self._throttle.isActive():
            self._throttle.start()

    @Slot()
    def predict_now(self) -> None:
        self._throttle.stop()
        self._sequence += 1
        if self.pad.is_empty():
            self._shown = self._sequence
            self.last_prediction = Prediction(())
            self.top_k.show_hint("Draw a character to see what the network reads.")
            self.input_view.set_array(None)
            self.prediction_shown.emit(self.last_prediction)
            return
        if self.recognizer is None:
            self.top_k.show_hint("Loading the model…")
            return
        self.worker.submit((self._sequence, self.recognizer), _recognise, self.recognizer, self.pad.render_image(),
                           self.charset_picker.value())

    @Slot(object, object)
    def _on_prediction(self, token, value) -> None:
        sequence, recognizer = token
        if sequence < self._shown or recognizer is not self.recognizer:
            return  # an answer to an older drawing or an older model
        self._shown = sequence
        if isinstance(value, CharsetError):
            self.top_k.show_hint(f"Characters: {value}.")
            return
        if isinstance(value, Exception):
            self.top_k.show_hint(f"Could not recognise: {value}")
            return
        prediction: Prediction = value
        self.last_prediction = prediction
        if prediction.empty:
            self.top_k.show_hint("Nothing to read: no ink found.")
            self.input_view.set_array(None)
        else:
            self.top_k.show_prediction(prediction.top)
            self.input_view.set_array(prediction.pipeline.input)
            if self.first_prediction_at is None:
                self.first_prediction_at = time.perf_counter()
        self.prediction_shown.emit(prediction)

    def shutdown(self) -> None:
        self.worker.shutdown()
