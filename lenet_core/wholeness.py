"""Is a candidate one whole character? A small network judges each candidate in its line.

The reader (`lenet_core.reader`) proposes more cuts and merges than a line has characters, and
the character network alone cannot tell a whole "H" from the "1" of its left half, or an "M"
from "1V": both read as confident characters. LeCun et al. (1998) trained a "garbage" class for
that. Here a separate small network looks at each candidate as it lies in its line: one channel
is the candidate's own ink, the other all the ink around it (what it was cut from, and its
neighbours), both scaled so the line's character height is `HEIGHT` pixels. Its logit is one
feature of the reader's whole-character model (`reader.FEATURES`).

The network is trained by `tools/train_whole_character.py` on synthetic lines of the dev
writers and of EMNIST training images, and shipped as `resources/reader/whole-character.tflite`.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from lenet_core.paths import resource_path

WINDOW = (32, 64)  # rows, columns: 1.6 × 3.2 line heights around the candidate's centre
HEIGHT = 20.0  # the line's character height in window pixels
NETWORK_FILE = ("reader", "whole-character.tflite")


def windows(cleaned: np.ndarray, graph, found) -> np.ndarray:
    """N×rows×columns×2 float32 in [0, 1]: for each candidate of a line (`reader.candidates`), its
    own ink and all the cleaned image's ink, centred on the candidate horizontally and on the
    line's middle vertically, scaled so the line height (`graph.height`) is HEIGHT pixels."""
    rows, columns = WINDOW
    out = np.zeros((len(found), rows, columns, 2), np.float32)
    if not len(found):
        return out
    height = max(float(graph.height), 1.0)
    tall = [atom.box for atom in graph.atoms if atom.box[3] >= 0.5 * height] or [atom.box for atom in graph.atoms]
    middle = float(np.median([y + h / 2 for _, y, _, h in tall]))
    scale = HEIGHT / height
    # only the line's band of the image (a page has many lines), as float in [0, 1]
    band = max(0, int(middle - rows / 2 / scale) - 2), min(cleaned.shape[0], int(middle + rows / 2 / scale) + 3)
    image = np.asarray(cleaned[band[0] : band[1]], np.float32)
    if image.size and np.asarray(cleaned).dtype == np.uint8:
        image = image / 255.0
    middle -= band[0]
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    for index, candidate in enumerate(found):
        x, y, w, _ = candidate.box
        left = columns / 2 - (x + w / 2) * scale
        top = rows / 2 - middle * scale
        line = np.array([[scale, 0, left], [0, scale, top]], np.float32)
        out[index, :, :, 1] = cv2.warpAffine(image, line, (columns, rows), flags=interpolation)
        own = np.array([[scale, 0, left + x * scale], [0, scale, top + (y - band[0]) * scale]], np.float32)
        out[index, :, :, 0] = cv2.warpAffine(np.asarray(candidate.ink, np.float32), own, (columns, rows), flags=interpolation)
    return out


class Judge:
    """The whole-character network on LiteRT: windows → one logit each (> 0: likely whole)."""

    def __init__(self, network: bytes):
        from lenet_core.inference import LiteNetwork

        self._network = LiteNetwork(network)
        if self._network.input_shape != (*WINDOW, 2):
            raise ValueError(f"the whole-character network takes {self._network.input_shape}, not {(*WINDOW, 2)}")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if not len(batch):
            return np.zeros(0, np.float32)
        logits = self._network(batch).reshape(len(batch))
        return np.nan_to_num(logits, nan=0.0, posinf=20.0, neginf=-20.0)


class NetworkMissing(ValueError):
    """The shipped whole-character network cannot be read: a damaged installation."""


@lru_cache(maxsize=1)
def shipped() -> Judge:
    """The shipped network (loaded once)."""
    path = resource_path(*NETWORK_FILE)
    try:
        return Judge(path.read_bytes())
    except (OSError, ValueError, RuntimeError) as error:
        reason = "is missing" if isinstance(error, FileNotFoundError) else f"cannot be loaded ({error})"
        raise NetworkMissing(f"the reader's whole-character network {path} {reason}; reinstall LeNet Studio") from None
