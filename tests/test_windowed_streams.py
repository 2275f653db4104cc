"""A windowed bundle on Windows or macOS starts with `sys.stdout = sys.stderr = None`: the app's
entry point must still run, with its record in the log file. (Training and export without streams:
tests/test_packaging.py::test_windowed_run_loads_nothing_the_spec_leaves_out.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, TEST_DATA

# Runs the real entry point (`lenet-studio …`) the way a windowed build starts it: no streams at all.
WITHOUT_STREAMS = """
import sys
sys.stdout = sys.stderr = sys.__stdout__ = sys.__stderr__ = None
from app.main import main
code = main(sys.argv[1:])
open(sys.argv[0] + ".exit", "w").write(str(code))
sys.exit(code)
"""


def run_without_streams(tmp_path, home, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    script = tmp_path / "windowed.py"
    script.write_text(WITHOUT_STREAMS)
    env = {**os.environ, "LENET_STUDIO_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    assert (tmp_path / "windowed.py.exit").read_text() == "0"  # main() returned 0 itself
    return result


def test_smoke_test_without_streams_logs_to_file(tmp_path, private_home):
    run_without_streams(tmp_path, private_home, "--smoke-test")
    log = (private_home / "logs" / "lenet-studio.log").read_text()
    assert "no console (stdout, stderr, __stdout__, __stderr__ missing)" in log
    assert "model emnist-balanced active" in log


def test_cli_without_streams(tmp_path, private_home):
    run_without_streams(tmp_path, private_home, "models")
    image = TEST_DATA / "snapshots" / "pad-letter-a-light-on-dark.png"
    run_without_streams(tmp_path, private_home, "predict", "--json", str(image))


@pytest.mark.parametrize("streams", [("stdout",), ("stderr",), ("stdout", "stderr")])
def test_missing_streams_become_writable(monkeypatch, streams):
    from app.streams import ensure_standard_streams

    for name in streams:
        monkeypatch.setattr(sys, name, None)
    replaced = ensure_standard_streams()
    assert set(streams) <= set(replaced)
    try:
        print("discarded")  # must not raise
        sys.stderr.write("discarded\n")
        assert not sys.stderr.isatty()
    finally:
        for name in replaced:
            getattr(sys, name).close()
