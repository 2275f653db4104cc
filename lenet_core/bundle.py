"""Model bundles: one `.lenet` file (a zip) holding the LiteRT network, its metadata and,
for retraining, the Keras model. Written atomically; read without TensorFlow.

Also owns where bundles are found: the models shipped in `resources/models/` and the
user's own in the user data folder.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lenet_core import __version__, safety
from lenet_core.paths import atomic_write, resource_path, user_models_dir

SUFFIX = ".lenet"
FORMAT_VERSION = 1
META_NAME, TFLITE_NAME, KERAS_NAME = "meta.json", "model.tflite", "model.keras"
DEFAULT_MODEL = "emnist-balanced"
# The layer view (issue 15): a second LiteRT network whose outputs are the shown layers'
# activations, and a JSON description of those layers (see lenet_core/network_view.py).
# Optional: bundles saved before it work without.
ACTIVATIONS_NAME, ACTIVATIONS_META_NAME = "activations.tflite", "activations.json"
# What a member may expand to (checked from the zip directory, then while reading): far above
# any real bundle (lenet-plus: 0.3 MB of LiteRT, 1 MB of Keras), far below a zip bomb.
MEMBER_CAPS = {META_NAME: 4 * 1024 * 1024, TFLITE_NAME: 64 * 1024 * 1024, KERAS_NAME: 256 * 1024 * 1024,
               ACTIVATIONS_NAME: 64 * 1024 * 1024, ACTIVATIONS_META_NAME: 4 * 1024 * 1024}


class BundleError(ValueError):
    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class ModelBundle:
    """What a bundle holds. The networks are read from the file only when asked for, so
    listing many models stays cheap."""

    path: Path
    meta: dict[str, Any]
    shipped: bool = False

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.path.stem)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.meta["classes"])

    @property
    def architecture(self) -> str:
        return str(self.meta.get("architecture", "?"))

    @property
    def accuracy(self) -> float | None:
        value = (self.meta.get("metrics") or {}).get("accuracy")
        return float(value) if value is not None else None

    @property
    def partial(self) -> bool:
        return bool((self.meta.get("training") or {}).get("partial", False))

    def describe(self) -> str:
        accuracy = f", {self.accuracy:.1%} test accuracy" if self.accuracy is not None else ""
        partial = " (partial run)" if self.partial else ""
        return f"{self.name}: {len(self.classes)} classes, {self.architecture}{accuracy}{partial}"

    def tflite_bytes(self) -> bytes:
        return self._member(TFLITE_NAME)

    def keras_bytes(self) -> bytes:
        return self._member(KERAS_NAME)

    def activations_members(self) -> tuple[bytes, dict[str, Any]] | None:
        """The layer-view network and its description; None when the bundle predates them."""
        try:
            with zipfile.ZipFile(self.path) as archive:
                if ACTIVATIONS_NAME not in archive.namelist():
                    return None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise BundleError(self.path, f"cannot be read ({error})") from None
        try:
            description = json.loads(self._member(ACTIVATIONS_META_NAME).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise BundleError(self.path, f"has an unreadable {ACTIVATIONS_META_NAME}") from None
        if not isinstance(description, dict):
            raise BundleError(self.path, f"has an unreadable {ACTIVATIONS_META_NAME}")
        return self._member(ACTIVATIONS_NAME), description

    def _member(self, name: str) -> bytes:
        try:
            with zipfile.ZipFile(self.path) as archive:
                return safety.read_zip_member(archive, name, MEMBER_CAPS[name])
        except KeyError:
            raise BundleError(self.path, f"holds no {name}") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise BundleError(self.path, f"cannot be read ({error})") from None


@dataclass(frozen=True)
class ModelListing:
    """The models a user can pick, and the files that were skipped with the reason."""

    bundles: list[ModelBundle] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def read_bundle(path: Path | str, shipped: bool = False) -> ModelBundle:
    path = Path(path)
    try:
        if not path.exists():
            raise BundleError(path, "does not exist")
        if path.is_dir():
            raise BundleError(path, "is a folder, not a model file")
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = {META_NAME, TFLITE_NAME} - names
            if missing:
                raise BundleError(path, f"is not a LeNet Studio model (missing {', '.join(sorted(missing))})")
            for name in sorted(names & set(MEMBER_CAPS)):  # checked now, read when asked for
                problem = safety.zip_member_problem(archive.getinfo(name), MEMBER_CAPS[name])
                if problem:
                    raise BundleError(path, f"cannot be read: {problem}")
            text = safety.read_zip_member(archive, META_NAME, MEMBER_CAPS[META_NAME])
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise BundleError(path, f"is not a LeNet Studio model file ({getattr(error, 'strerror', None) or error})") from None
    except ValueError as error:  # a member that cannot be read safely
        raise BundleError(path, f"cannot be read: {error}") from None
    try:
        meta = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BundleError(path, "has unreadable metadata") from None
    except RecursionError:
        raise BundleError(path, "has unreadable metadata (nested too deeply)") from None
    problem = meta_problem(meta)
    if problem:
        raise BundleError(path, problem)
    return ModelBundle(path, meta, shipped)


def meta_problem(meta: Any) -> str | None:
    """Why a bundle's metadata cannot be used (wrong types, bad classes, a newer format), or None."""
    if not isinstance(meta, dict):
        return "metadata lists no classes"
    classes = meta.get("classes")
    if not isinstance(classes, list) or not classes:
        return "metadata lists no classes"
    problem = safety.classes_problem(classes)
    if problem:
        return f"metadata: {problem}"
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        return f"metadata: format_version must be a whole number, not {json.dumps(version)[:40]}"
    if version > FORMAT_VERSION:
        return f"was written by a newer LeNet Studio (format {version})"
    for key, kind in (("name", str), ("architecture", str), ("metrics", dict), ("training", dict), ("dataset", dict)):
        if key in meta and meta[key] is not None and not isinstance(meta[key], kind):
            return f"metadata: {key} must be {'text' if kind is str else 'an object'}, not {type(meta[key]).__name__}"
    accuracy = (meta.get("metrics") or {}).get("accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1):
        return f"metadata: accuracy must be a number from 0 to 1, not {json.dumps(accuracy)[:40]}"
    return None


def write_bundle(path: Path | str, meta: dict[str, Any], tflite: bytes, keras_model: bytes | None = None,
                 activations: tuple[bytes, dict[str, Any]] | None = None) -> Path:
    """Write atomically: an interrupted save leaves any earlier file at `path` intact.
    `activations`: the layer-view network and its description (ACTIVATIONS_NAME)."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    full_meta = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "lenet_studio_version": __version__,
        **meta,
    }
    safety.sweep_temp_files(path.parent, path.name)  # what a killed save of this file left
    with atomic_write(path) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(META_NAME, json.dumps(full_meta, indent=2, ensure_ascii=False))
            archive.writestr(TFLITE_NAME, tflite)
            if keras_model is not None:
                archive.writestr(KERAS_NAME, keras_model)
            if activations is not None:
                archive.writestr(ACTIVATIONS_NAME, activations[0])
                archive.writestr(ACTIVATIONS_META_NAME, json.dumps(activations[1]))
    return path


def shipped_models_dir() -> Path:
    return resource_path("models")


def list_models(user_dir: Path | None = None) -> ModelListing:
    """Shipped models first (default first), then the user's; broken files are skipped with a reason."""
    listing = ModelListing()
    shipped = sorted(shipped_models_dir().glob(f"*{SUFFIX}"), key=lambda p: (p.stem != DEFAULT_MODEL, p.stem))
    for path in shipped:
        try:
            listing.bundles.append(read_bundle(path, shipped=True))
        except BundleError as error:
            listing.skipped.append(str(error))
    folder = user_dir or user_models_dir()
    safety.sweep_temp_files(folder)  # temporary files of saves that were killed
    try:
        user_files = sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    except OSError as error:
        listing.skipped.append(f"{folder}: cannot be read ({error})")
        user_files = []
    for path in user_files:
        try:
            listing.bundles.append(read_bundle(path))
        except BundleError as error:
            listing.skipped.append(str(error))
    return listing


def resolve(name_or_path: str | Path | None, user_dir: Path | None = None) -> ModelBundle:
    """A model by file path, or by name among the shipped and then the user's models."""
    if name_or_path is None or str(name_or_path) == "":
        name_or_path = DEFAULT_MODEL
    candidate = Path(name_or_path).expanduser()
    try:
        exists = candidate.exists()
    except OSError as error:  # a name too long, a link loop
        raise BundleError(str(name_or_path)[:200], f"cannot be opened ({error.strerror or error})") from None
    if candidate.suffix == SUFFIX or exists or "/" in str(name_or_path):
        return read_bundle(candidate)
    shipped = shipped_models_dir() / f"{name_or_path}{SUFFIX}"
    if shipped.exists():
        return read_bundle(shipped, shipped=True)
    user = (user_dir or user_models_dir()) / f"{name_or_path}{SUFFIX}"
    if user.exists():
        return read_bundle(user)
    known = ", ".join(bundle.name for bundle in list_models(user_dir).bundles) or "none"
    raise BundleError(name_or_path, f"no such model (available: {known})")


def is_shipped_name(name: str) -> bool:
    return (shipped_models_dir() / f"{name}{SUFFIX}").exists()
