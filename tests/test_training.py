"""Training on a few hundred real EMNIST digits, cooperative stop, NaN handling, and the
save → load round trip through a model bundle."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import numpy as np
import pytest

from lenet_core import bundle, training
from lenet_core.inference import Recognizer
from lenet_core.training import TrainConfig, Trainer, TrainingCallbacks, TrainingError


class Recorder(TrainingCallbacks):
    def __init__(self, stop_after_batches: int | None = None, stop_event: threading.Event | None = None):
        self.started, self.batches, self.epochs, self.logs = None, [], [], []
        self.stop_after, self.stop_event = stop_after_batches, stop_event

    def on_start(self, info):
        self.started = info

    def on_batch(self, progress):
        self.batches.append(progress)
        if self.stop_after is not None and len(self.batches) == self.stop_after:
            self.stop_event.set()

    def on_epoch(self, result):
        self.epochs.append(result)

    def on_log(self, message):
        self.logs.append(message)


def quick_config(digits_mini, **changes) -> TrainConfig:
    settings = dict(data=str(digits_mini), split="digitsmini", architecture="lenet5", epochs=4, batch_size=32,
                    learning_rate=3e-3, augment=False, seed=1)
    settings.update(changes)
    return TrainConfig(**settings)


@pytest.fixture(scope="module")
def trained(digits_mini, tmp_path_factory):
    recorder = Recorder()
    result = Trainer(quick_config(digits_mini), recorder, report_interval_s=0).run()
    path = result.save(tmp_path_factory.mktemp("models") / "digits-test.lenet")
    return result, recorder, path


def test_training_beats_chance_and_reports_progress(trained):
    result, recorder, _ = trained
    assert recorder.started.train_samples == 720 and recorder.started.validation_samples == 80
    assert recorder.started.test_samples == 200 and recorder.started.device.startswith(("CPU", "GPU"))
    assert [epoch.epoch for epoch in recorder.epochs] == [1, 2, 3, 4]
    assert all(np.isfinite(epoch.val_accuracy) for epoch in recorder.epochs)
    assert len(recorder.batches) == 4 * recorder.started.steps_per_epoch  # every batch when unthrottled
    assert recorder.batches[-1].fraction == pytest.approx(1.0)
    assert all(isinstance(b.loss, float) and b.eta_s >= 0 for b in recorder.batches)
    assert result.evaluation.accuracy > 0.3, "10 classes: chance is 0.1"
    assert result.evaluation.confusion.shape == (10, 10) and result.evaluation.confusion.sum() == 200
    assert 0 < result.evaluation.weighted_f1 <= 1
    assert not result.partial


def test_bundle_round_trip_matches_keras(trained):
    result, _, path = trained
    loaded = bundle.read_bundle(path)
    assert loaded.classes == tuple("0123456789")
    assert loaded.meta["architecture"] == "lenet5" and loaded.meta["preprocessing_version"] >= 1
    assert loaded.meta["metrics"]["accuracy"] == pytest.approx(result.evaluation.accuracy, abs=1e-4)
    assert loaded.meta["training"]["epochs_run"] == 4 and loaded.meta["training"]["partial"] is False
    assert loaded.meta["dataset"]["train_samples"] == 720
    recognizer = Recognizer(path)
    images = result.test.images[:50].astype(np.float32) / 255.0
    lite = recognizer.probabilities(images)
    keras_out = result.model.predict(images[..., None], verbose=0)
    np.testing.assert_allclose(lite, keras_out, atol=1e-5)
    np.testing.assert_allclose(recognizer.probabilities(images[0]), keras_out[0], atol=1e-5)
    reloaded = training.load_keras_model(loaded)
    np.testing.assert_allclose(reloaded.predict(images[..., None], verbose=0), keras_out, atol=1e-5)


def test_cooperative_stop_within_one_batch(digits_mini):
    stop = threading.Event()
    recorder = Recorder(stop_after_batches=3, stop_event=stop)
    result = Trainer(quick_config(digits_mini, epochs=3), recorder, stop, report_interval_s=0).run()
    assert result.stopped and result.partial and result.stop_reason == "stopped by the user"
    # stop was requested after batch 3; batch 3's report is the last one (plus the one at stop)
    assert len(recorder.batches) <= 4
    assert recorder.epochs == []  # the interrupted epoch is not reported as finished
    assert result.evaluation is None or result.evaluation.samples == 200


def test_partial_run_saves_marked_partial(digits_mini, tmp_path):
    stop = threading.Event()
    recorder = Recorder(stop_after_batches=30, stop_event=stop)
    result = Trainer(quick_config(digits_mini, epochs=5), recorder, stop, report_interval_s=0).run()
    assert result.partial and 1 <= len(result.history) < 5
    path = result.save(tmp_path / "partial.lenet")
    assert bundle.read_bundle(path).partial


def test_early_stopping_on_validation(digits_mini):
    recorder = Recorder()
    # A learning rate of zero never improves after epoch 1: patience 1 stops at epoch 2.
    config = quick_config(digits_mini, epochs=6, learning_rate=1e-12, schedule="constant", patience=1)
    result = Trainer(config, recorder).run()
    assert len(result.history) == 2 and not result.partial
    assert any("early stop" in line for line in recorder.logs)


def test_stop_before_the_first_batch_trains_nothing(digits_mini):
    stop = threading.Event()
    stop.set()
    with pytest.raises(training.TrainingStopped, match="nothing was trained"):
        Trainer(quick_config(digits_mini), stop_event=stop).run()


def test_nan_loss_stops_with_a_clear_message(digits_mini):
    config = quick_config(digits_mini, epochs=2, learning_rate=1e20, architecture="lenet5", schedule="constant")
    with pytest.raises(TrainingError, match="NaN"):
        Trainer(config).run()


def test_bad_configs_are_refused(digits_mini):
    with pytest.raises(TrainingError, match="unknown architecture"):
        Trainer(quick_config(digits_mini, architecture="resnet"))
    with pytest.raises(TrainingError, match="validation fraction"):
        Trainer(quick_config(digits_mini, validation_fraction=0.95))
    with pytest.raises(TrainingError, match="dropout"):
        Trainer(quick_config(digits_mini, dropout=1.0))
    with pytest.raises(TrainingError, match="learning rate"):
        Trainer(quick_config(digits_mini, learning_rate=float("nan")))
    with pytest.raises(TrainingError, match="learning rate"):
        Trainer(quick_config(digits_mini, learning_rate=0.0))
    with pytest.raises(TrainingError, match="label smoothing"):
        Trainer(quick_config(digits_mini, label_smoothing=5.0))
    with pytest.raises(TrainingError, match="patience"):
        Trainer(quick_config(digits_mini, patience=-1))
    with pytest.raises(TrainingError, match="augmentation strength"):
        Trainer(quick_config(digits_mini, augment_strength=-0.5))
    with pytest.raises(TrainingError, match="no data set"):
        Trainer(TrainConfig()).run()


def dropout_rates(model) -> list[float]:
    return [layer.rate for layer in model.layers if type(layer).__name__ == "Dropout"]


def test_dropout_is_the_architectures_unless_asked():
    from lenet_core import models

    assert dropout_rates(models.build("lenet-plus", 10, jit_compile=False)) == [0.3, 0.3]
    assert dropout_rates(models.build("lenet-plus", 10, dropout=0.05, jit_compile=False)) == [0.05, 0.05]
    assert dropout_rates(models.build("lenet5", 10, jit_compile=False)) == [0.2, 0.2]
    assert dropout_rates(models.build("lenet5-classic", 10, jit_compile=False)) == []  # the seed recipe has none
    assert dropout_rates(models.build("lenet5-classic", 10, dropout=0.25, jit_compile=False)) == [0.25, 0.25]
    with pytest.raises(ValueError, match="dropout"):
        models.build("lenet5", 10, dropout=1.5)


def test_a_short_run_of_the_batch_normalised_network_reads_its_test_images(digits_mini):
    """21 steps (800 images, 3 epochs): with Keras's fixed 0.99 momentum the moving statistics
    were still mostly their starting values, and the network, 80 % right while training,
    called every test image a "1" (12 %)."""
    from lenet_core import models

    config = quick_config(digits_mini, architecture="lenet-plus", epochs=3, batch_size=128, learning_rate=None,
                          validation_fraction=0.0, augment=True, seed=0)
    result = Trainer(config).run()
    momenta = [layer.momentum for layer in result.model.layers if type(layer).__name__ == "BatchNormalization"]
    assert momenta == [models.batch_norm_momentum(21)] * 4
    assert result.evaluation.accuracy > 0.8, f"test {result.evaluation.accuracy:.1%}, train {result.history[-1].accuracy:.1%}"


def test_batch_norm_momentum_follows_the_run_length():
    from lenet_core import models

    assert models.batch_norm_momentum(21) ** 21 == pytest.approx(1e-4)  # the start weighs 1e-4 at the end
    assert models.batch_norm_momentum(917) == models.batch_norm_momentum(14_160) == 0.99  # Keras's, for long runs
    assert 0.98 < models.batch_norm_momentum(708) < 0.99  # one epoch of balancedx
    model = models.build("lenet-plus", 10, batch_norm_momentum=0.5, jit_compile=False)
    assert {layer.momentum for layer in model.layers if type(layer).__name__ == "BatchNormalization"} == {0.5}
    models.build("lenet5", 10, batch_norm_momentum=0.5, jit_compile=False)  # no batch norm: ignored


def test_augmentation_strength_scales_every_range(digits_mini):
    import tensorflow as tf

    from lenet_core.augment import AugmentSettings, augment_batch
    from lenet_core.datasets import load_dataset

    base = AugmentSettings()
    double = base.scaled(2.0)
    assert (double.rotation_deg, double.shear, double.shift_px) == (2 * base.rotation_deg, 2 * base.shear, 2 * base.shift_px)
    assert double.scale == pytest.approx((1 - 2 * (1 - base.scale[0]), 1 + 2 * (base.scale[1] - 1)))
    assert base.scaled(1.0) == base
    images = load_dataset(digits_mini, "digitsmini", "test").images[:64].astype(np.float32)[..., None] / 255.0
    peak_scaled = images / images.max(axis=(1, 2, 3), keepdims=True)
    still = augment_batch(tf.constant(images), base.scaled(0.0), seed=3).numpy()
    assert np.abs(still - peak_scaled).max() < 1e-4, "strength 0 leaves every image as it is"
    changes = [np.abs(augment_batch(tf.constant(images), base.scaled(s), seed=3).numpy() - peak_scaled).mean() for s in (0.5, 1.5)]
    assert 0 < changes[0] < changes[1], "stronger augmentation changes the images more"


def test_stratified_validation_split(digits_mini):
    from lenet_core.datasets import load_dataset

    data = load_dataset(digits_mini, "digitsmini", "train")
    train, validation = training.split_validation(data, 0.25, seed=3)
    assert len(train) + len(validation) == len(data)
    share = validation.class_counts() / data.class_counts()
    assert np.all(np.abs(share - 0.25) < 0.05)
    assert not set(map(bytes, train.images)) & set(map(bytes, validation.images))


def test_class_weights_balance_rare_classes():
    weights = training.class_weights(np.array([0, 0, 0, 1]), 3)
    assert weights[1] == pytest.approx(3 * weights[0]) and weights[2] == 0


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "model.lenet"
    bundle.write_bundle(target, {"name": "old", "classes": ["0", "1"]}, b"first")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        bundle.write_bundle(target, {"name": "new", "classes": ["0", "1"]}, b"second")
    monkeypatch.undo()
    assert json.loads(zipfile.ZipFile(target).read("meta.json"))["name"] == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.lenet"]  # no temporary file left behind


def test_the_input_pipeline_gives_every_image_once_an_epoch_with_its_label_and_weight(digits_mini):
    from lenet_core.datasets import load_dataset

    data = load_dataset(digits_mini, "digitsmini", "train")
    weights = training.class_weights(data.labels, data.n_classes)
    dataset = training.make_tf_dataset(data, 96, True, False, seed=3, weights=weights)
    epochs = []
    for _ in range(2):
        batches = list(dataset)
        assert [len(x) for x, _, _ in batches] == [96] * 8 + [800 - 8 * 96]
        images = np.concatenate([x.numpy() for x, _, _ in batches])
        labels = np.concatenate([y.numpy().argmax(1) for _, y, _ in batches])
        sample_weights = np.concatenate([w.numpy() for _, _, w in batches])
        assert images.shape == (800, 28, 28, 1) and images.dtype == np.float32
        # Every image exactly once, with its own label and its class's weight.
        keys = {image.tobytes(): label for image, label in zip(data.images, data.labels)}
        assert sorted(keys.get((image[..., 0] * 255).round().astype(np.uint8).tobytes(), -1) == label
                      for image, label in zip(images, labels)) == [True] * 800
        np.testing.assert_allclose(sample_weights, weights[labels])
        epochs.append(labels)
    assert not np.array_equal(epochs[0], epochs[1])  # shuffled anew every epoch
    unshuffled = np.concatenate([y.numpy().argmax(1) for _, y in training.make_tf_dataset(data, 96, False, False, seed=3)])
    np.testing.assert_array_equal(unshuffled, data.labels)


@pytest.mark.parametrize("shape", [(64, 7, 7, 16), (64, 24)])
def test_the_fused_batch_norm_layer_trains_like_keras(shape):
    """The Trainer's lenet-plus trains with TensorFlow's fused batch-norm kernel (about 30 %
    less CPU a sample on 2 cores). On conv maps and on dense features alike, one training
    step must give Keras's outputs and moving statistics, and gradients as close to exact
    (Keras's layer in float64) as Keras's own float32 layer is."""
    import keras
    import tensorflow as tf

    from lenet_core import models

    rng = np.random.default_rng(0)
    inputs = rng.normal(0.3, 0.05, shape)  # a small spread on an offset, as after lenet-plus's first convolution
    weights = rng.normal(size=shape)  # a smooth loss: sum(outputs × weights)
    gamma, beta = rng.uniform(0.5, 1.5, shape[-1]), rng.normal(0, 0.1, shape[-1])
    results = {}
    for kind, layer_class, dtype in (("keras", keras.layers.BatchNormalization, "float32"),
                                     ("fused", models.fused_batch_norm_layer(), "float32"),
                                     ("exact", keras.layers.BatchNormalization, "float64")):
        layer = layer_class(momentum=0.9, dtype=dtype)
        layer.build(shape)
        layer.gamma.assign(gamma.astype(dtype))
        layer.beta.assign(beta.astype(dtype))
        x = tf.constant(inputs, dtype)
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x, training=True)
            loss = tf.reduce_sum(outputs * tf.constant(weights, dtype))
        gradients = [g.numpy().astype(np.float64) for g in tape.gradient(loss, [x, layer.gamma, layer.beta])]
        results[kind] = (outputs.numpy().astype(np.float64), gradients,
                         [layer.moving_mean.numpy().astype(np.float64), layer.moving_variance.numpy().astype(np.float64)])
    assert type(models.fused_batch_norm_layer()(momentum=0.9)).__name__ == "FusedBatchNormalization"
    exact_out, exact_grads, exact_stats = results["exact"]
    keras_out, keras_grads, _ = results["keras"]
    fused_out, fused_grads, fused_stats = results["fused"]
    np.testing.assert_allclose(fused_out, exact_out, rtol=1e-4, atol=1e-4)
    for name, fused_grad, keras_grad, exact_grad in zip(("inputs", "gamma", "beta"), fused_grads, keras_grads, exact_grads):
        scale = np.linalg.norm(exact_grad)
        keras_error, fused_error = np.linalg.norm(keras_grad - exact_grad) / scale, np.linalg.norm(fused_grad - exact_grad) / scale
        assert fused_error <= 2 * keras_error + 1e-5, (name, fused_error, keras_error)
    # What the step added to the moving statistics (they start at mean 0, variance 1): the
    # batch's mean and its biased variance, as Keras tracks them.
    for fused_stat, exact_stat, start in zip(fused_stats, exact_stats, (0.0, 1.0)):
        np.testing.assert_allclose((fused_stat - 0.9 * start) / 0.1, (exact_stat - 0.9 * start) / 0.1, rtol=1e-3)
    np.testing.assert_allclose((exact_stats[1] - 0.9) / 0.1, inputs.reshape(-1, shape[-1]).var(axis=0), rtol=1e-6)


def test_the_trainer_saves_keras_own_batch_norm(digits_mini, tmp_path):
    """The fused layer is the Trainer's training detail: the bundle holds Keras's own layer."""
    config = quick_config(digits_mini, architecture="lenet-plus", epochs=1, batch_size=64, learning_rate=None)
    result = Trainer(config).run()
    path = result.save(tmp_path / "fused.lenet")
    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(io.BytesIO(archive.read("model.keras"))) as keras_file:
        saved = keras_file.read("config.json").decode()
    assert '"BatchNormalization"' in saved and "Fused" not in saved
    assert {type(layer).__name__ for layer in result.model.layers if "batch" in layer.name} == {"BatchNormalization"}
