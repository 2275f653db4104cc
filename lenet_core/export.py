"""Taking a model out of the app: its network as a Keras `.keras` file or a LiteRT `.tflite`
file, with `labels.json` (output index → character) and a short model card (`README.md`)
saying what it reads and how to call it. Copied from the bundle: no TensorFlow needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from lenet_core import bundle, preprocess
from lenet_core.paths import atomic_write

Format = Literal["keras", "tflite"]
FORMATS: tuple[str, ...] = ("keras", "tflite")
NETWORK_FILE = {"keras": "model.keras", "tflite": "model.tflite"}
LABELS_FILE, CARD_FILE = "labels.json", "README.md"


class ExportError(ValueError):
    """The model cannot be exported as asked; the message says why."""


def model_card(model: bundle.ModelBundle, fmt: Format) -> str:
    """The README.md that travels with an exported model."""
    meta = model.meta
    classes = model.classes
    accuracy = f"{model.accuracy:.2%} on the test part of {meta.get('dataset', {}).get('split') or meta.get('dataset', {}).get('name', '?')}" if model.accuracy is not None else "not measured"
    base = meta.get("base", {}).get("name")
    origin = f"fine-tuned from {base} on the user's own samples" if base else f"trained on {meta.get('dataset', {}).get('name', '?')}"
    network = NETWORK_FILE[fmt]
    if fmt == "keras":
        how = f"""```python
import json, numpy as np, keras   # TensorFlow 2.16+ / Keras 3
model = keras.saving.load_model("{network}", compile=False)
labels = json.load(open("{LABELS_FILE}"))["classes"]
image = np.zeros((1, 28, 28, 1), np.float32)   # your 28×28 character, white ink on black, 0–1
probabilities = model.predict(image, verbose=0)[0]
print(labels[int(probabilities.argmax())])
```"""
    else:
        how = f"""```python
import json, numpy as np
from ai_edge_litert.interpreter import Interpreter   # pip install ai-edge-litert (or tf.lite.Interpreter)
interpreter = Interpreter(model_path="{network}")
interpreter.allocate_tensors()
inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
labels = json.load(open("{LABELS_FILE}"))["classes"]
image = np.zeros((1, 28, 28, 1), np.float32)   # your 28×28 character, white ink on black, 0–1
interpreter.set_tensor(inp["index"], image)
interpreter.invoke()
print(labels[int(interpreter.get_tensor(out["index"])[0].argmax())])
```"""
    return f"""# {model.name}

A handwritten-character recognizer exported from LeNet Studio ({model.architecture}, {meta.get('parameters', '?'):,} parameters),
{origin}. Test accuracy: {accuracy}.

## Classes ({len(classes)})

`{' '.join(classes)}` — output index *i* is `labels.json["classes"][i]`.

## Input

- shape `(batch, 28, 28, 1)`, `float32`, values 0–1;
- **white ink on a black background**, the character upright (not transposed), centred by its
  ink box in the 28×28 square with about 2 pixels of empty border, as EMNIST is;
- LeNet Studio's own preprocessing (version {preprocess.PREPROCESSING_VERSION}) crops to the ink,
  centres it and resamples to 28×28; feed the network images made the same way.

## Output

`(batch, {len(classes)})` softmax probabilities, one per class.

## How to call it

{how}
"""


def export_model(model_name: str | Path, fmt: str, out: Path | str) -> list[Path]:
    """Write the network, labels.json and README.md into the folder `out`; returns the files."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (choose {' or '.join(FORMATS)})")
    model = bundle.resolve(model_name) if not isinstance(model_name, bundle.ModelBundle) else model_name
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a folder (the export writes a folder of files)")
    if out.is_dir() and any(out.iterdir()) and not (out / LABELS_FILE).exists():
        raise ExportError(f"{out}: the folder is not empty; choose a new or empty one")
    try:
        network = model.keras_bytes() if fmt == "keras" else model.tflite_bytes()
    except bundle.BundleError as error:
        raise ExportError(str(error)) from None
    labels = {"model": model.name, "classes": list(model.classes),
              "input": {"shape": [1, 28, 28, 1], "dtype": "float32", "range": [0, 1], "ink": "white on black"}}
    written = []
    for name, payload in ((NETWORK_FILE[fmt], network),
                          (LABELS_FILE, json.dumps(labels, indent=2, ensure_ascii=False).encode("utf-8")),
                          (CARD_FILE, model_card(model, fmt).encode("utf-8"))):
        target = out / name
        with atomic_write(target) as handle:
            handle.write(payload)
        written.append(target)
    return written
