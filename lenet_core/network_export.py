"""Writing the layer view (issue 15) into model bundles: a Keras model's shown layers become
the outputs of a second LiteRT network (`bundle.ACTIVATIONS_NAME`), described by
`bundle.ACTIVATIONS_META_NAME`. Needs TensorFlow (imported lazily); reading them back does
not (see `network_view`).

Shown layers ("stages"): each convolution, pooling and dense layer, with the batch
normalisation and activation right after it folded in (the stage's output is the last of
them, what the next layer sees); dropout, flatten and the input are not shown. The last
dense layer is the output (the class probabilities).

`add_activations(path)` adds (or replaces) them in an existing bundle from the Keras model
it holds, keeping every other member byte for byte: `tools/reexport_bundles.py` runs it on
the shipped models.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from lenet_core import bundle
from lenet_core.paths import atomic_write

DESCRIPTION_VERSION = 1
_FOLDED = {"BatchNormalization", "Activation", "ReLU", "LeakyReLU"}
_HIDDEN = {"InputLayer", "Dropout", "Flatten", "GaussianNoise", "SpatialDropout2D", "Reshape"}
_KINDS = {"Conv2D": "conv", "MaxPooling2D": "pool", "AveragePooling2D": "pool", "Dense": "dense"}


def _activation_name(layer) -> str:
    name = layer.get_config().get("activation", "linear")
    return name if isinstance(name, str) else getattr(name, "__name__", "custom")


def shown_stages(model) -> list[tuple[Any, dict[str, Any]]]:
    """(the Keras layer whose output is shown, its description) for each stage, in order."""
    stages: list[list] = []
    for layer in model.layers:
        kind_name = type(layer).__name__
        if kind_name in _HIDDEN:
            continue
        if kind_name in _FOLDED and stages:
            stage = stages[-1]
            stage[0] = layer
            stage[2].append("batch norm" if kind_name == "BatchNormalization" else _activation_name(layer))
            continue
        kind = _KINDS.get(kind_name)
        if kind is None:
            raise ValueError(f"the layer view does not know {kind_name} layers ({layer.name})")
        parts: list[str] = []
        if kind == "conv":
            size = "×".join(str(k) for k in layer.get_config()["kernel_size"])
            parts = [f"{layer.get_config()['filters']} filters {size}", _activation_name(layer)]
        elif kind == "pool":
            parts = ["max" if kind_name.startswith("Max") else "average", "×".join(str(k) for k in layer.get_config()["pool_size"])]
        else:
            parts = [_activation_name(layer)]
        stages.append([layer, {"name": layer.name, "kind": kind}, parts])
    if not stages or stages[-1][1]["kind"] != "dense":
        raise ValueError("the model does not end in a dense layer")
    stages[-1][1]["kind"] = "output"
    result = []
    for layer, entry, parts in stages:
        entry["shape"] = [int(s) for s in layer.output.shape[1:]]
        entry["detail"] = ", ".join(p for p in parts if p and p != "linear")
        result.append((layer, entry))
    return result


def _float32(model, architecture: str | None):
    """Mixed-precision models are rebuilt in float32 (LiteRT gets float32 throughout), as
    `training.export_litert` does."""
    import keras

    from lenet_core import models

    if not any(getattr(layer, "dtype_policy", None) and layer.dtype_policy.name != "float32" for layer in model.layers):
        return model
    if architecture is None:
        raise ValueError("a mixed-precision model needs its architecture to be exported")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        plain = models.build(architecture, int(model.output.shape[-1]), jit_compile=False)
    finally:
        keras.config.set_dtype_policy(previous)
    plain.set_weights(model.get_weights())
    return plain


def export_activations(model, architecture: str | None = None) -> tuple[bytes, dict[str, Any]]:
    """The layer-view network (LiteRT bytes) and its description, for `bundle.write_bundle`
    (`architecture`: needed only for a mixed-precision model, which is rebuilt in float32)."""
    import keras

    model = _float32(model, architecture)
    stages = shown_stages(model)
    viewer = keras.Model(model.inputs[0], [layer.output for layer, _ in stages], name="activations")
    description: dict[str, Any] = {"version": DESCRIPTION_VERSION, "layers": [entry for _, entry in stages]}
    first_conv = next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    if first_conv is not None:
        kernel = first_conv.get_weights()[0]  # k×k×in×F
        filters = kernel.sum(axis=2).transpose(2, 0, 1)  # F×k×k (one input channel: the sum is that channel)
        description["filters"] = {"layer": first_conv.name, "shape": list(filters.shape), "values": filters.ravel().tolist()}
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / bundle.ACTIVATIONS_NAME
        with contextlib.redirect_stdout(io.StringIO()):  # export prints; windowed apps have no stdout
            viewer.export(str(target), format="litert")
        return target.read_bytes(), description


def add_activations(path: Path | str) -> Path:
    """Add (or replace) the layer view of the bundle at `path`, made from the Keras model it
    holds; every other member is kept as it is. Atomic, and safe to run again."""
    from lenet_core.training import load_keras_model

    source = bundle.read_bundle(path)
    network, description = export_activations(load_keras_model(source), source.meta.get("architecture"))
    replaced = {bundle.ACTIVATIONS_NAME, bundle.ACTIVATIONS_META_NAME}
    with zipfile.ZipFile(source.path) as archive:
        kept = [(info, archive.read(info)) for info in archive.infolist() if info.filename not in replaced]
    with atomic_write(source.path) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for info, data in kept:
                archive.writestr(info, data)
            archive.writestr(bundle.ACTIVATIONS_NAME, network)
            archive.writestr(bundle.ACTIVATIONS_META_NAME, json.dumps(description))
    return source.path


def inspector_for_model(model, architecture: str, classes: tuple[str, ...]):
    """A `NetworkInspector` for a Keras model in memory (a run's result before it is saved):
    both networks exported to LiteRT, as a save writes them."""
    from lenet_core.network_view import NetworkInspector
    from lenet_core.training import export_litert

    network = export_litert(model, architecture, len(classes))
    return NetworkInspector(network, tuple(classes), export_activations(model, architecture), source="this run's model")
