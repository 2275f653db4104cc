"""No traceback ever reaches the user: uncaught exceptions (GUI or worker threads) are logged
to a file in the user's data folder and shown as a dialog with the log's location.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path

from lenet_core.paths import user_data_dir

log = logging.getLogger("lenet_studio")


def setup_logging() -> Path | None:
    """Log to <user data>/logs/lenet-studio.log; None when the folder cannot be written, and
    then warnings go to stderr instead (a terminal shows them; a windowed build discards them).
    Called again (a test, a second window), it replaces the handler it added before."""
    folder = user_data_dir() / "logs"
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for old in [h for h in root.handlers if getattr(h, "lenet_studio", False)]:
        root.removeHandler(old)
        old.close()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / "lenet-studio.log", maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        fallback = logging.StreamHandler(sys.stderr)
        fallback.setLevel(logging.WARNING)
        fallback.setFormatter(logging.Formatter("lenet-studio: %(levelname)s: %(message)s"))
        fallback.lenet_studio = True
        root.addHandler(fallback)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.lenet_studio = True
    root.addHandler(handler)
    return folder / "lenet-studio.log"


def install_exception_hook(log_path: Path | None) -> None:
    def show(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("uncaught exception:\n%s", text)
        _show_dialog(f"{kind.__name__}: {value}", text, log_path)

    def show_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not None:
            show(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = show
    threading.excepthook = show_thread


def _show_dialog(summary: str, details: str, log_path: Path | None) -> None:
    from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Slot
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance()
    if app is None:
        return

    class Presenter(QObject):
        @Slot()
        def present(self) -> None:
            box = QMessageBox(QMessageBox.Icon.Critical, "LeNet Studio — unexpected error",
                              f"Something went wrong: {summary}\n\nThe window keeps running.", QMessageBox.StandardButton.Ok)
            if log_path:
                box.setInformativeText(f"Details were written to {log_path}")
            box.setDetailedText(details)
            box.exec()
            self.deleteLater()

    presenter = Presenter()
    if QThread.currentThread() is app.thread():
        presenter.present()
    else:  # from a worker thread: show it on the GUI thread
        presenter.moveToThread(app.thread())
        QMetaObject.invokeMethod(presenter, "present", Qt.ConnectionType.QueuedConnection)
