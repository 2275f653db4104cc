"""Reading image files users have: any size, bit depth, colour model and EXIF rotation.

Returns plain numpy arrays (gray, RGB or RGBA; uint8, uint16 or float32) that
`preprocess.merge_channels` understands, and raises `ImageReadError` with one clear line
for everything else. Huge images are reduced while decoding where the format allows it
(JPEG) and refused with a message where it would need gigabytes.
"""

from __future__ import annotations

import io
import stat
import warnings
from pathlib import Path

import numpy as np

from lenet_core import formats, safety

MAX_SIDE = 3000  # longer side after loading; far beyond what a 28×28 input needs
MAX_DECODED_PIXELS = formats.MAX_DECODED_PIXELS  # a full decode above this would need gigabytes


class ImageReadError(ValueError):
    def __init__(self, source: str, problem: str):
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


def read_image(source: str | Path | bytes, name: str | None = None, sizes: dict | None = None) -> np.ndarray:
    """Decode a file path or encoded bytes to an upright array, at most MAX_SIDE pixels long.

    Only the formats of `formats.ALLOWED`, told by content; the header's size is checked
    before any decoder runs, and no other program is ever started. `sizes`, when given, gets
    "file": the (width, height) the file declares (the array may be smaller: see MAX_SIDE).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "image")
    data = _read_bytes(source, label)
    stream = io.BytesIO(data)
    kind = formats.sniff(data[: formats.HEAD_BYTES])
    if kind is None:
        raise ImageReadError(label, formats.refusal(data[: formats.HEAD_BYTES]))
    try:
        width, height = formats.declared_size(stream, kind)
        if sizes is not None:
            sizes["file"] = (width, height)
        formats.check_pixels(width, height, formats.MAX_DECODED_PIXELS * (64 if kind == "jpeg" else 1), jpeg=kind == "jpeg")
    except formats.FormatError as error:
        raise ImageReadError(label, str(error)) from None
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # bounded here, from the header, before decoding
    stream.seek(0)
    try:
        with warnings.catch_warnings(action="ignore"), Image.open(stream, formats=[formats.ALLOWED[kind].pillow]) as image:
            width, height = max(width, image.size[0]), max(height, image.size[1])
            if image.format in ("JPEG", "MPO") and max(width, height) > MAX_SIDE:
                # Decode at 1/2, 1/4 or 1/8 scale, as long as the longer side keeps MAX_SIDE.
                longest = max(width, height)
                image.draft(image.mode, (-(-MAX_SIDE * width // longest), -(-MAX_SIDE * height // longest)))
                formats.check_pixels(*image.size, jpeg=True)
            else:
                formats.check_pixels(width, height)
            if _is_deep_colour(image):
                # Pillow would cut 16-bit colour to 8 bits, losing a dark scan's strokes.
                orientation = image.getexif().get(_ORIENTATION, 1)
                array = _orient(_read_with_opencv(data, label, kind), orientation)
            else:
                image.load()
                array = _to_array(ImageOps.exif_transpose(image))
    except ImageReadError:
        raise
    except formats.FormatError as error:
        raise ImageReadError(label, str(error)) from None
    except UnidentifiedImageError:
        array = _read_with_opencv(data, label, kind)  # e.g. some float TIFFs; the size was checked above
    except MemoryError:
        raise ImageReadError(label, "is too large to open in the memory available — scale it down first") from None
    except Exception as error:  # noqa: BLE001 — a decoder's complaint about a hostile file, whatever its type
        problem = str(error) or type(error).__name__
        if "truncated" in problem.lower() or "broken data stream" in problem.lower():
            raise ImageReadError(label, "is truncated (the file ends early)") from None
        raise ImageReadError(label, f"cannot be decoded ({_one_line(problem)})") from None
    return _limit_size(array)


def _read_bytes(source: str | Path | bytes, label: str) -> bytes:
    """The file's bytes, refused with a reason when missing, empty, a folder or too big."""
    if isinstance(source, bytes):
        if not source:
            raise ImageReadError(label, "is empty (0 bytes)")
        if len(source) > formats.MAX_FILE_BYTES:
            raise ImageReadError(label, f"is {len(source) / 1e6:,.0f} MB; image files above {formats.MAX_FILE_BYTES / 1e6:,.0f} MB are not opened")
        return source
    path = Path(source)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError(label, "is a folder, not an image")
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError(label, "is not a regular file (a device, pipe or socket)")
        if info.st_size == 0:
            raise ImageReadError(label, "is empty (0 bytes)")
        if info.st_size > formats.MAX_FILE_BYTES:
            raise ImageReadError(label, f"is {info.st_size / 1e6:,.0f} MB; image files above {formats.MAX_FILE_BYTES / 1e6:,.0f} MB are not opened")
        with open(path, "rb") as handle:
            return safety.read_capped(handle, formats.MAX_FILE_BYTES)  # in chunks: read(n) would reserve n bytes
    except safety.TooLarge:
        raise ImageReadError(label, f"grew past {formats.MAX_FILE_BYTES / 1e6:,.0f} MB while being read") from None
    except FileNotFoundError:
        raise ImageReadError(label, "does not exist") from None
    except OSError as error:
        raise ImageReadError(label, f"cannot be opened ({error.strerror or error})") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


_ORIENTATION = 0x0112  # the EXIF tag


def _is_deep_colour(image) -> bool:
    """A colour image stored with 16 bits per channel (Pillow only offers it as 8-bit RGB)."""
    if image.mode not in ("RGB", "RGBA") or not image.tile:
        return False
    raw_mode = image.tile[0].args
    raw_mode = raw_mode[0] if isinstance(raw_mode, tuple) else raw_mode
    return isinstance(raw_mode, str) and ";16" in raw_mode


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1–8) to an array, as `ImageOps.exif_transpose` does."""
    turns = {3: 2, 6: 3, 8: 1, 5: 1, 7: 3}.get(orientation, 0)  # counter-clockwise quarter turns
    if orientation in (2, 4):
        array = array[:, ::-1] if orientation == 2 else array[::-1]
    if orientation in (5, 7):
        array = array[:, ::-1]
    return np.ascontiguousarray(np.rot90(array, turns))


def _to_array(image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image, dtype=np.uint16)
    if mode == "I":
        values = np.asarray(image)
        if values.min() >= 0 and values.max() <= 65535:
            return values.astype(np.uint16)
        return values.astype(np.float32)
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in image.info):
        return np.asarray(image.convert("RGBA"))
    return np.asarray(image.convert("RGB"))  # RGB, P, CMYK, YCbCr, LAB, HSV


def _read_with_opencv(data: bytes, label: str, kind: str) -> np.ndarray:
    """Allowed files Pillow cannot decode in full (16-bit colour, some float TIFFs) via OpenCV,
    from memory (no temporary copy), its own log lines silenced; called only after `read_image`
    checked the content's format and declared size."""
    cv2 = formats.quiet_cv2()
    try:
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        raise ImageReadError(label, f"cannot be decoded ({_one_line(str(error))})") from None
    if decoded is None:
        raise ImageReadError(label, f"is a damaged or unsupported {formats.ALLOWED[kind].title} file (it cannot be decoded)")
    if decoded.ndim == 3 and decoded.shape[2] == 3:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    elif decoded.ndim == 3 and decoded.shape[2] == 4:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    return decoded


def _limit_size(array: np.ndarray) -> np.ndarray:
    import cv2

    height, width = array.shape[:2]
    if max(height, width) <= MAX_SIDE:
        return array
    scale = MAX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)
