"""One prediction through pipeline + network, as the Draw and Photo pages make it.

Prints p50/p95 for a 280×280 drawing-pad image (gray, as the pad renders it), a 400×400 RGBA
canvas export, and a 1600×1200 RGB photo; plus the network alone. Target: ≤ 2 ms p50 (drawing).

Also the extra work per live update of the Network panel (issue 15), on the panel's worker:
`network_view` (every layer's activations from LiteRT + the coloured mosaics; goal ≤ 5 ms p50)
and `why` (the occlusion heat map, batched LiteRT calls + its overlay; goal ≤ 15 ms p50).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lenet_core import preprocess, robustness  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402
from lenet_core.inference import Recognizer  # noqa: E402

REPEATS = 300


def timed(function, repeats: int = REPEATS) -> tuple[float, float]:
    for _ in range(10):
        function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def network_panel_timings(recognizer: Recognizer, data) -> dict[str, float]:
    """The Network panel's worker, per live update, over 60 different test characters: wall
    time, and the worker thread's CPU time (what the work costs when other processes share the cores)."""
    from app.widgets.network_view import heat_overlay, tiles_for
    from lenet_core.network_view import inspector_for

    inspector = inspector_for(recognizer)
    inputs = [image.astype(np.float32) / 255 for image in data.images[:60]]
    state = {"i": 0}

    def following() -> np.ndarray:
        state["i"] = (state["i"] + 1) % len(inputs)
        return inputs[state["i"]]

    def network_view() -> None:
        tiles_for(inspector.picture(following()))

    def why() -> None:
        image = following()
        heat_overlay(image, inspector.why(image).contrast)

    def cpu_p50(function, repeats: int) -> float:
        samples = []
        for _ in range(repeats):
            start = time.thread_time()
            function()
            samples.append((time.thread_time() - start) * 1000)
        return float(np.percentile(samples, 50))

    (view_p50, view_p95), (why_p50, why_p95) = timed(network_view, 200), timed(why, 120)
    return {"network_view_p50_ms": view_p50, "network_view_p95_ms": view_p95, "network_view_cpu_p50_ms": cpu_p50(network_view, 200),
            "why_p50_ms": why_p50, "why_p95_ms": why_p95, "why_cpu_p50_ms": cpu_p50(why, 120)}


def main() -> None:
    started = time.perf_counter()
    recognizer = Recognizer()
    load_ms = (time.perf_counter() - started) * 1000
    data = load_dataset(Path(__file__).resolve().parent.parent / "tests" / "data" / "emnist", "balancedmini", "test")
    image = data.images[3]
    pad = robustness.as_drawing(image)
    rgba = np.dstack([np.full((400, 400), 255, np.uint8)] * 3 + [robustness.as_drawing(image, side=400)])
    photo = np.dstack([robustness.as_photo(image, np.random.default_rng(0), side=1200)] * 1)
    photo = np.pad(photo, ((0, 0), (200, 200), (0, 0)), mode="edge")
    results = {
        "drawing_280": timed(lambda: recognizer.recognise(pad, preprocess.DRAWING)),
        "rgba_400": timed(lambda: recognizer.recognise(rgba, preprocess.DRAWING)),
        "photo_1600x1200": timed(lambda: recognizer.recognise(photo, preprocess.PHOTO), 60),
        "network_only": timed(lambda: recognizer.probabilities(image.astype(np.float32) / 255)),
    }
    panel = network_panel_timings(recognizer, data)
    print(f"model {recognizer.name}: loaded in {load_ms:.0f} ms")
    for name, (p50, p95) in results.items():
        print(f"{name:18s} p50 {p50:7.3f} ms   p95 {p95:7.3f} ms")
    headline = {name: {"p50_ms": round(p50, 3), "p95_ms": round(p95, 3)} for name, (p50, p95) in results.items()}
    headline["target_drawing_p50_ms"] = 2.0
    headline["drawing_meets_target"] = results["drawing_280"][0] <= 2.0
    drawing = results["drawing_280"][0]
    for name, goal in (("network_view", 5.0), ("why", 15.0)):
        print(f"{name:18s} p50 {panel[name + '_p50_ms']:7.3f} ms   p95 {panel[name + '_p95_ms']:7.3f} ms   "
              f"CPU p50 {panel[name + '_cpu_p50_ms']:7.3f} ms   ×{panel[name + '_p50_ms'] / drawing:.2f} of drawing_280 (goal p50 ≤ {goal:g} ms)")
    headline.update({key: round(value, 3) for key, value in panel.items()})
    headline["network_view_per_drawing"] = round(panel["network_view_p50_ms"] / drawing, 2)
    headline["why_per_drawing"] = round(panel["why_p50_ms"] / drawing, 2)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
