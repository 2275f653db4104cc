"""Which image files this program decodes, told by their content, never by their name.

The allow-list is what people photograph or scan handwriting into: PNG (first frame of an
APNG), JPEG, BMP, GIF (first frame), TIFF, WebP and the PNM family (PBM/PGM/PPM, P1–P6).
Everything else — PostScript/EPS and PDF (Pillow would start Ghostscript for them), Radiance
HDR, PAM, PFM, OpenEXR, ICO, JPEG 2000, HEIF/AVIF, SVG, archives, programs — is refused with
one line naming what the file really is, whatever it is called.

`sniff` reads the first bytes; `declared_size` reads the width and height a header declares,
so a 60,000×60,000 image is refused before any decoder allocates memory for it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

MAX_FILE_BYTES = 256 * 1024 * 1024  # an image file above this is not a photo of handwriting
MAX_DECODED_PIXELS = 50_000_000  # a full decode above this needs gigabytes (JPEG is reduced while decoding)
HEAD_BYTES = 64


@dataclass(frozen=True)
class ImageFormat:
    key: str  # our name
    title: str  # said to the user
    pillow: str  # Pillow's plugin name, passed as `formats=`
    suffixes: tuple[str, ...]


ALLOWED: dict[str, ImageFormat] = {
    fmt.key: fmt
    for fmt in (
        ImageFormat("png", "PNG", "PNG", (".png",)),
        ImageFormat("jpeg", "JPEG", "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif")),
        ImageFormat("bmp", "BMP", "BMP", (".bmp", ".dib")),
        ImageFormat("gif", "GIF", "GIF", (".gif",)),
        ImageFormat("tiff", "TIFF", "TIFF", (".tif", ".tiff")),
        ImageFormat("webp", "WebP", "WEBP", (".webp",)),
        ImageFormat("pnm", "PNM", "PPM", (".pbm", ".pgm", ".ppm", ".pnm")),
    )
}
IMAGE_SUFFIXES = frozenset(suffix for fmt in ALLOWED.values() for suffix in fmt.suffixes)
FORMAT_NAMES = "PNG, JPEG, BMP, GIF, TIFF, WebP, PBM/PGM/PPM"


def dialog_filter() -> str:
    """The file-dialog filter for exactly the allowed formats."""
    patterns = " ".join(f"*{suffix}" for suffix in sorted(IMAGE_SUFFIXES))
    return f"Images ({patterns});;All files (*)"


# Content that is not on the allow-list, told by its first bytes: (prefix, what it is).
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"%!PS", "a PostScript file"),
    (b"\xc5\xd0\xd3\xc6", "a PostScript (EPS) file"),
    (b"%PDF", "a PDF document"),
    (b"#?RADIANCE", "a Radiance HDR image"),
    (b"#?RGBE", "a Radiance HDR image"),
    (b"P7", "a PAM image"),
    (b"PF", "a PFM (floating-point) image"),
    (b"Pf", "a PFM (floating-point) image"),
    (b"v/1\x01", "an OpenEXR image"),
    (b"\x00\x00\x01\x00", "a Windows icon (ICO) file"),
    (b"\x00\x00\x02\x00", "a TGA image or Windows cursor (CUR) file"),
    (b"icns", "a macOS icon file"),
    (b"8BPS", "a Photoshop document"),
    (b"gimp xcf", "a GIMP image"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"II+\x00", "a BigTIFF image"),
    (b"MM\x00+", "a BigTIFF image"),
    (b"qoif", "a QOI image"),
    (b"DDS ", "a DirectDraw texture"),
    (b"\x59\xa6\x6a\x95", "a Sun raster image"),
    (b"SIMPLE  =", "a FITS image"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "a gzip file"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program (ELF)"),
    (b"MZ", "a Windows program"),
    (b"#!", "a script"),
    (b"\x00\x00\x00\x1cftyp", "an ISO media (HEIF/AVIF/MP4) file"),
    (b"\x1aE\xdf\xa3", "a Matroska/WebM video"),
    (b"OggS", "an Ogg file"),
    (b"ID3", "an MP3 file"),
)


class FormatError(ValueError):
    """The content is not an allowed image, or its header is broken or too large."""


def sniff(head: bytes) -> str | None:
    """The allowed format `head` starts with (a key of ALLOWED), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3] in b" \t\r\n#":
        return "pnm"
    return None


def describe_other(head: bytes) -> str | None:
    """What a file that is not an allowed image is, when its first bytes say so."""
    for prefix, title in _KNOWN_OTHERS:
        if head.startswith(prefix):
            return title
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc"):
            return "a HEIF (HEIC) image"
        if brand in (b"avif", b"avis"):
            return "an AVIF image"
        return "an ISO media (MP4/MOV) file"
    if head[:4] == b"RIFF":
        return "a RIFF file (not WebP)"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:5].lower() in (b"<?xml", b"<svg ", b"<svg>") or stripped[:4].lower() == b"<svg":
        return "an SVG/XML document"
    if stripped[:5].lower() in (b"<!doc", b"<html"):
        return "an HTML page"
    return None


def refusal(head: bytes) -> str:
    """The one-line reason a file whose content is not allowed is refused."""
    other = describe_other(head)
    if other:
        return f"is {other}, which this program does not open (it opens {FORMAT_NAMES})"
    return f"is not an image file this program can read (it opens {FORMAT_NAMES})"


# --- declared sizes ---------------------------------------------------------------------------


def declared_size(stream: BinaryIO, kind: str) -> tuple[int, int]:
    """(width, height) the header of an allowed image declares; FormatError when it is broken."""
    stream.seek(0)
    reader = {
        "png": _png_size, "jpeg": _jpeg_size, "gif": _gif_size, "bmp": _bmp_size,
        "tiff": _tiff_size, "webp": _webp_size, "pnm": _pnm_size,
    }[kind]
    try:
        width, height = reader(stream)
    except (struct.error, IndexError, ValueError) as error:
        raise FormatError(f"has a broken {ALLOWED[kind].title} header ({error})") from None
    if width <= 0 or height <= 0:
        raise FormatError(f"declares an empty {width}×{height} image")
    return width, height


def check_pixels(width: int, height: int, limit: int = MAX_DECODED_PIXELS, jpeg: bool = False) -> None:
    if width * height > limit:
        how = "" if jpeg else f"; images above {limit / 1e6:.0f} MP can only be opened as JPEG"
        raise FormatError(f"is {width}×{height} pixels ({width * height / 1e6:.0f} MP){how} — scale it down first")


def _exact(stream: BinaryIO, count: int) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise ValueError("it ends early")
    return data


def _png_size(stream: BinaryIO) -> tuple[int, int]:
    head = _exact(stream, 24)
    if head[12:16] != b"IHDR":
        raise ValueError("no IHDR chunk first")
    return struct.unpack(">II", head[16:24])


def _gif_size(stream: BinaryIO) -> tuple[int, int]:
    return struct.unpack("<HH", _exact(stream, 10)[6:10])


def _bmp_size(stream: BinaryIO) -> tuple[int, int]:
    head = _exact(stream, 26)
    header_size = struct.unpack("<I", head[14:18])[0]
    if header_size == 12:
        return struct.unpack("<HH", head[18:22])
    width, height = struct.unpack("<ii", head[18:26])
    return width, abs(height)  # negative height: rows stored top-down


def _webp_size(stream: BinaryIO) -> tuple[int, int]:
    head = _exact(stream, 30)
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
        return width, height
    if chunk == b"VP8L":
        if head[20] != 0x2F:
            raise ValueError("bad VP8L signature")
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        if head[23:26] != b"\x9d\x01\x2a":
            raise ValueError("bad VP8 start code")
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise ValueError(f"unknown WebP chunk {chunk!r}")


def _pnm_size(stream: BinaryIO) -> tuple[int, int]:
    head = stream.read(1024)
    tokens: list[bytes] = []
    position = 2
    while len(tokens) < 2:
        while position < len(head) and head[position : position + 1] in b" \t\r\n":
            position += 1
        if position >= len(head):
            raise ValueError("the header ends early")
        if head[position : position + 1] == b"#":
            end = head.find(b"\n", position)
            if end < 0:
                raise ValueError("the header ends early")
            position = end + 1
            continue
        start = position
        while position < len(head) and head[position : position + 1] not in b" \t\r\n#":
            position += 1
        token = head[start:position]
        if not token.isdigit() or len(token) > 9:
            raise ValueError(f"{token[:12]!r} is not a size")
        tokens.append(token)
    return int(tokens[0]), int(tokens[1])


def _jpeg_size(stream: BinaryIO) -> tuple[int, int]:
    stream.seek(2)
    for _ in range(10_000):  # segments; a real header has a few dozen
        marker = _exact(stream, 2)
        while marker[1] == 0xFF:  # fill bytes
            marker = marker[1:] + _exact(stream, 1)
        if marker[0] != 0xFF:
            raise ValueError("no marker where one belongs")
        code = marker[1]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue  # markers without a length
        if code == 0xD9:
            break
        length = struct.unpack(">H", _exact(stream, 2))[0]
        if length < 2:
            raise ValueError("a segment with a bad length")
        if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
            body = _exact(stream, 5)
            height, width = struct.unpack(">HH", body[1:5])
            return width, height
        stream.seek(length - 2, 1)
    raise ValueError("no frame header")


def _tiff_size(stream: BinaryIO) -> tuple[int, int]:
    order = "<" if _exact(stream, 2) == b"II" else ">"
    stream.seek(4)
    offset = struct.unpack(order + "I", _exact(stream, 4))[0]
    stream.seek(offset)
    count = struct.unpack(order + "H", _exact(stream, 2))[0]
    if count > 4096:
        raise ValueError(f"{count} tags in the first directory")
    values: dict[int, int] = {}
    for _ in range(count):
        tag, kind, n, value = struct.unpack(order + "HHI4s", _exact(stream, 12))
        if tag in (256, 257) and n >= 1:
            if kind == 3:  # SHORT
                values[tag] = struct.unpack(order + "H", value[:2])[0]
            elif kind == 4:  # LONG
                values[tag] = struct.unpack(order + "I", value)[0]
    if 256 not in values or 257 not in values:
        raise ValueError("no width or height tag")
    return values[256], values[257]


def quiet_cv2():
    """OpenCV with its own log lines off (a refusal is our one line) and its decoders bounded."""
    import os

    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # read when cv2 is first imported
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_DECODED_PIXELS))
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2
