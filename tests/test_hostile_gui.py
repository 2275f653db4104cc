"""Hostile files through the real window: the Photo page says in its message line what a file
really is, starts no other program, keeps the photo on screen, and its Open dialog offers
exactly the formats that are decoded."""

from __future__ import annotations

import subprocess

import cv2
import pytest
from bad_images import seven_on_paper
from hostile_files import png_header_only

from lenet_core import formats

HOSTILE = {
    "photo.png": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{} loop\n", "is a PostScript file, which this program does not open"),
    "scan.jpg": (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32767 +X 32767\n" + bytes(64), "is a Radiance HDR image"),
    "icon.png": (b"\x00\x00\x01\x00\x01\x00" + bytes(16) + png_header_only(60000, 60000), "is a Windows icon (ICO) file"),
    "huge.png": (png_header_only(60000, 60000), "60000×60000 pixels"),
}


@pytest.fixture
def page(photo_page):
    return photo_page


def test_hostile_files_are_named_for_what_they_are_in_the_page(qtbot, main_window, page, tmp_path, monkeypatch):
    good = tmp_path / "seven.png"
    cv2.imwrite(str(good), seven_on_paper())
    with qtbot.waitSignal(page.reading_shown, timeout=10000):
        main_window.open_image(str(good))
    qtbot.waitUntil(lambda: page.reading is not None and page.reading.text == "7", timeout=10000)
    started = []

    def no_process(*args, **kwargs):
        started.append(args)
        raise OSError("no process may be started while a file is opened")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    for name, (data, words) in HOSTILE.items():
        path = tmp_path / name
        path.write_bytes(data)
        with qtbot.waitSignal(page.message_shown, timeout=10000, check_params_cb=bool) as told:
            main_window.open_image(str(path))
        assert words in told.args[0] and name in told.args[0] and "\n" not in told.args[0]
        assert page.message.isVisible() and page.message.text() == told.args[0]
    with qtbot.waitSignal(page.message_shown, timeout=10000, check_params_cb=bool) as pasted:
        page.open_bytes(HOSTILE["photo.png"][0])
    assert "pasted image: is a PostScript file" in pasted.args[0]
    assert started == []
    assert page.reading.text == "7"  # the photo on screen stays


def test_the_open_dialog_offers_exactly_the_decoded_formats(qtbot, main_window, page, monkeypatch):
    asked = []

    def fake_dialog(parent, title, folder, filters):
        asked.append(filters)
        return "", ""

    monkeypatch.setattr("app.pages.photo.QFileDialog.getOpenFileName", fake_dialog)
    page.open_dialog()
    offered = asked[0].split(";;")[0]
    assert asked[0] == formats.dialog_filter()
    for suffix in (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"):
        assert f"*{suffix}" in offered.split("(")[1].rstrip(")").split()
    for other in (".eps", ".ps", ".pdf", ".hdr", ".pam", ".pfm", ".ico", ".exr", ".svg"):
        assert f"*{other}" not in offered
