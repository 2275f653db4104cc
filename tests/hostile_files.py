"""Hostile input, generated: files a user might open that lie about their type or size, bombs,
damaged archives and model files, each with the outcome it must have.

Every case is `Case(id, build, expect)`: `build(folder)` writes the file(s) and returns the
path to open; `expect` is `Refused(phrases)` — a clean one-line refusal holding one of the
phrases — or `Reads(check)` — a correct read, `check(result)` true. No blobs are checked in.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Refused:
    phrases: tuple[str, ...]

    def __init__(self, *phrases: str):
        object.__setattr__(self, "phrases", phrases)


@dataclass(frozen=True)
class Reads:
    check: Callable[[object], bool]
    what: str = ""


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]
    expect: Refused | Reads


def _writer(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data() if callable(data) else data)
        return path

    return build


# --- images ---------------------------------------------------------------------------------


def page(height: int = 60, width: int = 50) -> np.ndarray:
    """A small gray page with a dark bar: something to decode and compare."""
    pixels = np.full((height, width), 230, np.uint8)
    pixels[10:50, 20:28] = 20
    return pixels


def encode(fmt: str, pixels: np.ndarray, **options) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, **options)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int, colour: int = 6, depth: int = 8) -> bytes:
    """A PNG whose header declares width×height and whose data is one tiny compressed block."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")


def jpeg_header_only(width: int, height: int) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof + b"\xff\xd9"


def gif_header_only(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00;"


def bmp_header_only(width: int, height: int) -> bytes:
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + header + b"\0" * 64


def tiff_header_only(width: int, height: int) -> bytes:
    tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (279, 4, 1, 1)]
    body = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag) for tag in tags) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8 + 0) + body + b"\0" * 16


def webp_header_only(width: int, height: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def pnm_header_only(kind: bytes, width: int, height: int) -> bytes:
    return kind + b"\n# made to lie\n" + f"{width} {height}\n".encode() + (b"255\n" if kind not in (b"P1", b"P4") else b"") + b"\0" * 64


SCALE_DOWN = ("scale it down",)

# content that is not on the allow-list: (id, bytes, the words of the refusal)
DISALLOWED: list[tuple[str, bytes, str]] = [
    ("eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n/Helvetica findfont 72 scalefont setfont 10 10 moveto (1) show showpage\n", "PostScript file"),
    ("eps-loop", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{} loop\n", "PostScript file"),
    ("eps-error", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nthis is an error\n", "PostScript file"),
    ("eps-dos", b"\xc5\xd0\xd3\xc6" + b"\x1e\x00\x00\x00" + b"\0" * 22 + b"%!PS-Adobe-3.0 EPSF-3.0\n", "PostScript (EPS) file"),
    ("pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", "PDF document"),
    ("hdr-huge", b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32767 +X 32767\n" + b"\x02\x02\x7f\xff" * 16, "Radiance HDR image"),
    ("hdr-rgbe", b"#?RGBE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n" + b"\x80" * 16, "Radiance HDR image"),
    ("pam-huge", b"P7\nWIDTH 30000\nHEIGHT 30000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n" + b"\0" * 64, "PAM image"),
    ("pfm-huge", b"PF\n30000 30000\n-1.0\n" + b"\0" * 64, "PFM (floating-point) image"),
    ("pfm-gray", b"Pf\n2 2\n-1.0\n" + b"\0" * 16, "PFM (floating-point) image"),
    ("exr", b"v/1\x01\x02\x00\x00\x00" + b"\0" * 64, "OpenEXR image"),
    ("ico-png", b"\x00\x00\x01\x00\x01\x00" + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, 100, 22) + png_header_only(60000, 60000), "Windows icon (ICO) file"),
    ("cur", b"\x00\x00\x02\x00\x01\x00" + b"\0" * 40, "TGA image or Windows cursor (CUR) file"),
    ("icns", b"icns\x00\x00\x00\x10" + b"\0" * 8, "macOS icon file"),
    ("psd", b"8BPS\x00\x01" + b"\0" * 40, "Photoshop document"),
    ("xcf", b"gimp xcf v011\0" + b"\0" * 40, "GIMP image"),
    ("jp2", b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\0" * 40, "JPEG 2000 image"),
    ("j2k", b"\xff\x4f\xff\x51" + b"\0" * 40, "JPEG 2000 image"),
    ("jxl", b"\xff\x0a" + b"\0" * 40, "JPEG XL image"),
    ("heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 40, "HEIF (HEIC) image"),
    ("avif", b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif" + b"\0" * 40, "AVIF image"),
    ("mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomiso2" + b"\0" * 40, "ISO media"),
    ("bigtiff", b"II+\x00\x08\x00\x00\x00" + b"\0" * 40, "BigTIFF image"),
    ("qoi", b"qoif\x00\x00\x00\x02\x00\x00\x00\x02\x03\x00" + b"\0" * 20, "QOI image"),
    ("dds", b"DDS \x7c\x00\x00\x00" + b"\0" * 120, "DirectDraw texture"),
    ("sun-raster", b"\x59\xa6\x6a\x95" + b"\0" * 40, "Sun raster image"),
    ("fits", b"SIMPLE  =                    T" + b" " * 50, "FITS image"),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>1</text></svg>', "SVG/XML document"),
    ("xml-svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG/XML document"),
    ("html", b"<!DOCTYPE html><html><body><img src=x></body></html>", "HTML page"),
    ("zip", b"PK\x03\x04" + b"\0" * 40, "zip archive"),
    ("gzip", gzip.compress(b"not an image"), "gzip file"),
    ("bzip2", b"BZh91AY&SY" + b"\0" * 20, "bzip2 file"),
    ("xz", b"\xfd7zXZ\x00" + b"\0" * 20, "xz file"),
    ("7z", b"7z\xbc\xaf\x27\x1c" + b"\0" * 20, "7-Zip archive"),
    ("rar", b"Rar!\x1a\x07\x00" + b"\0" * 20, "RAR archive"),
    ("elf", b"\x7fELF\x02\x01\x01" + b"\0" * 60, "program (ELF)"),
    ("exe", b"MZ\x90\x00" + b"\0" * 60, "Windows program"),
    ("script", b"#!/bin/sh\ntouch /tmp/owned\n", "script"),
    ("riff-avi", b"RIFF\x10\x00\x00\x00AVI LIST" + b"\0" * 20, "RIFF file (not WebP)"),
    ("webm", b"\x1aE\xdf\xa3" + b"\0" * 20, "Matroska/WebM video"),
    ("ogg", b"OggS\x00\x02" + b"\0" * 20, "Ogg file"),
    ("mp3", b"ID3\x03\x00" + b"\0" * 20, "MP3 file"),
    ("text", b"shopping list: milk, eggs\n", "not an image file"),
    ("binary-noise", bytes(range(7, 250)) * 3, "not an image file"),
    ("tga", b"\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x10\x00\x18\x00" + b"\0" * 768, "TGA image or Windows cursor (CUR) file"),
    ("pcx-like", b"\x0a\x05\x01\x08" + b"\0" * 124, "not an image file"),
]
DISALLOWED_NAMES = ("photo.png", "scan.jpg", "page.tif", "upload", "x.eps")


def image_cases() -> list[Case]:
    cases: list[Case] = []
    for key, data, words in DISALLOWED:
        for name in DISALLOWED_NAMES:
            expect = Refused(f"is a {words}", f"is an {words}") if words != "not an image file" else Refused("is not an image file")
            cases.append(Case(f"{key}-as-{name}", _writer(f"{key}/{name}", data), expect))

    # allowed formats whose header declares an image far too big to decode
    liars = [
        ("png-60000sq", png_header_only(60000, 60000)),
        ("png-10000sq-rgba", png_header_only(10000, 10000)),
        ("png-1x4e9", png_header_only(1, 2**31 - 1)),
        ("png-16bit-9000sq", png_header_only(9000, 9000, colour=2, depth=16)),
        ("jpeg-65500sq", jpeg_header_only(65500, 65500)),
        ("jpeg-65535x65535", jpeg_header_only(65535, 65535)),
        ("gif-65535sq", gif_header_only(65535, 65535)),
        ("bmp-60000sq", bmp_header_only(60000, 60000)),
        ("bmp-topdown-60000sq", bmp_header_only(60000, -60000)),
        ("tiff-60000sq", tiff_header_only(60000, 60000)),
        ("webp-16Msq", webp_header_only(1 << 24, 1 << 24)),
        ("webp-10000sq", webp_header_only(10000, 10000)),
        ("pgm-30000sq", pnm_header_only(b"P5", 30000, 30000)),
        ("ppm-30000sq", pnm_header_only(b"P6", 30000, 30000)),
        ("pbm-90000sq", pnm_header_only(b"P4", 90000, 90000)),
        ("pgm-ascii-30000sq", pnm_header_only(b"P2", 30000, 30000)),
    ]
    for key, data in liars:
        for name in ("liar.png", "liar"):
            cases.append(Case(f"{key}-as-{name}", _writer(f"{key}/{name}", data), Refused(*SCALE_DOWN)))

    # broken headers of allowed formats
    broken = [
        ("png-no-ihdr", b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"a\0b") + b"\0" * 20, "broken PNG header"),
        ("png-zero-width", png_header_only(0, 10), "declares an empty"),
        ("png-short", b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", "broken PNG header"),
        ("jpeg-no-frame", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9", "broken JPEG header"),
        ("jpeg-bad-length", b"\xff\xd8\xff\xe0\x00\x01", "broken JPEG header"),
        ("jpeg-zero-size", jpeg_header_only(0, 0), "declares an empty"),
        ("gif-short", b"GIF89a\x10\x00", "broken GIF header"),
        ("gif-zero", gif_header_only(0, 5), "declares an empty"),
        ("bmp-zero", bmp_header_only(0, 10), "declares an empty"),
        ("tiff-no-size", b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00", "broken TIFF header"),
        ("tiff-offset-outside", b"II*\x00\xff\xff\xff\x7f", "broken TIFF header"),
        ("tiff-many-tags", b"MM\x00*\x00\x00\x00\x08\xff\xff" + b"\0" * 30, "broken TIFF header"),
        ("webp-bad-vp8", b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\0" * 20, "broken WebP header"),
        ("webp-bad-vp8l", b"RIFF\x20\x00\x00\x00WEBPVP8L" + b"\0" * 20, "broken WebP header"),
        ("webp-unknown-chunk", b"RIFF\x20\x00\x00\x00WEBPABCD" + b"\0" * 20, "broken WebP header"),
        ("pnm-words", b"P5\nwide high\n255\n" + b"\0" * 10, "broken PNM header"),
        ("pnm-endless-comment", b"P5\n#" + b"x" * 2000, "broken PNM header"),
        ("pnm-huge-number", b"P5\n99999999999999 1\n255\n", "broken PNM header"),
    ]
    for key, data, words in broken:
        cases.append(Case(f"broken-{key}", _writer(f"broken/{key}.png", data), Refused(words)))

    # valid images in every allowed format, named right and named wrong: read correctly
    gray = page()
    rgb = np.dstack([gray, gray // 2, 255 - gray])
    good: list[tuple[str, str, bytes, tuple[int, ...]]] = [
        ("png-gray", ".png", encode("PNG", gray), (60, 50)),
        ("png-rgb", ".png", encode("PNG", rgb), (60, 50, 3)),
        ("png-rgba", ".png", encode("PNG", np.dstack([rgb, np.full_like(gray, 255)])), (60, 50, 4)),
        ("png-16bit", ".png", encode("PNG", gray.astype(np.uint16) * 257), (60, 50)),
        ("png-palette", ".png", _palette_png(gray), (60, 50, 3)),
        ("png-rgb16", ".png", _rgb16_png(rgb), (60, 50, 3)),
        ("jpeg-gray", ".jpg", encode("JPEG", gray, quality=95), (60, 50)),
        ("jpeg-rgb", ".jpg", encode("JPEG", rgb, quality=95), (60, 50, 3)),
        ("bmp-rgb", ".bmp", encode("BMP", rgb), (60, 50, 3)),
        ("bmp-gray", ".bmp", encode("BMP", gray), (60, 50)),
        ("gif", ".gif", encode("GIF", gray), (60, 50, 3)),
        ("gif-animated", ".gif", _animated_gif(gray), (60, 50, 3)),
        ("tiff", ".tif", encode("TIFF", gray), (60, 50)),
        ("tiff-lzw", ".tif", encode("TIFF", rgb, compression="tiff_lzw"), (60, 50, 3)),
        ("tiff-deflate", ".tif", encode("TIFF", gray, compression="tiff_adobe_deflate"), (60, 50)),
        ("tiff-16bit", ".tif", encode("TIFF", gray.astype(np.uint16) * 257), (60, 50)),
        ("tiff-float", ".tif", encode("TIFF", gray.astype(np.float32) / 255), (60, 50)),
        ("webp-lossless", ".webp", encode("WEBP", rgb, lossless=True), (60, 50, 3)),
        ("webp-lossy", ".webp", encode("WEBP", rgb, quality=90), (60, 50, 3)),
        ("pgm", ".pgm", encode("PPM", gray), (60, 50)),
        ("ppm", ".ppm", encode("PPM", rgb), (60, 50, 3)),
        ("pbm", ".pbm", _bilevel_pbm(gray), (60, 50)),
        ("pgm-ascii", ".pgm", b"P2\n# ascii\n3 2\n255\n0 128 255\n255 128 0\n", (2, 3)),
        ("pbm-ascii", ".pbm", b"P1\n3 2\n0 1 0\n1 0 1\n", (2, 3)),
    ]
    for key, suffix, data, shape in good:
        for name in (f"ok{suffix}", "misnamed.jpg" if suffix != ".jpg" else "misnamed.png", "noext"):
            cases.append(Case(f"good-{key}-as-{name}", _writer(f"good/{key}/{name}", data), Reads(_shape_is(shape), f"shape {shape}")))

    # truncations of valid files: refused as truncated or damaged, never a crash
    for key, suffix, data, _ in [entry for entry in good[:13] if entry[0] != "gif-animated"]:
        for cut in (0.25, 0.5, 0.75):
            size = max(30, int(len(data) * cut))
            cases.append(Case(f"truncated-{key}-{int(cut * 100)}", _writer(f"cut/{key}-{cut}{suffix}", data[:size]),
                              Refused("truncated", "cannot be decoded", "damaged or unsupported", "broken")))
    return cases


def _shape_is(shape: tuple[int, ...]) -> Callable[[object], bool]:
    return lambda array: isinstance(array, np.ndarray) and array.shape == shape


def _rgb16_png(rgb: np.ndarray) -> bytes:
    """16 bits per channel: decoded by OpenCV, since Pillow would cut it to 8."""
    import cv2

    ok, encoded = cv2.imencode(".png", rgb.astype(np.uint16) * 257)
    assert ok
    return encoded.tobytes()


def _bilevel_pbm(gray: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(gray).convert("1").save(out, format="PPM")
    assert out.getvalue().startswith(b"P4")
    return out.getvalue()


def _palette_png(gray: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.dstack([gray] * 3)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(out, format="PNG")
    return out.getvalue()


def _animated_gif(gray: np.ndarray) -> bytes:
    out = io.BytesIO()
    frames = [Image.fromarray(gray), Image.fromarray(255 - gray)]
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


# --- data sets ------------------------------------------------------------------------------


def idx_images(count: int, records: int | None = None, side: tuple[int, int] = (28, 28)) -> bytes:
    records = count if records is None else records
    return struct.pack(">IIII", 2051, count, *side) + bytes(records * side[0] * side[1])


def idx_labels(count: int, values: list[int] | None = None) -> bytes:
    values = values if values is not None else [i % 10 for i in range(count)]
    return struct.pack(">II", 2049, count) + bytes(values)


def digits_images(count: int) -> np.ndarray:
    """Distinct 28×28 records: record i has pixel i lit."""
    images = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        images[index].flat[index % 784] = 200
    return images


def write_idx_split(folder: Path, split: str, count: int = 10, mapping: str | None = None, gz: bool = True,
                    images: bytes | None = None, labels: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    image_bytes = images if images is not None else struct.pack(">IIII", 2051, count, 28, 28) + digits_images(count).transpose(0, 2, 1).tobytes()
    label_bytes = labels if labels is not None else idx_labels(count)
    for name, payload in ((f"emnist-{split}-train-images-idx3-ubyte{suffix}", image_bytes), (f"emnist-{split}-train-labels-idx1-ubyte{suffix}", label_bytes)):
        (folder / name).write_bytes(gzip.compress(payload, 1) if gz else payload)
    if mapping is not None:
        (folder / f"emnist-{split}-mapping.txt").write_text(mapping, encoding="latin-1")
    return folder


def gzip_bomb(header: bytes, expanded_bytes: int) -> bytes:
    """A gzip stream of `header` and then `expanded_bytes` zeros, made without holding them."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as stream:
        stream.write(header)
        block = bytes(1 << 20)
        for _ in range(expanded_bytes >> 20):
            stream.write(block)
    return out.getvalue()


def patch_zip(data: bytes, member: str, *, flag_bits: int | None = None, method: int | None = None, file_size: int | None = None) -> bytes:
    """Rewrite a member's headers in place (local and central): flags, method, declared size."""
    raw = bytearray(data)
    name = member.encode()
    position = 0
    while True:
        local = raw.find(b"PK\x03\x04", position)
        if local < 0:
            break
        name_length = struct.unpack_from("<H", raw, local + 26)[0]
        if bytes(raw[local + 30 : local + 30 + name_length]) == name:
            if flag_bits is not None:
                struct.pack_into("<H", raw, local + 6, flag_bits)
            if method is not None:
                struct.pack_into("<H", raw, local + 8, method)
            if file_size is not None:
                struct.pack_into("<I", raw, local + 22, file_size)
        position = local + 4
    position = 0
    while True:
        central = raw.find(b"PK\x01\x02", position)
        if central < 0:
            break
        name_length = struct.unpack_from("<H", raw, central + 28)[0]
        if bytes(raw[central + 46 : central + 46 + name_length]) == name:
            if flag_bits is not None:
                struct.pack_into("<H", raw, central + 8, flag_bits)
            if method is not None:
                struct.pack_into("<H", raw, central + 10, method)
            if file_size is not None:
                struct.pack_into("<I", raw, central + 24, file_size)
        position = central + 4
    return bytes(raw)


def zip_of(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, payload in files.items():
            archive.writestr(name, payload)
    return out.getvalue()


def idx_zip_files(split: str = "digits", count: int = 10, prefix: str = "gzip/") -> dict[str, bytes]:
    images = struct.pack(">IIII", 2051, count, 28, 28) + digits_images(count).transpose(0, 2, 1).tobytes()
    return {
        f"{prefix}emnist-{split}-train-images-idx3-ubyte.gz": gzip.compress(images, 1),
        f"{prefix}emnist-{split}-train-labels-idx1-ubyte.gz": gzip.compress(idx_labels(count), 1),
    }


def bundle_bytes(meta_text: bytes | str, tflite: bytes = b"tflite", compression: int = zipfile.ZIP_DEFLATED, extra: dict | None = None) -> bytes:
    meta = meta_text.encode() if isinstance(meta_text, str) else meta_text
    return zip_of({"meta.json": meta, "model.tflite": tflite, **(extra or {})}, compression)


def meta(**changes) -> str:
    base = {"format_version": 1, "name": "hostile", "architecture": "lenet5", "classes": list("0123456789"), "metrics": {"accuracy": 0.9}}
    base.update(changes)
    for key in [key for key, value in changes.items() if value is _DROP]:
        del base[key]
    return json.dumps(base)


_DROP = object()
