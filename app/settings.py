"""Settings remembered between runs, in an INI file in the user's data folder.

QSettings writes INI files through a temporary file and a rename, so a crash never leaves a
half-written settings file. A read-only or missing home falls back to memory for the session.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSettings

from lenet_core.paths import user_data_dir


def open_settings() -> QSettings:
    folder = user_data_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # QSettings reports the status below; the app still runs
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    settings.setFallbacksEnabled(False)
    return settings


def value(settings: QSettings, key: str, default: Any, kind: type) -> Any:
    """A typed read that survives a hand-edited or stale settings file."""
    raw = settings.value(key, default)
    try:
        if kind is bool:
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        result = kind(raw)
        if kind is float and not math.isfinite(result):
            return default  # a hand-edited "nan" or "inf" is not a setting
        return result
    except (TypeError, ValueError):
        return default
