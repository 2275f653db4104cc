"""Where things live: shipped resources (source checkout or PyInstaller bundle alike),
the user's data folder, and the one atomic-write helper every saver uses.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

APP_NAME = "LeNet Studio"
APP_SLUG = "lenet-studio"


def resource_path(*parts: str) -> Path:
    """A path inside `resources/`, whether running from source or from a frozen bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        root = Path(frozen_root) / "resources"
    else:
        root = Path(__file__).resolve().parent.parent / "resources"
    return root.joinpath(*parts)


def user_data_dir() -> Path:
    """The user's data folder (models, logs, settings); `LENET_STUDIO_HOME` overrides it.

    Not created here: callers that write create it and handle a read-only home themselves.
    """
    override = os.environ.get("LENET_STUDIO_HOME")
    if override:
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path(APP_SLUG, appauthor=False)


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def user_data_problem() -> str | None:
    """None when the user data folder exists (or can be made) and takes a file; otherwise one
    line saying why not, for a read-only or missing home. The app still runs without it."""
    folder = user_data_dir()
    problem = folder_write_problem(folder)
    return f"{folder} is not writable ({problem})" if problem else None


def folder_write_problem(folder: Path) -> str | None:
    """None when `folder` exists (or can be made) and takes a file; otherwise the system's reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return str(error.strerror or error)
    return None


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator:
    """Open a temporary file beside `path`; on success rename it over `path`.

    A crash or an exception leaves the previous file untouched and no partial file behind.
    """
    from lenet_core.safety import temp_name_prefix

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The name carries our pid, so the next run can sweep what a killed save left (safety.sweep_temp_files).
    fd, tmp_name = tempfile.mkstemp(prefix=temp_name_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes files private; saved files are ordinary
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
