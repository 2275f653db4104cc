"""TensorFlow on background threads: with `own_thread=True`, importing TensorFlow in one task and
using it in the next works after LiteRT was loaded on the pool (the Train page's train → save).
On a single reused pool thread the same sequence crashes in pybind11 on a stale thread state."""

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
workers.pool().setMaxThreadCount(1)  # every pool task on the same, reused thread

def load_litert():
    from lenet_core.inference import Recognizer
    Recognizer()

def import_tensorflow():
    import tensorflow

def use_tensorflow():
    import numpy as np, tensorflow as tf
    tf.data.Dataset.from_tensor_slices((np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.int32)))

for function, own in ((load_litert, False), (import_tensorflow, True), (use_tensorflow, True), (use_tensorflow, True)):
    task = workers.run_task(function, own_thread=own)
    assert task.done.wait(300), function.__name__
print("ok")
"""


def test_tensorflow_tasks_on_their_own_threads_do_not_crash(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LENET_STUDIO_HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", SEQUENCE], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
