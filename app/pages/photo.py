"""The Photo page: a photo (file, drop, paste) or a camera frame, every character in it boxed
and read, the pipeline of the chosen character as a strip, and the few settings that matter.

Loading runs as a background task and reading on a `LatestOnly` worker, so a huge file or a
slider being dragged never blocks the window; an answer to an older request is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.imaging import from_qimage, to_qimage
from app.widgets.camera_controls import CameraControls
from app.widgets.charset_picker import CharsetPicker
from app.widgets.network_view import NetworkPanel
from app.widgets.photo_view import PhotoView
from app.widgets.pipeline_strip import PipelineStrip, thumbnail, thumbnails
from app.widgets.reading_view import ReadingArea, ReadingView
from app.widgets.top_k import TopKView
from app.workers import LatestOnly, run_task
from lenet_core import formats, preprocess
from lenet_core.charset import CharsetError
from lenet_core.imageio import ImageReadError, read_image
from lenet_core.inference import Reading, Recognizer
from lenet_core.preprocess import PipelineOptions, Stage

log = logging.getLogger(__name__)

TOP_K = 5
THROTTLE_MS = 40  # settings being dragged: at most ~25 readings a second
LIVE_MS = 200  # camera: read the live picture about five times a second
PREVIEW_SIDE = 2048  # the photo is shown from a copy no longer than this
IMAGE_FILTER = formats.dialog_filter()  # exactly the formats read_image decodes (content is checked too)
PLACEHOLDER = ("Open a photo of handwriting (Ctrl+O), drop one here, paste one (Ctrl+V), or start the camera.\n\n"
               "Drag a rectangle over the photo to read only that part.")
INK_CHOICES = (("Auto", "auto"), ("Dark on light", "on"), ("Light on dark", "off"))
THRESHOLD_CHOICES = (("Otsu", "otsu"), ("Adaptive", "adaptive"), ("Fixed", "fixed"), ("None", "none"))


@dataclass(frozen=True)
class Loaded:
    """A decoded photo with a copy small enough to show, or the one line saying why not."""

    token: int
    name: str
    image: np.ndarray | None = None
    preview: QImage | None = None
    problem: str = ""
    file_size: tuple[int, int] | None = None  # (width, height) in the file, before any downscaling


def load_photo(token: int, source: Path | bytes, name: str) -> Loaded:
    """Runs on a pool thread: decode, and make the preview (a QImage may be made off the GUI thread)."""
    sizes: dict = {}
    try:
        image = read_image(source, name, sizes)
    except ImageReadError as error:
        return Loaded(token, name, problem=str(error))
    except MemoryError:
        return Loaded(token, name, problem=f"{name}: too large to open in the memory available")
    return Loaded(token, name, image, to_qimage(thumbnail(image, PREVIEW_SIDE)), file_size=sizes.get("file"))


@dataclass(frozen=True)
class Processed:
    """A reading and the strip's thumbnails for it, made off the GUI thread."""

    reading: Reading
    shared: dict[str, np.ndarray]  # original → cleaned, once for the whole photo
    per_character: list[dict[str, np.ndarray]]
    stages_when_empty: tuple[Stage, ...] = ()  # the whole strip when no character was found


def read_photo(recognizer: Recognizer, image: np.ndarray, options: PipelineOptions, region, split: bool,
               charset: str | None = None) -> Processed:
    """Runs on the page's `LatestOnly` worker: segment, recognise, and make the strip's thumbnails."""
    reading = recognizer.read(image, options, TOP_K, region=region, split=split, charset=charset)
    shared_stages = reading.segmentation.stages
    shared = thumbnails(shared_stages)
    per_character = [thumbnails(character.pipeline.stages[len(shared_stages):]) for character in reading.characters]
    when_empty = shared_stages + preprocess.character(np.zeros((0, 0), np.float32), options)[0] if reading.empty else ()
    return Processed(reading, shared, per_character, when_empty)


def placeholder_stages() -> tuple[Stage, ...]:
    """The strip before any photo: every stage's name, no picture yet."""
    blank = np.zeros((0, 0), np.float32)
    shared = preprocess.prepare(np.zeros((8, 8), np.uint8), preprocess.PHOTO) + (Stage("cuts", "Candidate cuts", blank),)
    return tuple(Stage(stage.name, stage.title, blank) for stage in shared + preprocess.character(blank, preprocess.PHOTO)[0])


class PhotoPage(QWidget):
    reading_shown = Signal(object)  # the Reading now on screen
    message_shown = Signal(str)  # a problem shown in the page ("" when it is cleared)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.recognizer: Recognizer | None = None
        self.image: np.ndarray | None = None
        self.image_name = ""
        self.region: tuple[int, int, int, int] | None = None
        self.reading: Reading | None = None
        self.processed: Processed | None = None
        self.selected = 0
        self.live = False
        self._load_token = 0
        self._note = ""  # said with the next photo shown (how many files were dropped)
        self.files: list[Path] = []  # the files given together (command line, a drop): one shown at a time
        self.file_index = 0
        self._pending_message = ""  # said when the next photo is shown (files that were not there)
        self._too_many = False  # the message says not every character was read
        self._sequence = 0
        self._shown = 0
        self.worker = LatestOnly(self)
        self.worker.finished.connect(self._on_processed)
        self._throttle = QTimer(self, singleShot=True, interval=THROTTLE_MS)
        self._throttle.timeout.connect(self.process_now)

        self.photo_view = PhotoView()
        self.photo_view.set_placeholder(PLACEHOLDER)
        self.photo_view.region_selected.connect(self.set_region)
        self.photo_view.box_clicked.connect(self.select_character)
        self.reading_view = ReadingView()
        self.reading_view.show_hint("Nothing read yet.")
        self.reading_view.character_clicked.connect(self.select_character)
        self.text_view = QPlainTextEdit()
        self.text_view.setObjectName("readText")
        self.text_view.setReadOnly(True)  # selectable and copyable, not editable
        self.text_view.setPlaceholderText("The text read appears here, to select and copy.")
        self.text_view.setAccessibleName("Text read")
        self.text_view.setMaximumHeight(56)
        self.copy_action = QAction("Copy Text", self, shortcut=QKeySequence.StandardKey.Copy)
        self.copy_action.setToolTip("Copy the text read, with its spaces and line breaks (Ctrl+C)")
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self.copy_text)
        self.copy_action.setEnabled(False)
        self.addAction(self.copy_action)
        self.copy_button = QToolButton()
        self.copy_button.setDefaultAction(self.copy_action)
        self.copy_button.setText("Copy")
        self.charset_picker = CharsetPicker()
        self.charset_picker.changed.connect(self._schedule)
        self.top_k = TopKView(TOP_K)
        big = self.top_k.best.font()
        big.setPointSize(28)  # smaller than the Draw page's: the reading above shows every character large
        self.top_k.best.setFont(big)
        self.top_k.show_hint("The best guesses for the chosen character appear here.")
        self.strip = PipelineStrip()
        self.strip.set_stages(placeholder_stages())
        self.camera = CameraControls()
        self.camera.frame.connect(self._on_live_frame)
        self.camera.captured.connect(self._on_captured)
        self.camera.problem.connect(self.show_message)
        self.camera.running_changed.connect(self._on_camera_running)
        self.message = QLabel()
        self.message.setObjectName("photoMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("#photoMessage { background: #fff4d6; color: #5a4000; border: 1px solid #e6c36a;"
                                   " border-radius: 4px; padding: 4px 8px; }")
        self.message.hide()
        self.status = QLabel()
        self.status.setEnabled(False)

        self._build_actions()
        self._build_settings()
        self._build_layout()
        self._build_correct_action()

    # --- building -------------------------------------------------------------------------------

    def _build_actions(self) -> None:
        self.open_button = QToolButton(text="Open…")
        self.open_button.setToolTip("Open a photo or scan (Ctrl+O)")
        self.open_button.clicked.connect(self.open_dialog)
        self.paste_button = QToolButton(text="Paste")
        self.paste_button.setToolTip("Read the image on the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(self.paste)
        self.whole_action = QAction("Whole Photo", self, shortcut=QKeySequence(Qt.Key.Key_Escape))
        self.whole_action.setToolTip("Read the whole photo again, not just the rectangle (Esc)")
        self.whole_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.whole_action.triggered.connect(self.clear_region)
        self.whole_action.setEnabled(False)
        self.addAction(self.whole_action)
        self.whole_button = QToolButton()
        self.whole_button.setDefaultAction(self.whole_action)
        self.previous_action = QAction("Previous Image", self, shortcut=QKeySequence(Qt.Key.Key_PageUp))
        self.previous_action.setToolTip("The previous of the files opened together (Page Up)")
        self.previous_action.triggered.connect(self.previous_image)
        self.next_action = QAction("Next Image", self, shortcut=QKeySequence(Qt.Key.Key_PageDown))
        self.next_action.setToolTip("The next of the files opened together (Page Down)")
        self.next_action.triggered.connect(self.next_image)
        for action in (self.previous_action, self.next_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setEnabled(False)
            self.addAction(action)
        self.previous_button, self.next_button = QToolButton(), QToolButton()
        self.previous_button.setDefaultAction(self.previous_action)
        self.next_button.setDefaultAction(self.next_action)
        self.previous_button.setText("◀")
        self.next_button.setText("▶")
        self.file_position = QLabel()
        self.file_position.setObjectName("filePosition")
        self.files_nav = QWidget()
        nav = QHBoxLayout(self.files_nav)
        nav.setContentsMargins(0, 0, 0, 0)
        for widget in (self.previous_button, self.file_position, self.next_button):
            nav.addWidget(widget)
        self.files_nav.hide()
        self.split_picker = QComboBox()
        self.split_picker.addItem("Several characters", True)
        self.split_picker.addItem("One character", False)
        self.split_picker.setToolTip("Split the ink into characters (a word, a code), or read it all as one character")
        self.split_picker.currentIndexChanged.connect(self._schedule)

    def _build_settings(self) -> None:
        self.threshold_picker = QComboBox()
        for text, value in THRESHOLD_CHOICES:
            self.threshold_picker.addItem(text, value)
        self.threshold_picker.setToolTip("How ink is told from paper: Otsu picks a level for the whole photo, "
                                         "Adaptive follows uneven light, Fixed uses the level slider, None keeps every shade")
        self.level_slider = QSlider(Qt.Orientation.Horizontal)
        self.level_slider.setRange(5, 95)
        self.level_slider.setValue(50)
        self.level_slider.setToolTip("Ink level for the fixed threshold: lower keeps fainter strokes")
        self.level_slider.setAccessibleName("Threshold level")
        self.level_slider.setMinimumWidth(100)
        self.level_slider.setMaximumWidth(160)
        self.level_label = QLabel("50%")
        self.ink_picker = QComboBox()
        for text, value in INK_CHOICES:
            self.ink_picker.addItem(text, value)
        self.ink_picker.setToolTip("Which is ink: dark ink on light paper, light chalk on a dark board, or Auto to decide from the photo")
        self.stroke_box = QDoubleSpinBox()
        self.stroke_box.setRange(-1.5, 4.0)
        self.stroke_box.setSingleStep(0.5)
        self.stroke_box.setDecimals(1)
        self.stroke_box.setSpecialValueText("auto")  # shown at the minimum, which means automatic
        self.stroke_box.setValue(-1.5)
        self.stroke_box.setToolTip("Thicken strokes by this many pixels of the 28×28 input; auto matches EMNIST's pen")
        self.stroke_box.setAccessibleName("Stroke thickening")
        self.border_box = QDoubleSpinBox()
        self.border_box.setRange(0.0, 8.0)
        self.border_box.setSingleStep(0.5)
        self.border_box.setDecimals(1)
        self.border_box.setValue(PipelineOptions().border)
        self.border_box.setToolTip("Empty margin around the character, in pixels of the 28×28 input (EMNIST: 2)")
        self.border_box.setAccessibleName("Border")
        self.lines_box = QCheckBox("Remove ruled lines")
        self.lines_box.setChecked(True)
        self.lines_box.setToolTip("Drop the rules of lined or squared paper")
        self.reset_button = QToolButton(text="Reset")
        self.reset_button.setToolTip("Back to the default settings")
        self.reset_button.clicked.connect(self.reset_settings)
        for signal in (self.threshold_picker.currentIndexChanged, self.level_slider.valueChanged, self.ink_picker.currentIndexChanged,
                       self.stroke_box.valueChanged, self.border_box.valueChanged, self.lines_box.toggled):
            signal.connect(self._on_setting_changed)
        self._on_setting_changed()

    def _build_layout(self) -> None:
        self.network = NetworkPanel()  # inside the network for the chosen character (issue 15), on demand
        self.network.setVisible(False)
        self.network_button = QToolButton(text="Network ▸", checkable=True)
        self.network_button.setToolTip("Show inside the network for the chosen character: its layers and why it answers so")
        self.network_button.toggled.connect(self.show_network)
        # Two rows, each narrower than the window's minimum: opening and reading, then the camera
        # (one row was 840 px and scrolled sideways in a small window).
        top = QVBoxLayout()
        files_row = QHBoxLayout()
        for widget in (self.open_button, self.paste_button, _separator(), self.whole_button):
            files_row.addWidget(widget)
        files_row.addWidget(self.files_nav)
        files_row.addStretch(1)
        files_row.addWidget(QLabel("Read as"))
        files_row.addWidget(self.split_picker)
        camera_row = QHBoxLayout()
        camera_row.addWidget(self.camera)
        camera_row.addStretch(1)
        top.addLayout(files_row)
        top.addLayout(camera_row)

        side = QVBoxLayout()
        heading = QHBoxLayout()
        heading.addWidget(_heading("Read"))
        heading.addStretch(1)
        heading.addWidget(QLabel("Characters"))
        heading.addWidget(self.charset_picker)
        side.addLayout(heading)
        side.addWidget(ReadingArea(self.reading_view))  # many characters scroll, not stretch the page
        text_row = QHBoxLayout()
        text_row.addWidget(self.text_view, 1)
        text_row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        side.addLayout(text_row)
        side.addWidget(self.top_k)
        side.addWidget(self.network_button, 0, Qt.AlignmentFlag.AlignLeft)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.photo_view, 3)
        middle.addLayout(side, 2)
        middle.addWidget(self.network, 3)

        settings = QVBoxLayout()  # two rows, for the same reason as the top
        ink_row, shape_row = QHBoxLayout(), QHBoxLayout()
        ink_row.addWidget(QLabel("Threshold"))
        ink_row.addWidget(self.threshold_picker)
        ink_row.addWidget(self.level_slider)
        ink_row.addWidget(self.level_label)
        ink_row.addWidget(QLabel("Ink"))
        ink_row.addWidget(self.ink_picker)
        ink_row.addStretch(1)
        shape_row.addWidget(QLabel("Stroke +"))
        shape_row.addWidget(self.stroke_box)
        shape_row.addWidget(QLabel("Border"))
        shape_row.addWidget(self.border_box)
        shape_row.addWidget(self.lines_box)
        shape_row.addStretch(1)
        shape_row.addWidget(self.reset_button)
        settings.addLayout(ink_row)
        settings.addLayout(shape_row)

        content = QWidget()  # scrolls when the window is made smaller than the page needs
        layout = _FillingLayout(content)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addLayout(middle, 1)
        layout.addWidget(_heading("Pipeline of the chosen character — click a stage to enlarge it"))
        layout.addWidget(self.strip)
        layout.addLayout(settings)
        layout.addWidget(self.status)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # --- opening --------------------------------------------------------------------------------

    @Slot()
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Photo", "", IMAGE_FILTER)
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path | str) -> None:
        """Decode a file in the background; the page shows it, or says in one line why not."""
        self.open_paths([path])

    def open_paths(self, paths) -> None:
        """Several files given together: the first is shown, ◀ ▶ (Page Up/Down) go through the
        others; files that are not there are named once, and the rest still open."""
        paths = [Path(path) for path in paths]
        missing = [path for path in paths if not path.exists()]
        self.files = [path for path in paths if path.exists()]
        self.file_index = 0
        if missing:
            names = ", ".join(path.name for path in missing[:5]) + (" …" if len(missing) > 5 else "")
            verb = "does" if len(missing) == 1 else "do"
            self._pending_message = (f"{len(missing)} of {len(paths)} files {verb} not exist: {names}" if len(paths) > 1
                                     else f"{names} does not exist.")
        else:
            self._pending_message = ""
        if not self.files:
            self._update_files_nav()
            self.show_message(self._pending_message)
            return
        self._open_current_file()

    @Slot()
    def next_image(self) -> None:
        if self.file_index + 1 < len(self.files):
            self.file_index += 1
            self._pending_message = ""
            self._open_current_file()

    @Slot()
    def previous_image(self) -> None:
        if self.file_index > 0:
            self.file_index -= 1
            self._pending_message = ""
            self._open_current_file()

    def _open_current_file(self) -> None:
        path = self.files[self.file_index]
        self._update_files_nav()
        self._start_load(path, path.name)

    def _update_files_nav(self) -> None:
        several = len(self.files) > 1
        self.files_nav.setVisible(several)
        self.file_position.setText(f"{self.file_index + 1} of {len(self.files)}" if several else "")
        self.previous_action.setEnabled(several and self.file_index > 0)
        self.next_action.setEnabled(several and self.file_index + 1 < len(self.files))

    def open_bytes(self, data: bytes, name: str = "pasted image") -> None:
        self._forget_files()
        self._start_load(bytes(data), name)

    def open_array(self, image: np.ndarray, name: str) -> None:
        """An image already decoded (a camera frame, a clipboard picture): show and read it."""
        self._forget_files()
        self._load_token += 1
        self._show_photo(image, to_qimage(thumbnail(image, PREVIEW_SIDE)), name)

    def open_mime(self, mime: QMimeData) -> bool:
        """Dropped or pasted data: a file, encoded image bytes, or a picture. False if none."""
        if mime.hasUrls():
            files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
            if files:
                self.open_paths(files)
                return True
            if not mime.hasImage():
                self.show_message("Only files on this computer can be opened; save the image first.")
                return False
        for kind in ("image/png", "image/jpeg", "image/tiff", "image/bmp", "image/webp", "image/gif"):
            if kind in mime.formats():
                data = bytes(mime.data(kind).data())
                if data:
                    self.open_bytes(data, "pasted image")
                    return True
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.open_array(from_qimage(image), "pasted image")
                return True
        return False

    @Slot()
    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.open_mime(mime):
            self.show_message("The clipboard holds no image. Copy a picture (or an image file) first.")

    def _forget_files(self) -> None:
        self.files, self.file_index, self._pending_message = [], 0, ""
        self._update_files_nav()

    def _start_load(self, source: Path | bytes, name: str) -> None:
        self._load_token += 1
        self.status.setText(f"Opening {name}…")
        run_task(load_photo, self._load_token, source, name, on_result=self._on_loaded, on_error=self._on_load_error)

    @Slot(object)
    def _on_loaded(self, loaded: Loaded) -> None:
        if loaded.token != self._load_token:
            return  # another photo was opened meanwhile
        if loaded.problem:
            self.status.setText("")
            self.show_message(loaded.problem)
            return
        self._show_photo(loaded.image, loaded.preview, loaded.name, loaded.file_size)

    @Slot(object)
    def _on_load_error(self, error: BaseException) -> None:
        log.error("loading a photo failed:\n%s", getattr(error, "formatted_traceback", error))
        self.status.setText("")
        self.show_message(f"The image could not be opened ({type(error).__name__}: {error}).")

    def _show_photo(self, image: np.ndarray, preview: QImage, name: str, file_size: tuple[int, int] | None = None) -> None:
        if self.camera.running:
            self.camera.stop()
        self.live = False
        self.image, self.image_name = image, name
        self.region = None
        self.whole_action.setEnabled(False)
        self.selected = 0
        self.photo_view.set_image(preview, QSize(image.shape[1], image.shape[0]))
        self.photo_view.set_boxes([])
        self.photo_view.set_region(None)
        self.show_message(self._pending_message)
        self._pending_message = ""
        shape = f"{image.shape[1]}×{image.shape[0]}"
        if file_size is not None and max(file_size) > max(image.shape[:2]):  # decoded smaller than the file
            shape = f"{file_size[0]}×{file_size[1]} (read at {shape})"
        self.status.setText(f"{name} · {shape} pixels{self._note}")
        self._note = ""
        self.process_now()

    # --- camera ---------------------------------------------------------------------------------

    @Slot(object)
    def _on_live_frame(self, frame: np.ndarray) -> None:
        first = not self.live
        self.live = True
        self.image, self.image_name = frame, self.camera.info.label if self.camera.info else "camera"
        self.photo_view.set_image(to_qimage(frame))
        if first:
            self.show_message("")
            self.region = None
            self.photo_view.set_region(None)
            self.whole_action.setEnabled(False)
            self.status.setText(f"{self.image_name} · live · {frame.shape[1]}×{frame.shape[0]} — Capture (Space) keeps a frame")
            self.process_now()
        elif not self._throttle.isActive():
            self._throttle.start(LIVE_MS)

    @Slot(object, str)
    def _on_captured(self, frame: np.ndarray, name: str) -> None:
        region = self.region
        self.open_array(frame, name)
        if region is not None:  # the rectangle chosen on the live picture still applies
            self.set_region(region)

    @Slot(bool)
    def _on_camera_running(self, running: bool) -> None:
        if running:
            self.show_message("")
            self.status.setText("Starting the camera…")
        elif self.live:  # stopped by the user: the last frame stays, as a still photo
            self.live = False
            self.status.setText(f"{self.image_name} · stopped; the last frame stays")
            self.process_now()

    # --- reading --------------------------------------------------------------------------------

    def set_recognizer(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer
        self.process_now()

    def options(self) -> PipelineOptions:
        stroke = self.stroke_box.value()
        return replace(
            preprocess.PHOTO,
            threshold=self.threshold_picker.currentData(),
            threshold_level=self.level_slider.value() / 100,
            invert=self.ink_picker.currentData(),
            stroke=None if stroke <= self.stroke_box.minimum() else stroke,
            border=self.border_box.value(),
            remove_lines=self.lines_box.isChecked(),
        )

    @Slot()
    def _on_setting_changed(self) -> None:
        self.level_slider.setEnabled(self.threshold_picker.currentData() == "fixed")
        self.level_label.setText(f"{self.level_slider.value()}%")
        self._schedule()

    @Slot()
    def reset_settings(self) -> None:
        defaults = preprocess.PHOTO
        self.threshold_picker.setCurrentIndex(self.threshold_picker.findData(defaults.threshold))
        self.level_slider.setValue(round(defaults.threshold_level * 100))
        self.ink_picker.setCurrentIndex(self.ink_picker.findData(defaults.invert))
        self.stroke_box.setValue(self.stroke_box.minimum())
        self.border_box.setValue(defaults.border)
        self.lines_box.setChecked(defaults.remove_lines)

    @Slot(object)
    def set_region(self, region) -> None:
        """Read only this part of the photo (x, y, w, h in its pixels)."""
        self.region = tuple(int(v) for v in region)
        self.photo_view.set_region(self.region)
        self.whole_action.setEnabled(True)
        self.selected = 0
        self.process_now()

    @Slot()
    def clear_region(self) -> None:
        if self.region is None:
            return
        self.region = None
        self.photo_view.set_region(None)
        self.whole_action.setEnabled(False)
        self.process_now()

    @Slot()
    def _schedule(self) -> None:
        if not self._throttle.isActive():
            self._throttle.start(THROTTLE_MS)

    @Slot()
    def process_now(self) -> None:
        self._throttle.stop()
        if self.image is None:
            return
        if self.recognizer is None:
            self.reading_view.show_hint("Loading the model…")
            return
        self._sequence += 1
        token = (self._sequence, self.recognizer, self.image)
        self.worker.submit(token, read_photo, self.recognizer, self.image, self.options(), self.region,
                           bool(self.split_picker.currentData()), self.charset_picker.value())

    @Slot(object, object)
    def _on_processed(self, token, value) -> None:
        sequence, recognizer, image = token
        if sequence < self._shown or recognizer is not self.recognizer or (image is not self.image and not self.live):
            return  # an answer about an older photo, setting or model (a live picture changes all the time)
        self._shown = sequence
        if isinstance(value, CharsetError):
            self.show_message(f"Characters: {value}. Type characters the model knows, or pick another set.")
            return
        if isinstance(value, Exception):
            log.error("reading a photo failed:\n%s", getattr(value, "formatted_traceback", value))
            self.show_message(f"This photo could not be read ({type(value).__name__}: {value}).")
            return
        self.processed = value
        self.reading = reading = value.reading
        if self.message.text().startswith("Characters: "):
            self.show_message("")  # the character set is fine again
        self._show_text(reading)
        if reading.empty:
            self.selected = 0
            self.photo_view.set_boxes([])
            self.reading_view.show_hint("Nothing to read: no ink found. Try another threshold or Ink setting, or another part of the photo.")
            self.top_k.show_hint("No character found.")
            self._update_network()
            self.strip.set_stages(value.stages_when_empty, value.shared)
        else:
            self.selected = min(self.selected, len(reading.characters) - 1)
            boxes = [(character.box, character.char, character.confidence) for character in reading.characters]
            self.photo_view.set_boxes(boxes, self.selected)
            cells = [(character.char, character.confidence, character.line, character.word) for character in reading.characters]
            self.reading_view.set_cells(cells, reading.text, self.selected)
            self._show_character()
            if reading.segmentation.left_out:
                self._too_many = True
                self.show_message(f"Only the first {len(reading.characters)} characters are read "
                                  f"({reading.segmentation.left_out} more). Drag a rectangle to read another part.")
            elif self._too_many:
                self._too_many = False
                self.show_message("")
        self.reading_shown.emit(reading)

    # --- “Correct…”: a character into the user's samples (issue 14) -----------------------------

    def _build_correct_action(self) -> None:
        from app.my_samples import SampleSaver

        self.sample_saver = SampleSaver(self)
        self.sample_saver.saved.connect(self._on_sample_saved)
        self.sample_saver.failed.connect(self.show_message)
        self.correct_action = QAction("Correct…", self)
        self.correct_action.setToolTip("Say what this character is: its crop goes into your samples, to adapt the model")
        self.correct_action.triggered.connect(self.correct_character)
        self.character_menu = None
        for view in (self.photo_view, self.reading_view):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(self._on_character_menu)

    @Slot(object)
    def _on_character_menu(self, point) -> None:
        from PySide6.QtCore import QPointF
        from PySide6.QtWidgets import QMenu

        view = self.sender()
        where = QPointF(point)
        if view is self.photo_view:
            index = view.box_at(where)
        else:
            index = next((i for i, rect in enumerate(view._rects) if rect.contains(where)), -1)
        if index < 0 or self.reading is None:
            return
        self.select_character(index)
        self.character_menu = QMenu(self)
        self.character_menu.addAction(self.correct_action)
        self.character_menu.popup(view.mapToGlobal(point))

    @Slot()
    def correct_character(self, label: str | None = None) -> None:
        """Store the chosen character's crop of the photo under the label the user gives."""
        from PySide6.QtWidgets import QInputDialog

        from app.my_samples import crop_box

        if self.reading is None or self.image is None or not self.reading.characters:
            return
        character = self.reading.characters[self.selected]
        if not isinstance(label, str):
            label, ok = QInputDialog.getText(self, "Correct this character", f"Read as “{character.char}”. It is:", text=character.char)
            if not ok:
                return
        self.sample_saver.save(crop_box(self.image, character.box), label.strip())

    @Slot(str, str, int)
    def _on_sample_saved(self, label: str, _path: str, count: int) -> None:
        self.status.setText(f"Stored this character as “{label}” in your samples ({count} of it).")

    def _show_text(self, reading: Reading) -> None:
        text = "" if reading.empty else reading.text
        self.text_view.setPlainText(text)
        self.copy_action.setEnabled(bool(text))
        tip = f"Second-best reading: {reading.alternative}" if reading.alternative else ""
        self.text_view.setToolTip(tip)

    @Slot()
    def copy_text(self) -> None:
        """The text read onto the clipboard (Ctrl+C, the Copy button); a selection in the text
        box copies just that part, as a text box does."""
        selected = self.text_view.textCursor().selectedText().replace("\u2029", "\n")
        text = selected if self.text_view.hasFocus() and selected else self.text_view.toPlainText()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.status.setText(f"Copied {len(text)} characters")

    @Slot(int)
    def select_character(self, index: int) -> None:
        """Show one character's top-k and pipeline (a click on its box or its cell)."""
        if self.reading is None or not 0 <= index < len(self.reading.characters):
            return
        self.selected = index
        self.photo_view.set_selected(index)
        self.reading_view.set_selected(index)
        self._show_character()

    def _show_character(self) -> None:
        character = self.reading.characters[self.selected]
        self.top_k.show_prediction(character.top)
        count = len(self.reading.characters)
        self.top_k.caption.setText(f"Character {self.selected + 1} of {count} · {character.confidence:.1%} sure")
        small = dict(self.processed.shared)
        small.update(self.processed.per_character[self.selected])
        self.strip.set_stages(character.pipeline.stages, small)
        self._update_network()

    # --- inside the network -----------------------------------------------------------------------

    @Slot(bool)
    def show_network(self, shown: bool) -> None:
        self.network_button.setChecked(shown)
        self.network.setVisible(shown)
        self.network_button.setText("Network ◂" if shown else "Network ▸")  # which way a click moves it
        self._update_network()

    def _update_network(self) -> None:
        """The Network panel follows the chosen character (computed on its own worker)."""
        if not self.network.isVisibleTo(self):
            return
        reading = self.reading
        character = reading.characters[self.selected] if reading is not None and not reading.empty else None
        self.network.show_input(self.recognizer, None if character is None else character.pipeline.input,
                                () if character is None else character.top)

    # --- messages -------------------------------------------------------------------------------

    @Slot(str)
    def show_message(self, text: str) -> None:
        """A problem in one line inside the page (never a dialog); "" hides it."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text:
            self.status.setText("")
        self.message_shown.emit(text)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.camera.ensure_listed()

    def shutdown(self) -> None:
        self._throttle.stop()
        self.camera.shutdown()
        self.network.shutdown()
        self.worker.shutdown()


class _FillingLayout(QVBoxLayout):
    """Fills the scroll area it is in. With height-for-width (word-wrapped labels) the scroll area
    would size the page to its preferred height and push the lower rows out of sight."""

    def hasHeightForWidth(self) -> bool:
        return False


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    return label


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line
