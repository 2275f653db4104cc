"""`lenet-studio --smoke-test`: the real window, a shipped sample drawn onto the pad with mouse
events, the live prediction awaited, and one JSON line of timings. Exit 0 only if it all worked.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from app.stroke_replay import replay, sample_strokes

TIMEOUT_MS = 60_000


class SmokeTest(QObject):
    def __init__(self, window, started: float, screenshot: str | None = None):
        super().__init__(window)
        self.window = window
        self.started = started
        self.screenshot = screenshot
        self.exit_code = 1
        self.window_ms: float | None = None
        self.sample = sample_strokes("seven")
        self._drawn = False
        self._timeout = QTimer(self, singleShot=True, interval=TIMEOUT_MS)
        self._timeout.timeout.connect(self._timed_out)

    @Slot()
    def begin(self) -> None:
        """Runs from the event loop's first turn: the window has been shown and painted."""
        QApplication.processEvents()
        self.window.repaint()
        self.window_ms = (time.perf_counter() - self.started) * 1000
        self._timeout.start()
        self.window.models.load_failed.connect(self._model_failed)
        self.window.draw_page.prediction_shown.connect(self._predicted)
        self.window.tabs.setCurrentWidget(self.window.draw_page)
        replay(self.window.draw_page.pad, self.sample["strokes"], process_events=False)
        self._drawn = True
        self.window.draw_page.predict_now()

    @Slot(object)
    def _predicted(self, prediction) -> None:
        if not self._drawn or prediction.empty:
            return
        first_ms = (time.perf_counter() - self.started) * 1000
        recognizer = self.window.draw_page.recognizer
        record = {
            "window_ms": round(self.window_ms, 1),
            "first_prediction_ms": round(first_ms, 1),
            "top1": prediction.best[0],
            "top1_p": round(prediction.best[1], 4),
            "expected": self.sample["char"],
            "model": recognizer.name if recognizer else None,
            "tensorflow_imported": "tensorflow" in sys.modules,
            "skipped": list(self.window.models.skipped),  # model files that could not be listed
            "user_data_problem": self.window.data_problem,  # None, or why settings cannot be saved
        }
        if self.screenshot:
            self.window.grab().save(self.screenshot)
        print(json.dumps(record), flush=True)
        self.exit_code = 0
        self._finish()

    @Slot(str)
    def _model_failed(self, message: str) -> None:
        print(f"smoke test failed: model not loaded: {message}", file=sys.stderr, flush=True)
        self._finish()

    @Slot()
    def _timed_out(self) -> None:
        print(f"smoke test failed: no prediction within {TIMEOUT_MS / 1000:.0f} s", file=sys.stderr, flush=True)
        self._finish()

    def _finish(self) -> None:
        self._timeout.stop()
        self.window.save_settings()
        for page in self.window.pages:
            if hasattr(page, "shutdown"):
                page.shutdown()
        QApplication.instance().quit()
