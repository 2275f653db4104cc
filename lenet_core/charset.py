"""Which characters a reading may give: All, Digits, Letters, Upper case, Lower case or a
custom string, as a mask over a model's classes that the probabilities are renormalised on
(like Tesseract's whitelist). One place for the GUI pickers, the CLI's `--charset` and the reader.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# (name, what a user reads) for the pickers; the CLI accepts the names or any string of characters.
NAMED = (("all", "All"), ("digits", "Digits"), ("letters", "Letters"), ("upper", "Upper case"), ("lower", "Lower case"))


class CharsetError(ValueError):
    """A character set no class of the model fits (empty, or only characters it cannot read)."""


def _merged(char: str, classes: Sequence[str]) -> bool:
    """A letter class that stands for both cases (EMNIST Balanced merges c/C, o/O, s/S...)."""
    return char.isalpha() and char.swapcase() not in classes


def mask(spec: str | None, classes: Sequence[str]) -> np.ndarray | None:
    """The classes `spec` allows (bool per class), or None when every class is allowed.

    A named set ("digits", "letters", "upper", "lower", "all") or a custom string of characters;
    a custom character whose case the model merges matches the merged class ("c" → "C").
    Raises CharsetError when nothing of the model is left.
    """
    if spec is None or spec.strip().lower() in ("", "all"):
        return None
    name = spec.strip().lower()
    if name == "digits":
        allowed = [c.isdigit() for c in classes]
    elif name == "letters":
        allowed = [c.isalpha() for c in classes]
    elif name in ("upper", "uppercase", "upper case"):
        allowed = [c.isalpha() and (c.isupper() or _merged(c, classes)) for c in classes]
    elif name in ("lower", "lowercase", "lower case"):
        allowed = [c.isalpha() and (c.islower() or _merged(c, classes)) for c in classes]
    else:
        wanted = set(spec.replace(" ", ""))
        allowed = [c in wanted or (c.swapcase() in wanted and _merged(c, classes)) for c in classes]
        missing = sorted(char for char in wanted if char not in classes and char.swapcase() not in classes)
        if not any(allowed):
            raise CharsetError(f"the character set {spec!r} has no character the model knows"
                               f"{' (' + ''.join(missing) + ')' if missing else ''}")
    allowed = np.array(allowed, bool)
    if not allowed.any():
        raise CharsetError(f"the model has no class in the character set {spec!r}")
    if allowed.all():
        return None
    return allowed


def apply(probabilities: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Probabilities (one row or N×classes) with the disallowed classes at zero, renormalised.

    Where the network gave the allowed classes no mass at all, they share it equally.
    """
    if allowed is None:
        return probabilities
    masked = np.where(allowed, probabilities, 0.0).astype(np.float32)
    total = masked.sum(axis=-1, keepdims=True)
    even = np.where(allowed, 1.0 / allowed.sum(), 0.0).astype(np.float32)
    return np.where(total > 1e-12, masked / np.maximum(total, 1e-12), even)
