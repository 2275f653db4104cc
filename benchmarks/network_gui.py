"""The Draw page with its Network panel shown, while a stroke is drawn fast: the real main
window, mouse moves every 8 ms (a fast hand), and a 10 ms QTimer whose lateness is the
event-loop latency (as in gui_latency.py). Then the same with the panel hidden, for the
ratio. Also counts how often the panel and the top-k were updated. The last line is JSON.

    python benchmarks/network_gui.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="drawing time for each of the two phases")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["LENET_STUDIO_HOME"] = tempfile.mkdtemp(prefix="lenet-bench-")
    from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from app.window import MainWindow

    window = MainWindow()
    window.resize(1280, 860)
    window.show()
    window.start()
    while window.models.recognizer is None:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
    page = window.draw_page
    pad = page.pad

    def send(kind, x: float, y: float) -> None:
        buttons = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
        position = QPointF(x * pad.width(), y * pad.height())
        event = QMouseEvent(kind, position, QPointF(pad.mapToGlobal(position.toPoint())), Qt.MouseButton.LeftButton,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(pad, event)

    def phase(network: bool) -> dict:
        """Draw in circles (a move every 8 ms) for `seconds` in the real event loop; a 10 ms
        probe timer notes how late it fires."""
        page.show_network(network)
        page.pad.clear()
        updates = {"panel": 0, "top_k": 0}
        on_panel = lambda: updates.__setitem__("panel", updates["panel"] + 1)  # noqa: E731 - GUI-thread signals
        on_top_k = lambda _: updates.__setitem__("top_k", updates["top_k"] + 1)  # noqa: E731
        page.network.updated.connect(on_panel)
        page.prediction_shown.connect(on_top_k)
        late: list[float] = []
        state = {"step": 0, "last": time.perf_counter()}

        def move() -> None:
            state["step"] += 1
            angle = state["step"] * 0.008 / 0.8 * 2 * np.pi  # a circle every 0.8 s
            send(QEvent.Type.MouseMove, 0.5 + 0.3 * np.cos(angle), 0.5 + 0.3 * np.sin(angle))

        def probe() -> None:
            now = time.perf_counter()
            late.append(max(0.0, (now - state["last"]) * 1000 - 10.0))
            state["last"] = now

        mover = QTimer(interval=8, timerType=Qt.TimerType.PreciseTimer)
        mover.timeout.connect(move)
        prober = QTimer(interval=10, timerType=Qt.TimerType.PreciseTimer)
        prober.timeout.connect(probe)
        send(QEvent.Type.MouseButtonPress, 0.8, 0.5)
        loop = QEventLoop()
        QTimer.singleShot(int(args.seconds * 1000), loop.quit)
        mover.start()
        state["last"] = time.perf_counter()
        prober.start()
        loop.exec()
        mover.stop()
        prober.stop()
        send(QEvent.Type.MouseButtonRelease, 0.5, 0.5)
        page.network.updated.disconnect(on_panel)
        page.prediction_shown.disconnect(on_top_k)
        return {"loop_late_p50_ms": round(float(np.percentile(late, 50)), 2),
                "loop_late_p95_ms": round(float(np.percentile(late, 95)), 2),
                "loop_late_max_ms": round(float(np.max(late)), 2),
                "panel_updates_per_s": round(updates["panel"] / args.seconds, 1),
                "top_k_updates_per_s": round(updates["top_k"] / args.seconds, 1)}

    hidden = phase(False)
    shown = phase(True)
    for name, values in (("panel hidden", hidden), ("panel shown", shown)):
        print(f"{name:13s} " + "  ".join(f"{key} {value}" for key, value in values.items()))
    for page_ in window.pages:
        if hasattr(page_, "shutdown"):
            page_.shutdown()
    print(json.dumps({"hidden": hidden, "shown": shown,
                      "late_p95_ratio": round(shown["loop_late_p95_ms"] / max(hidden["loop_late_p95_ms"], 0.01), 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
