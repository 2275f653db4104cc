"""Conversions between numpy images (what lenet_core uses) and Qt images (what widgets show)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(array: np.ndarray) -> QImage:
    """Gray (uint8 or float in [0, 1]), RGB or RGBA numpy image → an independent QImage."""
    image = np.asarray(array)
    if image.size == 0:
        return QImage()
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        else:
            values = image.astype(np.float32)
            if values.max() > 1.0 or values.min() < 0.0:
                low, high = float(values.min()), float(values.max())
                values = (values - low) / (high - low) if high > low else np.zeros_like(values)
            image = np.round(values * 255).astype(np.uint8)
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    if image.ndim == 2:
        qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_Grayscale8)
    elif image.shape[2] == 3:
        qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_RGB888)
    elif image.shape[2] == 4:
        qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_RGBA8888)
    else:
        qimage = QImage(np.ascontiguousarray(image[..., 0]).data, width, height, width, QImage.Format.Format_Grayscale8)
    return qimage.copy()  # own the pixels: the numpy buffer may go away


def to_pixmap(array: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(array))


def from_qimage(image: QImage) -> np.ndarray:
    """A QImage → numpy: gray stays 2-D uint8, everything else becomes RGBA uint8."""
    if image.format() == QImage.Format.Format_Grayscale8:
        width, height = image.width(), image.height()
        buffer = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height)
        return buffer.reshape(height, image.bytesPerLine())[:, :width].copy()
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = converted.width(), converted.height()
    buffer = np.frombuffer(converted.constBits(), np.uint8, count=converted.bytesPerLine() * height)
    return buffer.reshape(height, converted.bytesPerLine())[:, : width * 4].reshape(height, width, 4).copy()
