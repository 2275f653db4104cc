"""TensorFlow and LiteRT on background threads, in the order the app uses them (model loaded,
live predictions, then training and saving): importing TensorFlow in one task and using it in
the next must work. On a reused QThreadPool thread this sequence crashed in pybind11 on a stale
Python thread state, which is why every task has a thread of its own."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

SEQUENCE = """
import sys, threading
from PySide6.QtCore import QCoreApplication
app = QCoreApplication([])
from app import workers

def load_litert():
    from lenet_core.inference import Recognizer
    Recognizer()

def import_tensorflow():
    import tensorflow

def use_tensorflow():
    import numpy as np, tensorflow as tf
    tf.data.Dataset.from_tensor_slices((np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.int32)))

latest = workers.LatestOnly()
from lenet_core.inference import Recognizer
import numpy as np
recognizer = Recognizer()
for _ in range(3):
    latest.submit(None, recognizer.probabilities, np.zeros((28, 28), np.float32))
for function in (load_litert, import_tensorflow, use_tensorflow, use_tensorflow):
    task = workers.run_task(function)
    assert task.done.wait(300), function.__name__
latest.submit(None, recognizer.probabilities, np.zeros((28, 28), np.float32))
latest.shutdown()
print("ok")
"""


def test_tensorflow_tasks_on_their_own_threads_do_not_crash(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LENET_STUDIO_HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SEQUENCE], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
