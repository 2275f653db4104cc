"""Add the layer view (issue 15) to model bundles, from the Keras model each already holds
(no retraining); every other member is kept byte for byte, and running it again is safe.

    .venv/bin/python tools/reexport_bundles.py                 # the shipped resources/models/*.lenet
    .venv/bin/python tools/reexport_bundles.py my.lenet ...    # given bundles

Needs TensorFlow. Prints one line per bundle; exits 1 if any failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    from lenet_core import bundle
    from lenet_core.network_export import add_activations

    paths = [Path(arg) for arg in argv] or sorted(bundle.shipped_models_dir().glob(f"*{bundle.SUFFIX}"))
    failed = 0
    for path in paths:
        try:
            add_activations(path)
            members = bundle.read_bundle(path).activations_members()
            print(f"{path}: layer view added ({len(members[1]['layers'])} layers)")
        except (bundle.BundleError, ValueError, OSError) as error:
            print(f"{path}: not re-exported: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
