"""Image files users really have, good and bad, written into a folder for the tests: not an
image, 0 bytes, truncated, 400 MP, a big JPEG, 16-bit and float TIFF/PNG, RGBA with a
transparent background, CMYK JPEG, an EXIF-rotated phone photo, and one with no ink.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from conftest import glyph
from PIL import Image

# name → what must happen: ("error", words the message must hold) or ("reads", accepted characters)
EXPECTED: dict[str, tuple[str, str]] = {
    "notes.png": ("error", "not an image file"),
    "empty.jpg": ("error", "empty (0 bytes)"),
    "truncated.png": ("error", "truncated"),
    "truncated.jpg": ("error", "truncated"),
    "huge-20000x20000.png": ("error", "scale it down"),
    "big-6000x4500.jpg": ("reads", "7"),
    "gray16.png": ("reads", "7"),
    "dark-rgb16.png": ("reads", "7"),
    "gray16.tif": ("reads", "7"),
    "float32.tif": ("reads", "7"),
    "transparent.png": ("reads", "7"),
    "cmyk.jpg": ("reads", "7"),
    "phone-exif-rotated.jpg": ("reads", "L"),
    "blank-paper.png": ("reads", ""),
}


def seven_on_paper(height: int = 360, width: int = 300) -> np.ndarray:
    """A clear, big dark "7" on light paper (uint8 gray)."""
    ink = cv2.resize(glyph("7"), (200, 200), interpolation=cv2.INTER_LINEAR)
    page = np.full((height, width), 235, np.uint8)
    top, left = (height - 200) // 2, (width - 200) // 2
    page[top : top + 200, left : left + 200] -= (ink.astype(np.float32) * 0.8).astype(np.uint8)
    return page


def huge_png(path: Path, width: int = 20000, height: int = 20000) -> None:
    """A valid 1-bit PNG of width×height, written in streaming fashion (about 50 KB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def write_all(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in EXPECTED}
    page = seven_on_paper()
    paths["notes.png"].write_text("shopping list: milk, eggs")
    paths["empty.jpg"].write_bytes(b"")
    Image.fromarray(page).save(paths["truncated.png"])
    paths["truncated.png"].write_bytes(paths["truncated.png"].read_bytes()[:1500])
    Image.fromarray(np.dstack([page] * 3)).save(paths["truncated.jpg"], quality=90)
    paths["truncated.jpg"].write_bytes(paths["truncated.jpg"].read_bytes()[:2000])
    huge_png(paths["huge-20000x20000.png"])
    big = cv2.resize(page, (6000, 4500), interpolation=cv2.INTER_LINEAR)
    Image.fromarray(big).save(paths["big-6000x4500.jpg"], quality=85)
    Image.fromarray(page.astype(np.uint16) * 257).save(paths["gray16.png"])
    Image.fromarray(page.astype(np.uint16) * 257).save(paths["gray16.tif"])
    dark = (np.dstack([page] * 3).astype(np.uint16) * 16)  # a dark scan: all of it below 8 bits' first step
    cv2.imwrite(str(paths["dark-rgb16.png"]), dark)
    Image.fromarray(page.astype(np.float32) / 255).save(paths["float32.tif"])
    rgba = np.zeros((*page.shape, 4), np.uint8)
    rgba[..., 3] = 235 - page  # black ink, everything else fully transparent
    Image.fromarray(rgba).save(paths["transparent.png"])
    Image.fromarray(np.dstack([page] * 3)).convert("CMYK").save(paths["cmyk.jpg"], quality=92)
    upright = np.full((360, 300), 235, np.uint8)
    upright[80:280, 50:250] -= (cv2.resize(glyph("L"), (200, 200)).astype(np.float32) * 0.8).astype(np.uint8)
    stored = np.rot90(upright, 1)  # the sensor's pixels; orientation 6 turns them upright
    photo = Image.fromarray(np.dstack([stored] * 3))
    exif = photo.getexif()
    exif[0x0112] = 6
    photo.save(paths["phone-exif-rotated.jpg"], exif=exif, quality=92)
    Image.fromarray(np.full((300, 400), 230, np.uint8)).save(paths["blank-paper.png"])
    return paths
