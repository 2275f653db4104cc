"""The main window: pages in tabs, menus and shortcuts, the model picker, a status bar with
the active model and the compute device, and geometry and choices remembered between runs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QWidget,
)

from app.model_manager import ModelManager
from app.pages.draw import DrawPage
from app.settings import open_settings, value
from app.widgets.elided_label import ElidedLabel
from app.workers import run_task
from lenet_core import __version__
from lenet_core.bundle import DEFAULT_MODEL, SUFFIX
from lenet_core.paths import APP_NAME, resource_path, user_data_problem, user_models_dir

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    status_message = Signal(str)
    model_exported = Signal(object)  # the files written by Model ▸ Export… (None when it failed)

    def __init__(self, model: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        icon = resource_path("icons", "lenet-studio.png")
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.settings = open_settings()
        self.models = ModelManager(self)
        self.models.listing_changed.connect(self._fill_model_picker)
        self.models.listing_changed.connect(self._update_notices)
        self.models.model_changed.connect(self._on_model_changed)
        self.models.load_failed.connect(self._on_model_failed)
        self.models.loading.connect(lambda name: self.statusBar().showMessage(f"Loading model {name}…", 3000))

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.draw_page = DrawPage()
        self.pages: list[QWidget] = [self.draw_page]
        self.tabs.addTab(self.draw_page, "&Draw")
        self._add_optional_pages()
        self.setCentralWidget(self.tabs)
        self.setAcceptDrops(hasattr(self, "photo_page"))  # an image dropped anywhere goes to the Photo page

        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.tabs.currentChanged.connect(self._on_page_shown)
        self._restore_settings()
        self._on_page_shown(self.tabs.currentIndex())
        self.data_problem = user_data_problem()
        if self.data_problem:
            log.warning("user data folder: %s; settings, logs and trained models are not saved", self.data_problem)
        self.notices: list[str] = []
        self._notices_shown = False
        self.models.refresh()
        self._initial_model = model or value(self.settings, "model/last", DEFAULT_MODEL, str)

    def _add_optional_pages(self) -> None:
        """Pages that build on the Draw page's machinery; each is its own module."""
        try:
            from app.pages.photo import PhotoPage
        except ImportError:
            PhotoPage = None  # noqa: N806
        if PhotoPage is not None:
            self.photo_page = PhotoPage(self)
            self.pages.append(self.photo_page)
            self.tabs.addTab(self.photo_page, "&Photo")
        try:
            from app.pages.train import TrainPage
        except ImportError:
            TrainPage = None  # noqa: N806
        if TrainPage is not None:
            self.train_page = TrainPage(self)
            self.pages.append(self.train_page)
            self.tabs.addTab(self.train_page, "&Train")
        from app.pages.samples import SamplesPage  # issue 14: the user's own samples and Adapt

        self.samples_page = SamplesPage(self)
        self.pages.append(self.samples_page)
        self.tabs.addTab(self.samples_page, "&Samples")

    # --- start-up -------------------------------------------------------------------------------

    def start(self) -> None:
        """Called once the window is shown: load the model and probe the device off the GUI thread."""
        if self.tabs.currentWidget() is self.draw_page:
            self.draw_page.pad.setFocus(Qt.FocusReason.OtherFocusReason)  # ready to draw and to take its keys
        # The least size fits every page, not only those shown so far: opening another tab at the
        # minimum size must not make the window grow under the user's hands.
        self.tabs.setMinimumSize(max(page.minimumSizeHint().width() for page in self.pages),
                                 max(page.minimumSizeHint().height() for page in self.pages))
        self.models.activate(self._initial_model)
        # The device is only needed for training: probe it after the first prediction's rush.
        QTimer.singleShot(1500, self._probe_device)

    @Slot()
    def _probe_device(self) -> None:
        self._device_task = run_task(_probe_device, on_result=self._on_device)

    @Slot(object)
    def _on_device(self, text: str) -> None:
        self.training_device = text
        self.device_label.setText(f"Recognition: LiteRT (CPU) · Training: {text}")
        self.device_label.setToolTip(f"Recognition runs on LiteRT on the CPU; training would use: {text}")
        for page in self.pages:
            if hasattr(page, "set_training_device"):
                page.set_training_device(text)

    # --- toolbar and menus ----------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Model")
        toolbar.setObjectName("modelToolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(QLabel(" Model: "))
        self.model_picker = QComboBox()
        self.model_picker.setObjectName("modelPicker")
        self.model_picker.setMinimumContentsLength(28)
        self.model_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_picker.setToolTip("The network that reads your characters (shipped models and your own)")
        self.model_picker.activated.connect(self._on_model_picked)
        toolbar.addWidget(self.model_picker)
        self.addToolBar(toolbar)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.open_image_action = QAction("&Open Image…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_image_action.triggered.connect(self.open_image)
        self.open_image_action.setEnabled(hasattr(self, "photo_page"))
        file_menu.addAction(self.open_image_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        edit_menu = menu.addMenu("&Edit")
        for action in (self.draw_page.undo_action, self.draw_page.redo_action, self.draw_page.clear_action):
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        self.paste_image_action = QAction("&Paste Image", self, shortcut=QKeySequence.StandardKey.Paste)
        self.paste_image_action.setToolTip("Read the image on the clipboard on the Photo page")
        self.paste_image_action.triggered.connect(self.paste_image)
        self.paste_image_action.setEnabled(hasattr(self, "photo_page"))
        edit_menu.addAction(self.paste_image_action)

        self.model_menu = menu.addMenu("&Model")
        self.model_group = QActionGroup(self)
        self.model_group.setExclusive(True)
        self.open_model_action = QAction("Open Model &File…", self, shortcut=QKeySequence("Ctrl+M"))
        self.open_model_action.triggered.connect(self.open_model_file)
        self.show_models_action = QAction("Show &User Models Folder", self)
        self.show_models_action.triggered.connect(self._show_models_folder)
        self.export_model_action = QAction("&Export…", self)
        self.export_model_action.setToolTip("Write the active model as a Keras or LiteRT file with labels.json and a model card")
        self.export_model_action.triggered.connect(self.export_model)

        view_menu = menu.addMenu("&View")
        for index in range(self.tabs.count()):
            action = QAction(self.tabs.tabText(index).replace("&", ""), self, shortcut=QKeySequence(f"Ctrl+{index + 1}"))
            action.setData(index)
            action.triggered.connect(self._go_to_tab)
            view_menu.addAction(action)

        help_menu = menu.addMenu("&Help")
        guide = QAction("&Quick Guide and Shortcuts", self, shortcut=QKeySequence.StandardKey.HelpContents)
        guide.triggered.connect(self.show_guide)
        help_menu.addAction(guide)
        help_menu.addSeparator()
        about = QAction("&About LeNet Studio", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    @Slot(int)
    def _on_page_shown(self, index: int) -> None:
        """A page's own shortcuts (Esc, Delete, Ctrl+Z…) work whenever that page is showing, wherever
        the focus is (the toolbar's model box, say), and never while another page is showing: the
        current page's actions take the window as their context, the others only their own page."""
        current = self.tabs.widget(index)
        for page in self.pages:
            context = Qt.ShortcutContext.WindowShortcut if page is current else Qt.ShortcutContext.WidgetWithChildrenShortcut
            for action in page.actions():
                action.setShortcutContext(context)

    @Slot()
    def _go_to_tab(self) -> None:
        self.tabs.setCurrentIndex(int(self.sender().data()))

    def _build_status_bar(self) -> None:
        # Both shrink with the window (eliding, the whole text in the tooltip), so a temporary
        # message ("Using emnist-letters") keeps its room and nothing is cut off at minimum width.
        self.model_label = ElidedLabel("No model")
        self.model_label.setObjectName("modelStatus")
        self.device_label = ElidedLabel("Recognition: LiteRT (CPU)")
        self.device_label.setObjectName("deviceStatus")
        self.training_device = ""
        self.notice_label = QLabel()
        self.notice_label.setObjectName("startupNotice")
        self.notice_label.hide()
        self.training_label = ElidedLabel("", minimum_chars=12)  # a run on the Train page, seen from every page
        self.training_label.setObjectName("trainingStatus")
        self.training_label.hide()
        if hasattr(self, "train_page"):
            self.train_page.activity.connect(self._on_training_activity)
        self.statusBar().addPermanentWidget(self.training_label)
        self.statusBar().addPermanentWidget(self.notice_label)
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.device_label)

    @Slot(str)
    def _on_training_activity(self, text: str) -> None:
        self.training_label.setText(text)
        self.training_label.setToolTip(f"{text} (Train page)" if text else "")
        self.training_label.setVisible(bool(text))

    @Slot()
    def _update_notices(self) -> None:
        """What went wrong at start-up without stopping it (model files skipped, a read-only data
        folder): a short warning in the status bar, the details in its tooltip and the log."""
        self.notices = [f"skipped {line}" for line in self.models.skipped]
        if self.data_problem:
            self.notices.append(f"settings and models are not saved: {self.data_problem}")
        parts = []
        if self.models.skipped:
            count = len(self.models.skipped)
            parts.append(f"{count} model file{'s' if count > 1 else ''} skipped")
        if self.data_problem:
            parts.append("user data folder not writable")
        self.notice_label.setText("⚠ " + " · ".join(parts))
        self.notice_label.setToolTip("\n".join(self.notices))
        self.notice_label.setVisible(bool(parts))

    # --- models ---------------------------------------------------------------------------------

    @Slot()
    def _fill_model_picker(self) -> None:
        active = self.models.recognizer.bundle.path if self.models.recognizer else None
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        for action in self.model_group.actions():
            self.model_group.removeAction(action)
        self.model_menu.clear()
        for bundle in self.models.bundles:
            label = bundle.name + ("" if bundle.shipped else "  (yours)")
            self.model_picker.addItem(label, str(bundle.path))
            self.model_picker.setItemData(self.model_picker.count() - 1, bundle.describe(), Qt.ItemDataRole.ToolTipRole)
            action = QAction(label, self, checkable=True)
            action.setData(str(bundle.path))
            action.setChecked(bundle.path == active)
            action.triggered.connect(self._on_model_action)
            self.model_group.addAction(action)
            self.model_menu.addAction(action)
        self.model_menu.addSeparator()
        self.model_menu.addAction(self.open_model_action)
        self.model_menu.addAction(self.show_models_action)
        self.model_menu.addAction(self.export_model_action)
        self._select_active_in_picker()
        self.model_picker.blockSignals(False)

    def _select_active_in_picker(self) -> None:
        if self.models.recognizer is None:
            return
        path = str(self.models.recognizer.bundle.path)
        index = self.model_picker.findData(path)
        if index < 0:  # a model opened from a file outside the folders
            self.model_picker.addItem(f"{self.models.recognizer.name}  ({Path(path).name})", path)
            index = self.model_picker.count() - 1
        self.model_picker.setCurrentIndex(index)
        for action in self.model_group.actions():
            action.setChecked(action.data() == path)

    @Slot(int)
    def _on_model_picked(self, index: int) -> None:
        self.models.activate(self.model_picker.itemData(index))

    @Slot()
    def _on_model_action(self) -> None:
        self.models.activate(self.sender().data())

    @Slot()
    def open_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Model", str(user_models_dir()), f"LeNet Studio models (*{SUFFIX});;All files (*)")
        if path:
            self.models.activate(path)

    @Slot()
    def export_model(self) -> None:
        """Model ▸ Export…: the active model into a new folder others can use without this app."""
        from PySide6.QtWidgets import QInputDialog

        from app.my_samples import export_into

        if self.models.recognizer is None:
            return
        formats = ["LiteRT (.tflite)", "Keras (.keras)"]
        choice, ok = QInputDialog.getItem(self, "Export model", f"Export {self.models.recognizer.name} as:", formats, 0, False)
        if not ok:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export into folder", str(Path.home()))
        if not folder:
            return
        fmt = "tflite" if choice == formats[0] else "keras"
        self._export_task = run_task(export_into, str(self.models.recognizer.bundle.path), fmt, folder,
                                     on_result=self._on_exported, on_error=self._on_export_failed)

    @Slot(object)
    def _on_exported(self, files) -> None:
        self.last_export = files
        self.statusBar().showMessage(f"Exported to {files[0].parent} ({', '.join(f.name for f in files)})", 10000)
        self.model_exported.emit(files)

    @Slot(object)
    def _on_export_failed(self, error: BaseException) -> None:
        self.last_export = None
        QMessageBox.warning(self, "Not exported", str(error))
        self.model_exported.emit(None)

    @Slot()
    def _show_models_folder(self) -> None:
        folder = user_models_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            QMessageBox.warning(self, "Models folder", f"{folder} cannot be created: {error}")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    @Slot(object)
    def _on_model_changed(self, recognizer) -> None:
        bundle = recognizer.bundle
        accuracy = f" · {bundle.accuracy:.1%} test accuracy" if bundle.accuracy is not None else ""
        self.model_label.setText(f"{bundle.name} · {len(bundle.classes)} classes{accuracy}")
        self.model_label.setToolTip(f"{bundle.describe()}\n{bundle.path}")
        self.settings.setValue("model/last", str(bundle.path) if not bundle.shipped else bundle.name)
        self.model_picker.blockSignals(True)
        self._select_active_in_picker()
        self.model_picker.blockSignals(False)
        for page in self.pages:
            if hasattr(page, "set_recognizer"):
                page.set_recognizer(recognizer)
        if self.notices and not self._notices_shown:  # once, after the start-up messages
            self._notices_shown = True
            folder = f"{user_models_dir()}{os.sep}"  # file names are enough here; the tooltip has the paths
            short = "; ".join(notice.replace(folder, "") for notice in self.notices)
            self.statusBar().showMessage(f"{short[:1].upper()}{short[1:]} — using {bundle.name}", 20000)
        else:
            self.statusBar().showMessage(f"Using {bundle.name}", 3000)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self._select_active_in_picker()
        if self.models.recognizer is None and self._initial_model != DEFAULT_MODEL:
            # The remembered model is gone: fall back to the shipped default, and say so.
            self.statusBar().showMessage(f"{message} — using the shipped model instead", 8000)
            self._initial_model = DEFAULT_MODEL
            self.models.activate(DEFAULT_MODEL)
            return
        kept = f"\n\nStill using {self.models.recognizer.name}." if self.models.recognizer else ""
        QMessageBox.warning(self, "Model not loaded", f"This model cannot be used:\n{message}{kept}")

    # --- files ----------------------------------------------------------------------------------

    @Slot()
    def open_image(self, path: str | None = None) -> None:
        if not hasattr(self, "photo_page"):
            return
        self.tabs.setCurrentWidget(self.photo_page)
        if path:
            self.photo_page.open_path(Path(path))
        else:
            self.photo_page.open_dialog()

    def open_images(self, paths) -> None:
        """Files given together (the command line): the Photo page shows one, with ◀ ▶ to the others."""
        if hasattr(self, "photo_page") and paths:
            self.tabs.setCurrentWidget(self.photo_page)
            self.photo_page.open_paths([Path(path) for path in paths])

    @Slot()
    def paste_image(self) -> None:
        if hasattr(self, "photo_page"):
            self.tabs.setCurrentWidget(self.photo_page)
            self.photo_page.paste()

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if hasattr(self, "photo_page") and (mime.hasUrls() or mime.hasImage()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if not hasattr(self, "photo_page"):
            return
        self.tabs.setCurrentWidget(self.photo_page)
        if self.photo_page.open_mime(event.mimeData()):
            event.acceptProposedAction()

    @Slot()
    def show_guide(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Quick guide")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(GUIDE_HTML)
        box.setObjectName("quickGuide")
        box.open()
        self.guide_box = box

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Draw, photograph or film a handwritten character and watch a LeNet-5 network read it, "
            "step by step. Retrain it on EMNIST, MNIST or your own images.</p>"
            "<p>Recognition runs on LiteRT; training on TensorFlow/Keras.</p>",
        )

    # --- settings -------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(980, 680)
        self.tabs.setCurrentIndex(min(value(self.settings, "window/tab", 0, int), self.tabs.count() - 1))
        pad_style = value(self.settings, "draw/style", "light-on-dark", str)
        index = self.draw_page.style_combo.findData(pad_style)
        if index >= 0:
            self.draw_page.style_combo.setCurrentIndex(index)
        self.draw_page.width_slider.setValue(value(self.settings, "draw/pen_width", 16, int))
        self.draw_page.charset_picker.set_setting(value(self.settings, "draw/charset", "all", str))
        if hasattr(self, "photo_page"):
            self.photo_page.charset_picker.set_setting(value(self.settings, "photo/charset", "all", str))

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
        self.settings.setValue("draw/style", self.draw_page.style_combo.currentData())
        self.settings.setValue("draw/pen_width", self.draw_page.width_slider.value())
        self.settings.setValue("draw/charset", self.draw_page.charset_picker.setting())
        if hasattr(self, "photo_page"):
            self.settings.setValue("photo/charset", self.photo_page.charset_picker.setting())
        self.settings.sync()

    def closeEvent(self, event) -> None:
        for page in self.pages:
            if hasattr(page, "confirm_close") and not page.confirm_close():
                event.ignore()
                return
        self.save_settings()
        for page in self.pages:
            if hasattr(page, "shutdown"):
                page.shutdown()
        event.accept()


GUIDE_HTML = """
<h3>LeNet Studio in a minute</h3>
<p><b>Draw</b>: draw a character on the pad; the network's top guesses update while you draw, and
the small image shows the 28×28 input it really sees.<br>
<b>Photo</b>: open, drop or paste a photo (or start the camera); every character is boxed and read.
Click one to see its guesses and each preprocessing stage; drag a rectangle to read only that part.<br>
<b>Train</b>: pick a data set, start, watch the curves, then save the model and use it.</p>
<table cellspacing="6">
<tr><td><b>Ctrl+1 / 2 / 3</b></td><td>Draw, Photo, Train page</td></tr>
<tr><td><b>P / E</b></td><td>pen / eraser (Draw)</td></tr>
<tr><td><b>Ctrl+Z / Ctrl+Shift+Z</b></td><td>undo / redo a stroke (Draw)</td></tr>
<tr><td><b>Esc or Delete</b></td><td>clear the pad (Draw); Esc reads the whole photo again (Photo)</td></tr>
<tr><td><b>Ctrl+O</b></td><td>open an image</td></tr>
<tr><td><b>Ctrl+V</b></td><td>paste an image</td></tr>
<tr><td><b>Space</b></td><td>capture a camera frame (Photo)</td></tr>
<tr><td><b>Ctrl+M</b></td><td>open a model file</td></tr>
<tr><td><b>F1</b></td><td>this guide</td></tr>
<tr><td><b>Ctrl+Q</b></td><td>quit</td></tr>
</table>
"""


def _probe_device() -> str:
    from lenet_core.training import probe_device

    return probe_device()
