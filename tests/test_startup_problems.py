"""Bad start-up conditions: a broken model file in the user's folder, or a home that cannot be
written. The window starts anyway with the shipped model and says what it skipped.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from conftest import ROOT

from lenet_core.paths import user_data_problem


def broken_model(home):
    folder = home / "models"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.lenet").write_bytes(b"this is not a zip file")
    return folder / "broken.lenet"


def unwritable_home(tmp_path, monkeypatch):
    """A home below a regular file: nothing can be created there, even by root (CI runs as root,
    for whom a read-only folder is still writable)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    home = blocker / "home"
    monkeypatch.setenv("LENET_STUDIO_HOME", str(home))
    return home


def test_broken_user_model_is_skipped_and_reported(main_window_factory, private_home, caplog, qtbot):
    broken_model(private_home)
    with caplog.at_level(logging.WARNING):
        window = main_window_factory()
    assert window.models.recognizer.name == "emnist-balanced"
    assert [line for line in window.models.skipped if "broken.lenet" in line]
    assert window.notice_label.isVisible()
    assert window.notice_label.text() == "⚠ 1 model file skipped"
    assert "broken.lenet" in window.notice_label.toolTip()
    assert "broken.lenet" in window.statusBar().currentMessage()
    assert "using emnist-balanced" in window.statusBar().currentMessage()
    assert any("skipped model" in record.getMessage() and "broken.lenet" in record.getMessage() for record in caplog.records)
    assert window.model_picker.count() >= 1  # the shipped model is still offered


def test_no_notice_when_all_is_well(main_window_factory):
    window = main_window_factory()
    assert not window.notice_label.isVisible()
    assert window.notices == []


def test_unwritable_home_starts_with_the_shipped_model(main_window_factory, tmp_path, monkeypatch, caplog):
    home = unwritable_home(tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING):
        window = main_window_factory()
    assert window.models.recognizer.name == "emnist-balanced"
    assert window.data_problem and str(home) in window.data_problem
    assert "user data folder not writable" in window.notice_label.text()
    assert any("not writable" in record.getMessage() for record in caplog.records)
    window.save_settings()  # kept in memory; must not raise
    assert not home.exists()


def test_user_data_problem(tmp_path, monkeypatch, private_home):
    assert user_data_problem() is None
    assert private_home.is_dir()
    home = unwritable_home(tmp_path, monkeypatch)
    problem = user_data_problem()
    assert problem.startswith(f"{home} is not writable")


def smoke(home, tmp_path, extra_env=None) -> tuple[dict, str]:
    env = {
        **os.environ,
        "LENET_STUDIO_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.main", "--smoke-test"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_smoke_test_reports_a_broken_user_model(tmp_path, private_home):
    broken_model(private_home)
    record, _ = smoke(private_home, tmp_path)
    assert record["top1"] == record["expected"] and record["model"] == "emnist-balanced"
    assert len(record["skipped"]) == 1 and "broken.lenet" in record["skipped"][0]
    assert "broken.lenet" in (private_home / "logs" / "lenet-studio.log").read_text()


def test_smoke_test_with_no_writable_home(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    # Both ways a home can be unusable: the override, and HOME itself (platformdirs' default).
    record, stderr = smoke(blocker / "studio", tmp_path)
    assert record["top1"] == record["expected"]
    assert "not writable" in record["user_data_problem"]
    assert "not writable" in stderr  # no log file: warnings go to the console instead
    env = {"HOME": str(blocker / "home"), "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": ""}
    record, _ = smoke("", tmp_path, env)
    assert record["top1"] == record["expected"]
    assert str(blocker / "home") in record["user_data_problem"]


def test_smoke_test_uses_the_default_model_not_the_remembered_one(tmp_path, private_home):
    from PySide6.QtCore import QSettings

    from app.settings import open_settings

    settings = open_settings()  # the user's settings file, in the private home
    settings.setValue("model/last", "emnist-letters")
    settings.sync()
    assert settings.status() == QSettings.Status.NoError
    record, _ = smoke(private_home, tmp_path)
    assert record["model"] == "emnist-balanced" and record["top1"] == record["expected"]
