"""Inside the network, as plain data: the layers of a model in order (name, kind, output
shape), their activations for one 28×28 input, the first convolution's filters, and an
occlusion-sensitivity map of "why this answer". No Qt, no TensorFlow: everything runs on
LiteRT.

The activations come from a second LiteRT network in the bundle (`bundle.ACTIVATIONS_NAME`),
written when a model is saved (see `network_export`); its outputs are the shown layers'
activations, in the order `bundle.ACTIVATIONS_META_NAME` lists them. A bundle saved before
that has no such network: `NetworkInspector.available` is False and `OLDER_VERSION` says why;
the "why" map still works, because it only needs the classifying network.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from lenet_core.bundle import BundleError, ModelBundle

OLDER_VERSION = ("This model was saved by an older version of LeNet Studio, without its layer view: "
                 "re-save it (or retrain) to see inside. The heat map still works.")

# Occlusion: a PATCH×PATCH square of the input is blanked (set to background, 0) at every
# STRIDE-th position; positions whose square holds no ink change nothing and are skipped.
PATCH, STRIDE = 8, 4
OCCLUSION_BATCH = 4  # fixed, so the interpreter is allocated once; 0.19 ms of CPU an image at 1-56, so small: less padding
INK = 1e-3


@dataclass(frozen=True)
class Layer:
    """One shown layer: `kind` is conv, pool, dense or output; `shape` its output without the batch."""

    name: str
    kind: str
    shape: tuple[int, ...]
    detail: str = ""

    @property
    def maps(self) -> int:
        """How many feature maps (conv, pool) or units (dense, output) it has."""
        return int(self.shape[-1])

    def describe(self) -> str:
        shape = "×".join(str(s) for s in self.shape)
        return f"{self.name} · {shape}" + (f" · {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class LayerActivation:
    layer: Layer
    values: np.ndarray  # H×W×C for conv and pool, N for dense and output

    @property
    def low(self) -> float:
        return float(self.values.min()) if self.values.size else 0.0

    @property
    def high(self) -> float:
        return float(self.values.max()) if self.values.size else 0.0

    def map(self, index: int) -> np.ndarray:
        """Feature map `index` (H×W) of a conv or pool layer."""
        return self.values[..., index]

    def map_range(self, index: int) -> tuple[float, float]:
        values = self.map(index)
        return float(values.min()), float(values.max())


@dataclass(frozen=True)
class NetworkPicture:
    """Every shown layer's activations for one input, in order; the last is the output."""

    input: np.ndarray  # 28×28 float32 in [0, 1]
    layers: tuple[LayerActivation, ...]
    classes: tuple[str, ...]
    filters: np.ndarray | None  # the first convolution's weights, F×k×k (None: not stored)
    filters_layer: str = ""

    @property
    def probabilities(self) -> np.ndarray:
        return self.layers[-1].values


@dataclass(frozen=True)
class Why:
    """Occlusion sensitivity for the top guess and the runner-up (28×28 maps, log-probabilities).

    `top_map[y, x]`: how much blanking the ink around (x, y) lowers the top guess's log
    probability (positive: that ink supports it); `runner_map` the same for the runner-up;
    `contrast = top_map - runner_map`: positive where the ink makes it the top guess rather
    than the runner-up, negative where it points to the runner-up.
    """

    top: tuple[str, float]
    runner: tuple[str, float]
    top_map: np.ndarray
    runner_map: np.ndarray
    contrast: np.ndarray
    positions: int  # occluded positions that were run

    @property
    def caption(self) -> str:
        return (f"Red: ink that makes it ‘{self.top[0]}’; blue: ink that points to ‘{self.runner[0]}’ instead "
                f"(blanking red parts lowers ‘{self.top[0]}’).")


def layer_from_dict(entry: dict) -> Layer:
    return Layer(str(entry["name"]), str(entry["kind"]), tuple(int(s) for s in entry["shape"]), str(entry.get("detail", "")))


def tile(maps: np.ndarray, columns: int, gap: int = 1, fill: float = np.nan) -> np.ndarray:
    """H×W×C feature maps → one (rows·(H+gap)−gap)×(columns·(W+gap)−gap) mosaic, map c at
    row c // columns, column c % columns; the gaps hold `fill`."""
    height, width, count = maps.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    cells = np.full((rows * columns, height + gap, width + gap), fill, np.float32)
    cells[:count, :height, :width] = np.moveaxis(maps, -1, 0)
    mosaic = cells.reshape(rows, columns, height + gap, width + gap).transpose(0, 2, 1, 3)
    mosaic = mosaic.reshape(rows * (height + gap), columns * (width + gap))
    return mosaic[: mosaic.shape[0] - gap, : mosaic.shape[1] - gap]


def occlusion_offsets(size: int = 28, patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    offsets = list(range(0, size - patch + 1, stride))
    if offsets[-1] != size - patch:
        offsets.append(size - patch)
    return np.asarray(offsets)


def _covering() -> np.ndarray:
    counts = np.zeros((28, 28), np.float32)
    for y in occlusion_offsets():
        for x in occlusion_offsets():
            counts[y : y + PATCH, x : x + PATCH] += 1
    return counts


_COVERING = _covering()


class NetworkInspector:
    """Runs a bundle's activations network and the occlusion map. Thread-safe (one lock)."""

    def __init__(self, network: bytes, classes: tuple[str, ...], activations: tuple[bytes, dict] | None = None,
                 threads: int = 1, source: str = "model"):
        self.classes = tuple(classes)
        self.source = source
        self._network = network
        self._threads = threads
        self._lock = threading.Lock()
        self._occluder = None
        self.layers: tuple[Layer, ...] = ()
        self.filters: np.ndarray | None = None
        self.filters_layer = ""
        self._interpreter = None
        self.problem = OLDER_VERSION  # why the layers cannot be shown, while they cannot
        if activations is not None:
            self._load_activations(*activations)
            self.problem = ""

    @classmethod
    def from_bundle(cls, bundle: ModelBundle, threads: int = 1) -> NetworkInspector:
        """A broken layer view leaves the heat map working and says what is wrong in `problem`."""
        try:
            return cls(bundle.tflite_bytes(), bundle.classes, bundle.activations_members(), threads, str(bundle.path))
        except BundleError as error:
            if "layer view" not in error.problem and "activations" not in error.problem:
                raise
            inspector = cls(bundle.tflite_bytes(), bundle.classes, None, threads, str(bundle.path))
            inspector.problem = f"The layers of this model cannot be shown: {error.problem}. The heat map still works."
            return inspector

    @property
    def available(self) -> bool:
        """Whether the layers can be shown (False for bundles saved before the layer view)."""
        return self._interpreter is not None

    def _load_activations(self, network: bytes, description: dict) -> None:
        from lenet_core.inference import _native_stderr_silenced

        try:
            layers = tuple(layer_from_dict(entry) for entry in description["layers"])
            filters = description.get("filters")
            with _native_stderr_silenced():
                from ai_edge_litert.interpreter import Interpreter

                interpreter = Interpreter(model_content=network, num_threads=self._threads)
                runner_outputs = interpreter.get_signature_runner().get_output_details()
                interpreter.allocate_tensors()
            shapes = {detail["index"]: tuple(int(s) for s in detail["shape"][1:]) for detail in interpreter.get_output_details()}
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise BundleError(self.source, f"its layer view cannot be loaded ({error})") from None
        if len(runner_outputs) != len(layers) or not layers:
            raise BundleError(self.source, f"its layer view lists {len(layers)} layers but the network has {len(runner_outputs)} outputs")
        # Signature outputs are named output_0 … output_N in the order the layers were listed.
        self._outputs = [runner_outputs[f"output_{i}"]["index"] for i in range(len(layers))]
        self._input_index = interpreter.get_input_details()[0]["index"]
        for layer, index in zip(layers, self._outputs):
            shape = shapes.get(index)
            if shape != layer.shape:
                raise BundleError(self.source, f"its layer view says {layer.name} is {layer.shape} but the network gives {shape}")
        if layers[-1].shape != (len(self.classes),):
            raise BundleError(self.source, "its layer view does not end in the class probabilities")
        self.layers = layers
        if filters is not None:
            self.filters = np.asarray(filters["values"], np.float32).reshape(filters["shape"])
            self.filters_layer = str(filters.get("layer", ""))
        self._interpreter = interpreter

    # --- the layers ---------------------------------------------------------------------------

    def picture(self, image: np.ndarray) -> NetworkPicture:
        """Every shown layer's activations for one 28×28 input in [0, 1]."""
        if self._interpreter is None:
            raise RuntimeError(self.problem)
        image = np.asarray(image, np.float32)
        if image.shape != (28, 28):
            raise ValueError(f"the input must be 28×28, got {image.shape}")
        with self._lock:
            self._interpreter.set_tensor(self._input_index, np.ascontiguousarray(image[None, :, :, None]))
            self._interpreter.invoke()
            values = [self._interpreter.get_tensor(index)[0].copy() for index in self._outputs]
        layers = tuple(LayerActivation(layer, value) for layer, value in zip(self.layers, values))
        return NetworkPicture(image, layers, self.classes, self.filters, self.filters_layer)

    # --- why ----------------------------------------------------------------------------------

    def _occlusion_interpreter(self):
        if self._occluder is None:
            from ai_edge_litert.interpreter import Interpreter

            from lenet_core.inference import _native_stderr_silenced

            with _native_stderr_silenced():
                interpreter = Interpreter(model_content=self._network, num_threads=self._threads)
                input_index = interpreter.get_input_details()[0]["index"]
                interpreter.resize_tensor_input(input_index, [OCCLUSION_BATCH, 28, 28, 1])
                interpreter.allocate_tensors()
            self._occluder = (interpreter, input_index, interpreter.get_output_details()[0]["index"])
        return self._occluder

    def _probabilities(self, batch: np.ndarray) -> np.ndarray:
        interpreter, input_index, output_index = self._occlusion_interpreter()
        out = []
        for start in range(0, len(batch), OCCLUSION_BATCH):
            chunk = batch[start : start + OCCLUSION_BATCH]
            padded = np.zeros((OCCLUSION_BATCH, 28, 28, 1), np.float32)
            padded[: len(chunk), :, :, 0] = chunk
            interpreter.set_tensor(input_index, padded)
            interpreter.invoke()
            out.append(interpreter.get_tensor(output_index)[: len(chunk)].copy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), np.float32)

    def why(self, image: np.ndarray, explain: tuple[str, str] | None = None) -> Why:
        """Occlusion sensitivity of the top guess and the runner-up for one 28×28 input;
        `explain`: the two classes to contrast instead (the top-k's, which averages views)."""
        image = np.asarray(image, np.float32)
        if image.shape != (28, 28):
            raise ValueError(f"the input must be 28×28, got {image.shape}")
        offsets = occlusion_offsets()
        positions = [(y, x) for y in offsets for x in offsets if image[y : y + PATCH, x : x + PATCH].max() > INK]
        batch = np.empty((1 + len(positions), 28, 28), np.float32)
        batch[0] = image
        for index, (y, x) in enumerate(positions, start=1):
            batch[index] = image
            batch[index, y : y + PATCH, x : x + PATCH] = 0.0
        with self._lock:
            probabilities = self._probabilities(batch)
        logs = np.log(np.maximum(probabilities, 1e-12))
        order = np.argsort(probabilities[0])[::-1]
        top, runner = int(order[0]), int(order[1]) if len(order) > 1 else int(order[0])
        if explain is not None and all(name in self.classes for name in explain):
            top, runner = self.classes.index(explain[0]), self.classes.index(explain[1])
        drop_top, drop_runner = logs[0, top] - logs[1:, top], logs[0, runner] - logs[1:, runner]
        top_map, runner_map = np.zeros((28, 28), np.float32), np.zeros((28, 28), np.float32)
        for (y, x), d_top, d_runner in zip(positions, drop_top, drop_runner):
            top_map[y : y + PATCH, x : x + PATCH] += d_top
            runner_map[y : y + PATCH, x : x + PATCH] += d_runner
        # The mean over every patch covering a pixel, the skipped inkless ones as 0 (they change nothing).
        top_map /= _COVERING
        runner_map /= _COVERING
        p = probabilities[0]
        return Why((self.classes[top], float(p[top])), (self.classes[runner], float(p[runner])),
                   top_map, runner_map, top_map - runner_map, len(positions))


_inspectors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_inspectors_lock = threading.Lock()


def inspector_for(recognizer) -> NetworkInspector:
    """The (cached) inspector of a `Recognizer`'s bundle; made on first use (reads the bundle:
    call it off the GUI thread)."""
    with _inspectors_lock:
        inspector = _inspectors.get(recognizer)
        if inspector is None:
            inspector = NetworkInspector.from_bundle(recognizer.bundle)
            _inspectors[recognizer] = inspector
        return inspector
