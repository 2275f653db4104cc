"""Training a network on a data set: the `Trainer`, driven by a `TrainConfig`, reporting
through plain callbacks (no Qt) and stopping cooperatively when its stop flag is set.

TensorFlow is imported here, lazily, when a run starts. On a GPU: memory growth and mixed
precision. On a CPU: XLA and the batch size as a short probe on this machine measured fastest
(`lenet_core.tuning`); through `tf.distribute` when a strategy is asked (`lenet_core.distribute`). The result is
evaluated on the test part and saved as a model bundle (Keras model + LiteRT export).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lenet_core import bundle, models, preprocess
from lenet_core.datasets import Dataset, load_dataset, open_source
from lenet_core.evaluate import Evaluation, evaluate

FINE_TUNE_LEARNING_RATE = 5e-4  # with a base model: nudge it, do not relearn (lenet_core.adapt)


@dataclass(frozen=True)
class TrainConfig:
    data: str = ""  # a data source: folder, gzip.zip, CSV, .mat, or image folder
    split: str | None = None  # which split of the source; None when it has one
    architecture: str = models.DEFAULT_ARCHITECTURE
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float | None = None  # None: the architecture's default
    validation_fraction: float = 0.1
    augment: bool = True
    augment_strength: float = 1.0  # scales every range of augment.AugmentSettings
    pen_fraction: float = 0.0  # share of training images replaced, per batch, by a copy redrawn with a round pen
    extra_data: str | None = None  # "split:part" of the same source to top classes up from (never a test image)
    extra_per_class: int = 4000  # ...up to this many images per class
    real_data: str | None = None  # folder of real pen characters (labels.csv: path,label_char,writer), train writers only
    real_repeat: int = 2  # ...each of them this many times per epoch
    touching: int = 0  # add this many images cut out of touching neighbours as the reader cuts them (lenet_core.touching)
    dropout: float | None = None  # None: the architecture's default
    seed: int = 0
    schedule: Literal["cosine", "constant"] = "cosine"
    label_smoothing: float = 0.0
    balance_classes: bool = True  # weight samples so rare classes count as much as common ones
    max_samples: int | None = None  # train on a random subset (quick runs)
    jit_compile: bool | None = None  # None: measured best for the architecture and device
    restore_best: bool = True  # keep the weights of the epoch with the best validation accuracy
    patience: int | None = None  # stop when validation accuracy has not improved for this many epochs
    base: str | None = None  # fine-tune this model (name or .lenet) instead of starting from scratch
    replay: bool = True  # with a base: mix in its shipped EMNIST replay set (lenet_core.adapt)
    warmup_epochs: float = 0.0  # cosine schedule: rise linearly from a tenth of the rate over this many epochs
    auto_batch_size: bool = False  # let the machine's probe pick the batch (lenet_core.tuning); the rate scales with it
    strategy: Literal["default", "mirrored", "multi-worker"] = "default"  # tf.distribute (lenet_core.distribute)
    fused_batch_norm: bool = True  # train batch norm with TensorFlow's fused kernel (models.fused_batch_norm_layer)

    def describe(self) -> str:
        spec = models.ARCHITECTURES[self.architecture]
        lr = self.learning_rate or (FINE_TUNE_LEARNING_RATE if self.base else spec.learning_rate)
        dropout = spec.dropout if self.dropout is None else self.dropout
        augmentation = "off" if not self.augment else ("on" if self.augment_strength == 1.0 else f"×{self.augment_strength:g}")
        if self.augment and self.pen_fraction > 0:
            augmentation += f", {self.pen_fraction:.0%} pen-redrawn"
        return (
            f"{self.architecture}, {self.epochs} epochs, batch {self.batch_size}, lr {lr:g} ({self.schedule}), "
            f"dropout {dropout:g}, label smoothing {self.label_smoothing:g}, augmentation {augmentation}, "
            f"validation {self.validation_fraction:.0%}, seed {self.seed}"
            + (f", fine-tuning {self.base}" if self.base else "")
        )


@dataclass(frozen=True)
class StartInfo:
    device: str
    architecture: str
    parameters: int
    classes: tuple[str, ...]
    train_samples: int
    validation_samples: int
    test_samples: int
    steps_per_epoch: int
    epochs: int


@dataclass(frozen=True)
class BatchProgress:
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based, within the epoch
    steps: int
    loss: float
    accuracy: float
    samples_per_second: float
    elapsed_s: float
    eta_s: float
    fraction: float  # of the whole run, 0..1


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float
    learning_rate: float


class TrainingCallbacks:
    """Override what you need; every method is called on the training thread."""

    def on_start(self, info: StartInfo) -> None: ...

    def on_batch(self, progress: BatchProgress) -> None: ...

    def on_epoch(self, result: EpochResult) -> None: ...

    def on_log(self, message: str) -> None: ...


class TrainingError(RuntimeError):
    pass


class TrainingStopped(TrainingError):
    """The stop flag was set before the first batch (while loading or preparing): nothing was trained."""


@dataclass
class TrainResult:
    model: Any  # keras.Model
    config: TrainConfig
    classes: tuple[str, ...]
    dataset_name: str
    history: list[EpochResult]
    evaluation: Evaluation | None
    test: Dataset | None
    device: str
    seconds: float
    stopped: bool = False
    stop_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    adaptation: Any = None  # lenet_core.adapt.Adaptation of a fine-tuning run
    tuning: dict[str, Any] = field(default_factory=dict)  # what lenet_core.tuning chose, and the strategy

    @property
    def partial(self) -> bool:
        return self.stopped and (len(self.history) < self.config.epochs)

    def metadata(self, name: str) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        if self.evaluation is not None:
            metrics = self.evaluation.summary()
            metrics["confusion_matrix"] = self.evaluation.confusion.tolist()
        extra: dict[str, Any] = {}
        if self.adaptation is not None:
            extra["base"] = {"name": self.adaptation.base, "file": self.adaptation.base_file}
            extra["adaptation"] = asdict(self.adaptation)
        return {
            "name": name,
            **extra,
            "architecture": self.config.architecture,
            "parameters": int(self.model.count_params()),
            "classes": list(self.classes),
            "dataset": {"name": self.dataset_name, "source": Path(self.config.data).name, "split": self.config.split, **self.counts},
            "preprocessing_version": preprocess.PREPROCESSING_VERSION,
            "metrics": metrics,
            "training": {
                **asdict(self.config),
                "data": Path(self.config.data).name,
                "real_data": Path(self.config.real_data).name if self.config.real_data else None,
                "epochs_run": len(self.history),
                "partial": self.partial,
                "stop_reason": self.stop_reason,
                "device": self.device,
                "seconds": round(self.seconds, 1),
                "history": [asdict(epoch) for epoch in self.history],
                "tuning": self.tuning,
            },
        }

    def save(self, path: Path | str, name: str | None = None) -> Path:
        """Write the bundle (LiteRT network, Keras model, metadata) atomically."""
        path = Path(path)
        name = name or path.stem
        tflite = export_litert(self.model, self.config.architecture, len(self.classes))
        from lenet_core.network_export import export_activations  # the layer view (issue 15)

        activations = export_activations(self.model, self.config.architecture)
        return bundle.write_bundle(path, self.metadata(name), tflite, keras_model_bytes(self.model), activations=activations)


# --- TensorFlow plumbing (imported lazily) --------------------------------------------------


def setup_tensorflow() -> str:
    """Import TensorFlow quietly, enable GPU memory growth; return the device that will train."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from lenet_core.paths import user_data_dir
    from lenet_core.safety import private_temp_dir

    private_temp_dir(user_data_dir() / "tmp")  # autograph's files: the next run sweeps a killed run's
    try:
        import tensorflow as tf
    except ImportError:
        raise TrainingError("TensorFlow is not installed: run `pip install 'lenet-studio[cpu]'` (or [gpu])") from None
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        with contextlib.suppress(RuntimeError):  # already initialised: growth can no longer change
            tf.config.experimental.set_memory_growth(gpu, True)
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        names = details.get("device_name", "GPU")
        return f"GPU: {names}" + (f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else "")
    return f"CPU ({os.cpu_count()} cores)"


def probe_device() -> str:
    """Which device training would use, without importing TensorFlow (for the GUI, before a run)."""
    import importlib.metadata
    import shutil
    import subprocess

    installed = {name: True for name in ("tensorflow", "tensorflow-cpu") if _has_distribution(importlib.metadata, name)}
    if not installed:
        return "TensorFlow not installed: training unavailable"
    if "tensorflow" not in installed:
        return f"CPU ({os.cpu_count()} cores; TensorFlow CPU build)"
    if shutil.which("nvidia-smi"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            output = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            if output:
                return f"GPU: {output.splitlines()[0]}"
    return f"CPU ({os.cpu_count()} cores; no NVIDIA GPU found)"


def _has_distribution(metadata, name: str) -> bool:
    try:
        metadata.distribution(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def export_litert(model, architecture: str, n_classes: int) -> bytes:
    """The network as LiteRT flatbuffer bytes, always in float32 (mixed precision is rebuilt)."""
    import keras

    if any(getattr(layer, "dtype_policy", None) and layer.dtype_policy.name != "float32" for layer in model.layers):
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float32")
        try:
            plain = models.build(architecture, n_classes, jit_compile=False)
        finally:
            keras.config.set_dtype_policy(previous)
        plain.set_weights(model.get_weights())
        model = plain
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "model.tflite"
        with contextlib.redirect_stdout(io.StringIO()):  # export prints; windowed apps have no stdout
            model.export(str(target), format="litert")
        return target.read_bytes()


def keras_model_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "model.keras"
        model.save(target)
        return target.read_bytes()


def load_keras_model(bundle_or_path: bundle.ModelBundle | Path | str):
    """The Keras model inside a bundle (or a plain `.keras` file), for evaluation or retraining."""
    setup_tensorflow()
    import keras

    with tempfile.TemporaryDirectory() as folder:
        if isinstance(bundle_or_path, bundle.ModelBundle):
            target = Path(folder) / "model.keras"
            target.write_bytes(bundle_or_path.keras_bytes())
        else:
            target = Path(bundle_or_path)
        return keras.saving.load_model(target, compile=False)


# --- data -----------------------------------------------------------------------------------


def split_validation(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """Stratified hold-out: `fraction` of every class goes to validation."""
    rng = np.random.default_rng(seed)
    held = []
    for label in range(data.n_classes):
        members = np.flatnonzero(data.labels == label)
        rng.shuffle(members)
        take = int(round(fraction * len(members)))
        if fraction > 0 and len(members) >= 2:
            take = max(1, min(take, len(members) - 1))
        held.append(members[:take])
    validation = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    mask = np.ones(len(data), bool)
    mask[validation] = False
    return data.subset(np.flatnonzero(mask), f"{data.name} (train)"), data.subset(validation, f"{data.name} (validation)")


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
    return weights.astype(np.float32)


def make_tf_dataset(data: Dataset, batch_size: int, training: bool, augment: bool, seed: int, weights: np.ndarray | None = None,
                    augment_strength: float = 1.0, pen_images: np.ndarray | None = None, pen_fraction: float = 0.0,
                    settings=None):
    """Batches of (images, one-hot labels[, sample weights]); with `pen_images` (a pen-redrawn
    copy of every image, augment.pen_copies), each image is swapped for its copy with
    probability `pen_fraction`, anew every epoch, before the other augmentation.

    Only the sample numbers pass through the shuffle, one by one; each batch is then taken from
    the whole uint8 arrays with one gather and converted in one go, as Keras does with arrays.
    Sending every image through the shuffle buffer instead kept a second copy of the data set
    there and took twice the pipeline's CPU (0.8 s against 0.4 s an epoch of 90,605 images on
    2 cores). The shuffle of 0..n-1 with the same seed is the one the images had, so the
    batches are the same ones as before."""
    import tensorflow as tf

    from lenet_core.augment import AugmentSettings, augment_batch

    if settings is None:
        settings = AugmentSettings().scaled(augment_strength)
    use_pens = augment and pen_images is not None and pen_fraction > 0

    n_classes = data.n_classes
    images = tf.constant(data.images)
    labels = tf.constant(data.labels.astype(np.int32))
    redrawn = tf.constant(pen_images) if use_pens else None
    order = tf.data.Dataset.range(len(data))
    if training:
        order = order.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    order = order.batch(batch_size)
    weight_table = tf.constant(weights) if weights is not None else None

    def prepare(index):
        batch, label = tf.gather(images, index), tf.gather(labels, index)
        if use_pens:
            swap = tf.random.uniform([tf.shape(batch)[0], 1, 1]) < pen_fraction
            batch = tf.where(swap, tf.gather(redrawn, index), batch)
        x = tf.cast(batch, tf.float32)[..., None] / 255.0
        if augment:
            x = augment_batch(x, settings)
        y = tf.one_hot(label, n_classes)
        if weight_table is not None:
            return x, y, tf.gather(weight_table, label)
        return x, y

    return order.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# --- the trainer ----------------------------------------------------------------------------


class Trainer:
    """One training run. `stop()` (or setting `stop_event`) ends it within one batch."""

    def __init__(
        self,
        config: TrainConfig,
        callbacks: TrainingCallbacks | None = None,
        stop_event: threading.Event | None = None,
        strategy: Any = None,
        train: Dataset | None = None,
        test: Dataset | None = None,
        report_interval_s: float = 0.1,
        validation: Dataset | None = None,
    ):
        if config.architecture not in models.ARCHITECTURES:
            raise TrainingError(f"unknown architecture {config.architecture!r} (known: {', '.join(models.ARCHITECTURES)})")
        if config.epochs < 1 or config.batch_size < 1:
            raise TrainingError("epochs and batch size must be at least 1")
        if not 0.0 <= config.validation_fraction < 0.9:
            raise TrainingError("the validation fraction must be between 0 and 0.9")
        if config.dropout is not None and not 0.0 <= config.dropout < 1.0:
            raise TrainingError("dropout must be at least 0 and below 1")
        if not 0.0 <= config.augment_strength <= 3.0:
            raise TrainingError("the augmentation strength must be between 0 and 3")
        problem = config_problem(config)
        if problem:
            raise TrainingError(problem)
        if not 0.0 <= config.pen_fraction <= 1.0:
            raise TrainingError("the pen-redrawn share must be between 0 and 1")
        self.config = config
        self.callbacks = callbacks or TrainingCallbacks()
        self.stop_event = stop_event or threading.Event()
        self.strategy = strategy
        self._train, self._test = train, test
        self._report_interval = report_interval_s
        self._validation = validation  # validate on this set (benchmarks: the test set) instead of a hold-out

    def stop(self) -> None:
        self.stop_event.set()

    def _validation_estimate(self, batches_per_second: float) -> float:
        """Seconds for one validation pass before one is measured: a forward pass costs about
        a third of a training step per sample."""
        samples_per_second = batches_per_second * self.choice.batch_size
        return self._validation_samples / (3 * samples_per_second) if samples_per_second > 0 else 0.0

    def _with_extra_data(self, train: Dataset, test: Dataset | None) -> Dataset:
        """The training set topped up from `extra_data`, without any image of the test part."""
        from lenet_core import extra_data

        split, _, part = self.config.extra_data.partition(":")
        if not split or not part:
            raise TrainingError(f"extra data {self.config.extra_data!r}: give it as SPLIT:PART, e.g. bymerge:test")
        pool = load_dataset(self.config.data, split, part)
        if pool.classes != train.classes:
            raise TrainingError(f"extra data {self.config.extra_data}: its classes differ from the training set's")
        extra = extra_data.extra_training_images(pool, train, [test] if test is not None else [], self.config.extra_per_class,
                                                 self.config.seed)
        self.callbacks.on_log(f"added {len(extra):,} images of {self.config.extra_data} (none of the test part)")
        return extra_data.combined(train, extra)

    def _pen_copies(self, train: Dataset) -> np.ndarray:
        """Every training image redrawn with a random round pen (about 1 ms an image), stoppable."""
        from lenet_core.augment import pen_copies

        started = time.perf_counter()
        chunk = 4096
        parts = []
        for start in range(0, len(train), chunk):
            self._stop_if_asked("redrawing the training images with a pen")
            parts.append(pen_copies(train.images[start : start + chunk], seed=self.config.seed * 7919 + start))
        self.callbacks.on_log(f"redrew {len(train):,} training images with random round pens in {time.perf_counter() - started:.0f} s")
        return np.concatenate(parts)

    def _with_touching(self, train: Dataset) -> Dataset:
        """`touching` more images: characters of the training set written touching a neighbour
        and cut out again by the reader's over-segmentation (about 8 ms an image), stoppable."""
        from lenet_core import extra_data, touching

        started = time.perf_counter()
        chunk = 2000
        images, labels = [], []
        for number, start in enumerate(range(0, self.config.touching, chunk)):
            self._stop_if_asked("cutting touching characters out of little lines")
            x, y = touching.touching_crops(train.images, train.labels, min(chunk, self.config.touching - start),
                                           seed=self.config.seed * 7919 + number)
            images.append(x)
            labels.append(y)
        crops = Dataset(f"{train.name} (touching)", np.concatenate(images), np.concatenate(labels), train.classes)
        self.callbacks.on_log(f"added {len(crops):,} characters cut out of touching neighbours in {time.perf_counter() - started:.0f} s")
        return extra_data.combined(train, crops)

    def _stop_if_asked(self, stage: str) -> None:
        """Before the first batch the Keras callback cannot see the flag; these checks can."""
        if self.stop_event.is_set():
            raise TrainingStopped(f"stopped while {stage}: nothing was trained")

    def load_data(self) -> tuple[Dataset, Dataset | None]:
        config = self.config
        train, test = self._train, self._test
        if train is None:
            if not config.data:
                raise TrainingError("no data set chosen")
            train = load_dataset(config.data, config.split, "train")
            if test is None:
                split = config.split or train.name.rsplit("-", 1)[0]
                info = next((i for i in open_source(config.data).splits() if i.name == split), None)
                if info is not None and "test" in info.parts and train.name != f"{split}-test":
                    test = load_dataset(config.data, split, "test")
        if config.extra_data:
            train = self._with_extra_data(train, test)
        if config.real_data:
            from lenet_core import extra_data

            try:
                real = extra_data.pen_tablet_images(config.real_data, train.classes, repeat=config.real_repeat)
            except (OSError, KeyError, ValueError) as error:
                raise TrainingError(f"real pen data {config.real_data}: {error}") from None
            self.callbacks.on_log(f"added {len(real) // max(1, config.real_repeat):,} real pen characters ×{config.real_repeat} "
                                  f"(train writers; the held-out writers are for measuring)")
            train = extra_data.combined(train, real)
        if config.touching:
            train = self._with_touching(train)
        if config.max_samples and len(train) > config.max_samples:
            rng = np.random.default_rng(config.seed)
            train = train.subset(np.sort(rng.choice(len(train), config.max_samples, replace=False)))
        return train, test

    def run(self) -> TrainResult:
        config = self.config
        log = self.callbacks.on_log
        started = time.perf_counter()
        train_all, test = self.load_data()
        self._stop_if_asked("loading the data")
        base = replay = None
        if config.base:
            base, train_all, test = self._base_and_data(train_all, test)
            # The last epoch is kept: a few held-out samples per class are too few to pick an epoch by.
            config = self.config = replace(config, architecture=base.architecture, restore_best=False)
        train, validation = split_validation(train_all, config.validation_fraction, config.seed)
        if self._validation is not None:
            train, validation = train_all, self._validation
        own_train = len(train)
        if base is not None and config.replay and len(train):
            from lenet_core import adapt

            replay = adapt.replay_for(base.classes)
            if replay is not None:
                train = adapt.concat(train, replay.train)
                log(f"mixing in {len(replay.train):,} EMNIST replay images ({replay.name}) so no class is forgotten")
            else:
                log(f"no replay set ships for {base.name}'s classes: only your samples are trained on")
        if len(train) == 0:
            raise TrainingError("the data set has no training samples")
        if test is None:
            log("this data set has no test part: the validation part is used as the test set")
        if test is not None and test.classes != train.classes:
            raise TrainingError(f"the test part has classes {test.classes[:5]}… unlike the train part")
        if len(test if test is not None else validation) == 0:
            raise TrainingError("nothing to test the model on: this data set has no test part, so the validation fraction must be above 0")
        device = setup_tensorflow()
        import keras
        import tensorflow as tf

        from lenet_core import distribute, tuning

        try:
            if self.strategy is None:
                self.strategy = distribute.make_strategy(config.strategy)
            self.choice = tuning.settle(config, device, log, len(train))
        except distribute.DistributeError as error:
            raise TrainingError(str(error)) from None
        placement = distribute.describe(config.strategy, self.strategy)
        device = f"{device}; {placement}" if placement else device
        keras.utils.set_random_seed(config.seed)
        on_gpu = device.startswith("GPU")
        previous_policy = keras.config.dtype_policy()
        if on_gpu:
            keras.mixed_precision.set_global_policy("mixed_float16")
        jit, batch_size = self.choice.jit, self.choice.batch_size
        steps = math.ceil(len(train) / batch_size)
        default_lr = FINE_TUNE_LEARNING_RATE if base is not None else models.ARCHITECTURES[config.architecture].learning_rate
        base_lr = (config.learning_rate or default_lr) * self.choice.learning_rate_scale
        if config.schedule == "cosine" and config.warmup_epochs > 0:
            warmup = min(steps * config.epochs - 1, max(1, round(steps * config.warmup_epochs)))
            learning_rate = keras.optimizers.schedules.CosineDecay(
                base_lr / 10, decay_steps=steps * config.epochs - warmup, alpha=0.02, warmup_target=base_lr, warmup_steps=warmup,
            )
        elif config.schedule == "cosine":
            learning_rate = keras.optimizers.schedules.CosineDecay(base_lr, decay_steps=steps * config.epochs, alpha=0.02)
        else:
            learning_rate = base_lr
        scope = self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()
        try:
            with scope:
                if base is not None:
                    from lenet_core import adapt

                    keras.config.set_dtype_policy(previous_policy)  # the base's float32 layers as saved
                    model = adapt.load_for_fine_tuning(base, learning_rate, config.label_smoothing, jit)
                else:
                    model = models.build(
                        config.architecture, train.n_classes, learning_rate, config.label_smoothing, dropout=config.dropout,
                        batch_norm_momentum=models.batch_norm_momentum(steps * config.epochs), jit_compile=jit,
                        fused_batch_norm=config.fused_batch_norm,
                    )
        finally:
            keras.config.set_dtype_policy(previous_policy)
        weights = class_weights(train.labels, train.n_classes) if config.balance_classes else None
        pen_images = None
        if config.augment and config.pen_fraction > 0:
            pen_images = self._pen_copies(train)
        train_ds = make_tf_dataset(train, batch_size, True, config.augment, config.seed, weights, config.augment_strength,
                                   pen_images, config.pen_fraction)
        val_ds = make_tf_dataset(validation, 1024, False, False, config.seed) if len(validation) else None
        if self.strategy is not None:
            train_ds, val_ds = distribute.shard(train_ds), val_ds and distribute.shard(val_ds)
            distribute.build_before_fit(model, self.strategy, train_ds)
        info = StartInfo(
            device, config.architecture, int(model.count_params()), train.classes, len(train), len(validation),
            len(test) if test is not None else len(validation), steps, config.epochs,
        )
        before = self._scores(model, test if test is not None else validation, replay) if base is not None else None
        self._stop_if_asked("preparing the network")
        self._validation_samples = len(validation)
        self.callbacks.on_start(info)
        log(f"training {replace(config, batch_size=batch_size, learning_rate=base_lr).describe()} on {device}; "
            f"{len(train):,} train / {len(validation):,} validation samples")
        log(f"speed: {self.choice.describe()}")
        monitor = _make_keras_callback(self, steps, config.epochs, base_lr, val_ds)
        try:
            model.fit(train_ds, epochs=config.epochs, verbose=0, callbacks=[monitor], shuffle=False)
        except tf.errors.ResourceExhaustedError as error:
            raise TrainingError(f"out of memory: try a smaller batch size ({error.message.splitlines()[0]})") from None
        stopped, reason = monitor.stopped, monitor.reason
        if monitor.best_weights is not None and config.restore_best and not stopped:
            model.set_weights(monitor.best_weights)
            log(f"kept the weights of epoch {monitor.best_epoch} (best validation accuracy {monitor.best_accuracy:.2%})")
        if reason == "nan" or not all(np.isfinite(weights).all() for weights in model.get_weights()):
            # A run of one step reports a finite loss and then applies a NaN update: the weights tell.
            raise TrainingError("the loss became NaN or infinite: lower the learning rate and start again")
        fused = base is None and config.fused_batch_norm and models.ARCHITECTURES[config.architecture].batch_norm
        if self.strategy is not None or fused:
            # Evaluated and saved from a plain copy: no collective ops after fit, and Keras's own
            # batch-norm layer in the bundle rather than the fused one it trained with.
            plain = models.build(config.architecture, train.n_classes, jit_compile=False, dropout=config.dropout,
                                 batch_norm_momentum=models.batch_norm_momentum(steps * config.epochs))
            plain.set_weights(model.get_weights())
            model = plain
        evaluation, test_set = None, test if test is not None else validation
        if len(test_set) and monitor.history:
            log(f"evaluating on {len(test_set):,} test samples")
            probabilities = model.predict(test_set.images[..., None].astype(np.float32) / 255.0, batch_size=1024, verbose=0)
            evaluation = evaluate(probabilities, test_set.labels, train.classes)
            log(evaluation.report())
        counts = {"train_samples": len(train), "validation_samples": len(validation), "test_samples": len(test_set)}
        adaptation = None
        if base is not None:
            from lenet_core import adapt

            after = self._scores(model, test_set, replay)
            adaptation = adapt.Adaptation(
                base=base.name, base_file=base.path.name, own_samples=len(test_set), own_before=before[0], own_after=after[0],
                replay_samples=len(replay.check) if replay else 0, replay_before=before[1], replay_after=after[1],
                replay_mixed_in=len(replay.train) if replay else 0,
            )
            counts["own_train_samples"] = own_train
            log(f"before → after fine-tuning: {adaptation.describe()}")
        return TrainResult(
            model=model, config=config, classes=train.classes, dataset_name=train_all.name, history=monitor.history,
            evaluation=evaluation, test=test_set, device=device, seconds=time.perf_counter() - started,
            stopped=stopped, stop_reason=reason, counts=counts, adaptation=adaptation,
            tuning={**self.choice.as_dict(), "strategy": config.strategy, "placement": placement},
        )

    def _base_and_data(self, train: Dataset, test: Dataset | None):
        """The base model of a fine-tuning run, and the data in its classes (one clear error otherwise)."""
        from lenet_core import adapt

        try:
            base = adapt.resolve_base(self.config.base)
            train = adapt.to_model_classes(train, base.classes, base.name)
            test = adapt.to_model_classes(test, base.classes, base.name) if test is not None else None
        except (bundle.BundleError, adapt.AdaptError) as error:
            raise TrainingError(str(error)) from None
        return base, train, test

    @staticmethod
    def _scores(model, own: Dataset, replay) -> tuple[float | None, float | None]:
        """Accuracy on the held-out own samples and on the replay set's check part."""
        from lenet_core import adapt

        return adapt.accuracy(model, own), adapt.accuracy(model, replay.check if replay else None)


def config_problem(config: TrainConfig) -> str | None:
    """The numbers a TrainConfig must hold beyond its basic ranges (finite, in range), or None."""
    from lenet_core.safety import number_problem

    rate = config.learning_rate
    checks = (
        # No upper bound here (the CLI refuses above 10): a huge rate still ends in the NaN check.
        f"the learning rate must be a finite number above 0, not {rate:g}" if rate is not None and not (math.isfinite(rate) and rate > 0) else None,
        number_problem(config.label_smoothing, "label smoothing", 0.0, 0.5),
        number_problem(config.patience, "patience", 1, 10_000, integer=True),
        number_problem(config.max_samples, "the sample limit", 1, 10**9, integer=True),
        number_problem(config.epochs, "epochs", 1, 10_000, integer=True),
        number_problem(config.batch_size, "the batch size", 1, 65_536, integer=True),
        number_problem(config.touching, "the number of touching characters", 0, 2_000_000, integer=True),
        number_problem(config.real_repeat, "the real-data repeat", 1, 100, integer=True),
        number_problem(config.extra_per_class, "the extra images per class", 1, 1_000_000, integer=True),
    )
    return next((problem for problem in checks if problem), None)


def _make_keras_callback(trainer: Trainer, steps: int, epochs: int, base_lr: float, validation):
    import keras

    class Monitor(keras.callbacks.Callback):
        """Bridges Keras to the plain callbacks; checks the stop flag after every batch."""

        def __init__(self):
            super().__init__()
            self.history: list[EpochResult] = []
            self.stopped, self.reason, self.early_stopped = False, None, False
            self.best_weights, self.best_epoch, self.best_accuracy = None, 0, -1.0
            self._last_report = 0.0
            self._run_start = None
            self._done_batches = 0
            self._first_end, self._validation_s, self._validations = 0.0, 0.0, 0  # for an honest ETA

        def on_train_begin(self, logs=None):
            self._run_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch + 1
            self._epoch_start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self._done_batches += 1
            if trainer.stop_event.is_set():
                self.model.stop_training = True
                self.stopped, self.reason = True, "stopped by the user"
            now = time.perf_counter()
            if self._done_batches == 1:
                self._first_end = now  # the first batch traces the graph (and compiles XLA): not a rate
            last = batch + 1 == steps
            if now - self._last_report < trainer._report_interval and not last and not self.stopped:
                return
            self._last_report = now
            loss = float(logs.get("loss", math.nan))
            if not math.isfinite(loss):
                self.model.stop_training = True
                self.stopped, self.reason = True, "nan"
                return
            elapsed = now - self._run_start
            total = steps * epochs
            steady = now - self._first_end - self._validation_s
            if self._done_batches > 1 and steady > 0:
                rate = (self._done_batches - 1) / steady
            else:
                rate = self._done_batches / elapsed if elapsed > 0 else 0.0
            eta = (total - self._done_batches) / rate if rate > 0 else math.inf
            if validation is not None:  # this epoch's validation and the later ones, measured or estimated
                each = self._validation_s / self._validations if self._validations else trainer._validation_estimate(rate)
                eta += (epochs - self._epoch + 1) * each
            trainer.callbacks.on_batch(
                BatchProgress(
                    epoch=self._epoch, epochs=epochs, batch=batch + 1, steps=steps, loss=loss,
                    accuracy=float(logs.get("accuracy", math.nan)),
                    samples_per_second=rate * trainer.choice.batch_size, elapsed_s=elapsed,
                    eta_s=eta,
                    fraction=self._done_batches / total,
                )
            )

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            if self.stopped and self._done_batches % steps:
                return  # a partial epoch: not a finished epoch in the history
            if validation is not None and not self.stopped:
                # Validated here rather than by fit(), so a stop request skips it.
                validation_start = time.perf_counter()
                scores = self.model.evaluate(validation, verbose=0, return_dict=True)
                self._validation_s += time.perf_counter() - validation_start
                self._validations += 1
                logs.update({f"val_{key}": value for key, value in scores.items()})
            optimizer_lr = self.model.optimizer.learning_rate
            learning_rate = float(optimizer_lr.numpy() if hasattr(optimizer_lr, "numpy") else base_lr)
            result = EpochResult(
                epoch=epoch + 1, loss=float(logs.get("loss", math.nan)), accuracy=float(logs.get("accuracy", math.nan)),
                val_loss=float(logs.get("val_loss", math.nan)), val_accuracy=float(logs.get("val_accuracy", math.nan)),
                seconds=time.perf_counter() - self._epoch_start, learning_rate=learning_rate,
            )
            if not math.isfinite(result.loss):
                self.model.stop_training = True
                self.stopped, self.reason = True, "nan"
                return
            self.history.append(result)
            if math.isfinite(result.val_accuracy) and result.val_accuracy > self.best_accuracy:
                self.best_accuracy, self.best_epoch = result.val_accuracy, epoch + 1
                self.best_weights = self.model.get_weights()
            trainer.callbacks.on_epoch(result)
            patience = trainer.config.patience
            if patience is not None and self.best_epoch and epoch + 1 - self.best_epoch >= patience:
                self.model.stop_training = True
                self.early_stopped = True
                trainer.callbacks.on_log(f"early stop: no better validation accuracy for {patience} epochs")

    return Monitor()
