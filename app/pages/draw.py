"""The Draw page: a drawing pad with live top-k while the stroke grows, and the 28×28 image
the network actually sees.

Prediction runs on a `LatestOnly` worker: requests are throttled while drawing, and a request
that is superseded before it starts is dropped, so the GUI thread never waits on inference.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.charset_picker import CharsetPicker
from app.widgets.drawing_pad import DrawingPad
from app.widgets.image_view import ImageView
from app.widgets.network_view import NetworkPanel
from app.widgets.top_k import TopKView
from app.workers import LatestOnly
from lenet_core import preprocess
from lenet_core.charset import CharsetError
from lenet_core.inference import Prediction, Recognizer

THROTTLE_MS = 30  # at most ~33 predictions a second while drawing
TOP_K = 5


def _recognise(recognizer: Recognizer, image, charset: str | None = None) -> Prediction:
    return recognizer.recognise(image, preprocess.DRAWING, TOP_K, charset=charset)


class _Column(QWidget):
    """A column whose preferred width is a fixed share, not its contents' width: with both columns
    preferring 3 : 2 and stretching 3 : 2, their widths depend on the window alone (above each
    column's minimum), so a longer caption or button text never moves the pad."""

    def __init__(self, share: int):
        super().__init__()
        self.share = share
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        return QSize(120 * self.share, super().sizeHint().height())


class _ActionButton(QToolButton):
    """A tool button that triggers an action and follows its enabled state, with a text of its own."""

    def __init__(self, action: QAction, text: str, keys: str):
        super().__init__()
        self.setText(text)
        self.setToolTip(f"{text} ({keys})")
        self.action = action
        self.clicked.connect(action.trigger)
        action.changed.connect(self._follow)
        self._follow()

    @Slot()
    def _follow(self) -> None:
        self.setEnabled(self.action.isEnabled())


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
        self.input_view = ImageView("28×28 input", minimum=112, empty_text="empty")
        self.input_view.setToolTip("The 28×28 image the network sees, after cropping, centring and resampling")
        self._build_controls()
        self._build_sample_row()
        self.network = NetworkPanel()  # inside the network (issue 15): a column shown on demand
        self.network.setVisible(False)
        self.network_button.toggled.connect(self.show_network)

        # The side column's width follows the window, never its texts: a longer caption or
        # prediction must not move the pad (both columns ignore their contents' widths).
        side_panel = _Column(2)
        side_panel.setObjectName("drawSidePanel")
        side = QVBoxLayout(side_panel)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.top_k)
        side.addSpacing(12)
        side.addWidget(QLabel("What the network sees (28×28):"))
        seen_row = QHBoxLayout()  # the Network toggle beside the input: no extra height or width
        seen_row.addWidget(self.input_view, 0, Qt.AlignmentFlag.AlignLeft)
        seen_row.addWidget(self.network_button, 0, Qt.AlignmentFlag.AlignBottom)
        seen_row.addStretch(1)
        side.addLayout(seen_row)
        side.addStretch(1)
        left_panel = _Column(3)
        left = QVBoxLayout(left_panel)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.pad, 1)
        left.addLayout(self.controls)
        left.addLayout(self.sample_row)
        # What the answer may be: at the end of the samples row (a row of its own, or one above the
        # top-k, would make the page taller than the window's minimum allows).
        self.sample_row.addWidget(QLabel("Characters"))
        self.sample_row.addWidget(self.charset_picker)
        layout = QHBoxLayout(self)
        layout.addWidget(left_panel, 3)
        layout.addWidget(side_panel, 2)
        layout.addWidget(self.network, 3)

    # --- controls -----------------------------------------------------------------------------

    def _build_controls(self) -> None:
        self.controls = QVBoxLayout()
        self.width_slider = QSlider(Qt.Orientation.Horizontal)
        self.width_slider.setRange(2, 40)  # pen width in pixels of a 280-pixel pad
        self.width_slider.setValue(16)
        self.width_slider.setToolTip("Pen width")
        self.width_slider.setAccessibleName("Pen width")
        self.width_slider.valueChanged.connect(lambda value: self.pad.set_pen_width(value / 280))
        self.pad.set_pen_width(16 / 280)
        self.pen_button = QToolButton(text="Pen", checkable=True, checked=True)
        self.pen_button.setToolTip("Pen (P)")
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
            # Within the page; the main window widens this to the whole window while the page
            # is the one showing (so the keys work with focus on the toolbar too).
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        # Buttons with fixed texts: the undo stack renames its actions ("Undo stroke", "Undo
        # erase"), and a button showing that text would change width, and the layout with it.
        undo = _ActionButton(self.undo_action, "Undo", "Ctrl+Z")
        redo = _ActionButton(self.redo_action, "Redo", "Ctrl+Shift+Z")
        clear = _ActionButton(self.clear_action, "Clear", "Esc or Delete")
        self.undo_button, self.redo_button, self.clear_button = undo, redo, clear

        self.style_combo = QComboBox()
        self.style_combo.addItem("White ink on dark", "light-on-dark")
        self.style_combo.addItem("Dark ink on light", "dark-on-light")
        self.style_combo.currentIndexChanged.connect(lambda _: self.pad.set_style(self.style_combo.currentData()))
        self.style_combo.setToolTip("Either way: the pipeline normalises the ink")
        self.charset_picker = CharsetPicker()
        self.charset_picker.changed.connect(self.predict_now)

        self.width_slider.setMinimumWidth(120)  # never the invisible nub of a crowded row
        tools = QHBoxLayout()
        for widget in (self.pen_button, self.eraser_button):
            tools.addWidget(widget)
        tools.addSpacing(8)
        tools.addWidget(QLabel("Width"))
        tools.addWidget(self.width_slider, 1)
        edits = QHBoxLayout()
        for widget in (undo, redo, clear):
            edits.addWidget(widget)
        edits.addStretch(1)
        edits.addWidget(self.style_combo)
        self.controls.addLayout(tools)
        self.controls.addLayout(edits)
        self.network_button = QToolButton(text="Network ▸", checkable=True)
        self.network_button.setToolTip("Show inside the network: every layer's activations and why it answers so (N)")
        self.network_button.setShortcut(QKeySequence("N"))

    def _build_sample_row(self) -> None:
        """“Add to my samples”: the drawing, labelled with the top guess unless the user types another."""
        from PySide6.QtWidgets import QLineEdit, QPushButton, QSizePolicy

        from app.my_samples import SampleSaver

        self.sample_saver = SampleSaver(self)
        self.sample_saver.saved.connect(self._on_sample_saved)
        self.sample_saver.failed.connect(self._on_sample_failed)
        self.sample_label = QLineEdit()
        self.sample_label.setObjectName("sampleLabel")
        self.sample_label.setMaxLength(8)
        self.sample_label.setMaximumWidth(60)
        self.sample_label.setMinimumWidth(40)  # room for a character and the cursor at the smallest size
        self.sample_label.setPlaceholderText("label")
        self.sample_label.setToolTip("The character this drawing is (the top guess until you type another)")
        self.sample_label.returnPressed.connect(self.add_sample)
        self.add_sample_action = QAction("Add to my samples", self)
        self.add_sample_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.add_sample_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.add_sample_action.setToolTip("Keep this drawing with its label in your samples, to adapt the model to your "
                                          "handwriting (Ctrl+Return); the pad is cleared for the next one")
        self.add_sample_action.triggered.connect(self.add_sample)
        self.addAction(self.add_sample_action)
        self.add_sample_button = QPushButton("Add to my samples")
        self.add_sample_button.setObjectName("addSample")
        self.add_sample_button.setToolTip(self.add_sample_action.toolTip())
        self.add_sample_button.clicked.connect(self.add_sample)
        self.sample_status = QLabel()
        self.sample_status.setObjectName("sampleStatus")
        # Long messages are clipped rather than widening the window (the Samples page has the details).
        self.sample_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._label_typed = False  # the user typed a label: new guesses no longer overwrite it
        self.sample_label.textEdited.connect(self._on_label_typed)
        self.sample_row = QHBoxLayout()
        self.sample_row.addWidget(QLabel("Label"))
        self.sample_row.addWidget(self.sample_label)
        self.sample_row.addWidget(self.add_sample_button)
        self.sample_row.addWidget(self.sample_status, 1)

    @Slot(str)
    def _on_label_typed(self, text: str) -> None:
        self._label_typed = bool(text)

    @Slot()
    def add_sample(self) -> None:
        from app.my_samples import crop_drawing

        crop = None if self.pad.is_empty() else crop_drawing(self.pad.render_image())
        if self.sample_saver.save(crop, self.sample_label.text().strip()):
            self.sample_status.setText("Adding…")

    @Slot(str, str, int)
    def _on_sample_saved(self, label: str, _path: str, count: int) -> None:
        self.sample_status.setText(f"Added “{label}” to your samples ({count} of it). Draw the next one.")
        self._label_typed = False
        self.sample_label.clear()
        self.pad.clear()

    @Slot(str)
    def _on_sample_failed(self, message: str) -> None:
        self.sample_status.setText(message)

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
            self._update_network()
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
            self.top_k.show_hint("Too little ink to be a character: draw it larger.")
            self.input_view.set_array(None)
        else:
            self.top_k.show_prediction(prediction.top)
            self.input_view.set_array(prediction.pipeline.input)
            if not self._label_typed:
                self.sample_label.setText(prediction.top[0][0])
            if self.first_prediction_at is None:
                self.first_prediction_at = time.perf_counter()
        self._update_network()
        self.prediction_shown.emit(prediction)

    # --- inside the network -------------------------------------------------------------------

    @Slot(bool)
    def show_network(self, shown: bool) -> None:
        self.network_button.setChecked(shown)
        self.network.setVisible(shown)
        self.network_button.setText("Network ◂" if shown else "Network ▸")  # which way a click moves it
        self.width_slider.setMinimumWidth(64 if shown else 120)  # stays a slider beside the extra column
        self._update_network()

    def _update_network(self) -> None:
        """The Network panel follows the prediction on screen (computed on its own worker)."""
        if not self.network.isVisibleTo(self):
            return
        prediction = self.last_prediction
        image = prediction.pipeline.input if prediction is not None and not prediction.empty else None
        self.network.show_input(self.recognizer, image, prediction.top if image is not None else ())

    def shutdown(self) -> None:
        self.network.shutdown()
        self.worker.shutdown()
