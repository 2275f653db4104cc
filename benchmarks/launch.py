"""Launch timings of the real app: `lenet-studio --smoke-test`, offscreen, several runs.

Reports the median time from process start of our code to the window painted and to the first
live prediction (targets ≤ 1 s and ≤ 1.5 s), and checks TensorFlow stayed unimported.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def main() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LENET_STUDIO_HOME": str(ROOT / "build" / "bench-home")}
    records, wall = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "app.main", "--smoke-test"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        wall.append((time.perf_counter() - started) * 1000)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            raise SystemExit(f"smoke test failed with exit code {result.returncode}")
        records.append(json.loads(result.stdout.strip().splitlines()[-1]))
    window = statistics.median(r["window_ms"] for r in records)
    first = statistics.median(r["first_prediction_ms"] for r in records)
    process = statistics.median(wall)
    print(f"window painted   median {window:6.0f} ms  (target ≤ 1000)")
    print(f"first prediction median {first:6.0f} ms  (target ≤ 1500)")
    print(f"whole process    median {process:6.0f} ms  (interpreter start to exit)")
    print(f"top-1 of the sample: {records[0]['top1']} (expected {records[0]['expected']}); TensorFlow imported: {records[0]['tensorflow_imported']}")
    print(json.dumps({"window_ms": window, "first_prediction_ms": first, "process_ms": round(process), "runs": RUNS,
                      "tensorflow_imported": any(r["tensorflow_imported"] for r in records)}))


if __name__ == "__main__":
    main()
