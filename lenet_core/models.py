"""The network registry: each architecture is a small function returning a compiled Keras model.

The GUI, the CLI and saved-model metadata all refer to architectures by these names. The
registry itself imports nothing heavy; Keras is imported when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Architecture:
    name: str
    summary: str
    learning_rate: float
    build: Callable[..., object]  # (n_classes, learning_rate, label_smoothing, dropout=…) -> keras.Model
    dropout: float = 0.0  # the architecture's default dropout rate
    batch_norm: bool = False  # has BatchNormalization layers (takes `batch_norm_momentum`)
    # The largest batch the speed probe may choose: the largest at which the learning rate scaled
    # linearly with the batch still trained as well as batch 128 (benchmarks/batch_learning_rate.py).
    largest_batch: int = 512


def batch_norm_momentum(total_steps: int) -> float:
    """The moving-average momentum of batch normalisation for a run of `total_steps` batches.

    The moving variance starts at 1 while the true variance after lenet-plus's first
    convolution is about 0.003, so what is left of the start after the run (momentum ** steps)
    must be tiny. With Keras's 0.99 a short run (800 images × 3 epochs = 21 steps) ended 79 %
    right while training and read every test image as one class (12 %). So the start is
    weighted at most 1e-4 by the end: 0.99 for runs of 917 steps or more (all the shipped
    models' runs), less for shorter ones (0.645 for 21 steps).
    """
    return min(0.99, 1e-4 ** (1.0 / max(1, total_steps)))


def _compile(model, learning_rate: float, label_smoothing: float = 0.0, jit_compile: bool | str = "auto"):
    """Adam and cross-entropy on one-hot targets (so label smoothing is one argument away)."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    return model


@lru_cache(maxsize=1)
def fused_batch_norm_layer():
    """A BatchNormalization that trains with TensorFlow's fused kernel: the same arithmetic
    and the same four variables as Keras's layer (whose training step, mean and variance
    computed by separate ops, took about 30 % of lenet-plus's CPU time per sample here), so
    its weights move to a plain BatchNormalization one to one. Only the training pass differs;
    inference and everything saved are Keras's own. The Trainer builds with it and saves a
    plain copy, so a bundle never holds this class."""
    import keras
    import tensorflow as tf

    class FusedBatchNormalization(keras.layers.BatchNormalization):
        def call(self, inputs, training=None, mask=None):
            rank = len(inputs.shape)
            plain = (not training or not self.trainable or mask is not None or self.renorm or self.synchronized
                     or not (self.scale and self.center) or rank not in (2, 4) or self.axis not in (-1, rank - 1))
            if plain:
                return super().call(inputs, training=training, mask=mask)
            x = tf.cast(inputs, tf.float32)
            flat = rank == 2
            if flat:  # the fused kernel wants N×H×W×C: a dense layer's features as 1×1 maps
                x = x[:, None, None, :]
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32), epsilon=self.epsilon, is_training=True)
            # The kernel hands back the unbiased (n − 1) variance; Keras's moving variance tracks
            # the biased one it normalises with, so it is scaled back to keep the two layers equal.
            count = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
            variance = variance * (count - 1.0) / tf.maximum(count, 2.0)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + tf.stop_gradient(mean) * (1.0 - momentum))
            self.moving_variance.assign(self.moving_variance * momentum + tf.stop_gradient(variance) * (1.0 - momentum))
            if flat:
                y = y[:, 0, 0, :]
            return tf.cast(y, self.compute_dtype)

    return FusedBatchNormalization


def _input():
    import keras

    return keras.Input(shape=(28, 28, 1), name="image")


def _softmax_head(x, n_classes: int):
    import keras

    # float32 output keeps the softmax exact under mixed precision on a GPU.
    return keras.layers.Dense(n_classes, activation="softmax", dtype="float32", name="class_probabilities")(x)


def lenet5_classic(n_classes: int, learning_rate: float = 1e-3, label_smoothing: float = 0.0, dropout: float = 0.0,
                   **compile_args):
    """The seed recipe: LeCun's LeNet-5 shape with tanh and average pooling, Adam (no dropout unless asked)."""
    import keras
    from keras import layers

    inputs = _input()
    x = layers.Conv2D(6, 5, padding="same", activation="tanh")(inputs)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Conv2D(16, 5, activation="tanh")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="tanh")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = layers.Dense(84, activation="tanh")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    model = keras.Model(inputs, _softmax_head(x, n_classes), name="lenet5_classic")
    return _compile(model, learning_rate, label_smoothing, **compile_args)


def lenet5(n_classes: int, learning_rate: float = 1e-3, label_smoothing: float = 0.0, dropout: float = 0.2, **compile_args):
    """The seed recipe: LeNet-5 with ReLU, max pooling and dropout 0.2 (64,851 parameters for 47 classes)."""
    import keras
    from keras import layers

    inputs = _input()
    x = layers.Conv2D(6, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 5, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(84, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    model = keras.Model(inputs, _softmax_head(x, n_classes), name="lenet5")
    return _compile(model, learning_rate, label_smoothing, **compile_args)


def lenet_plus(n_classes: int, learning_rate: float = 2e-3, label_smoothing: float = 0.0, dropout: float = 0.3,
               batch_norm_momentum: float = 0.99, fused_batch_norm: bool = False, **compile_args):
    """Ours: LeNet's conv-pool rhythm, wider (32-64-128 filters), batch-normalised, with a
    small dense head; 0.21 M parameters for 47 classes, so a prediction stays ~0.1 ms.
    """
    import keras
    from keras import layers

    BatchNormalization = fused_batch_norm_layer() if fused_batch_norm else layers.BatchNormalization
    inputs = _input()
    x = inputs
    for filters, kernel in ((32, 5), (64, 3), (128, 3)):  # 28 → 14 → 7 → 3
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
        x = BatchNormalization(momentum=batch_norm_momentum)(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(96, use_bias=False)(x)
    x = BatchNormalization(momentum=batch_norm_momentum)(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(dropout)(x)
    model = keras.Model(inputs, _softmax_head(x, n_classes), name="lenet_plus")
    return _compile(model, learning_rate, label_smoothing, **compile_args)


ARCHITECTURES: dict[str, Architecture] = {
    spec.name: spec
    for spec in (
        Architecture("lenet-plus", "Ours: wider LeNet with batch norm, max pooling and a small dense head (best accuracy)", 2e-3,
                     lenet_plus, 0.3, batch_norm=True),
        Architecture("lenet5", "Seed recipe: LeNet-5, ReLU, max pooling, dropout 0.2", 1e-3, lenet5, 0.2, largest_batch=1024),
        Architecture("lenet5-classic", "Seed recipe: LeNet-5, tanh, average pooling", 1e-3, lenet5_classic, 0.0,
                     largest_batch=1024),
    )
}
DEFAULT_ARCHITECTURE = "lenet-plus"


def build(name: str, n_classes: int, learning_rate: float | None = None, label_smoothing: float = 0.0,
          dropout: float | None = None, batch_norm_momentum: float | None = None, fused_batch_norm: bool = False,
          **compile_args):
    """A compiled model of the named architecture for `n_classes` outputs (dropout None: its
    default; `batch_norm_momentum` None: Keras's 0.99; `fused_batch_norm`: train its batch norm
    with the fused kernel (see fused_batch_norm_layer); both ignored by architectures without
    batch norm)."""
    try:
        spec = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r} (known: {', '.join(ARCHITECTURES)})") from None
    if dropout is not None and not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), not {dropout}")
    rate = spec.dropout if dropout is None else dropout
    if spec.batch_norm and batch_norm_momentum is not None:
        compile_args["batch_norm_momentum"] = batch_norm_momentum
    if spec.batch_norm and fused_batch_norm:
        compile_args["fused_batch_norm"] = True
    return spec.build(n_classes, learning_rate or spec.learning_rate, label_smoothing, dropout=rate, **compile_args)
