"""Standard streams for windowed builds: a Windows or macOS bundle built without a console
starts with `sys.stdout` and `sys.stderr` set to None, and any print (ours, Keras's, absl's)
would raise. Missing streams become a writer that discards; the log file keeps the record.
"""

from __future__ import annotations

import os
import sys


def ensure_standard_streams() -> list[str]:
    """Replace missing `sys.stdout`/`sys.stderr` (and their `__x__` originals) with devnull.

    Returns the names replaced, so the caller can note it in the log.
    """
    replaced = []
    for name in ("stdout", "stderr", "__stdout__", "__stderr__"):
        if getattr(sys, name, None) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # open for the process lifetime
            replaced.append(name)
    return replaced
