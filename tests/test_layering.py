"""The architecture rules: the core never imports Qt, and recognition never imports TensorFlow."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

import lenet_core


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_lenet_core_never_imports_qt():
    modules = [f"lenet_core.{info.name}" for info in pkgutil.iter_modules(lenet_core.__path__) if info.name != "__main__"]
    code = f"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'app'):
            raise ImportError('lenet_core imported ' + name)
sys.meta_path.insert(0, Block())
for module in {modules!r}:
    importlib.import_module(module)
print('ok', len({modules!r}))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_recognition_does_not_import_tensorflow():
    code = """
import sys
import numpy as np
from lenet_core.inference import Recognizer
from lenet_core import preprocess, bundle, datasets, evaluate, cli, imageio
recognizer = Recognizer()
image = np.zeros((200, 200), np.uint8); image[40:160, 90:110] = 255
print(recognizer.recognise(image).best)
heavy = [name for name in ('tensorflow', 'keras') if name in sys.modules]
print('heavy:', heavy)
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout


def test_import_linter_contract():
    import pytest

    lint = Path(sys.executable).parent / "lint-imports"  # installed beside the interpreter running the tests
    if not lint.exists():
        pytest.skip(f"import-linter is not installed in {lint.parent}")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout
