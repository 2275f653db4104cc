"""Train the reader's whole-character network (`lenet_core.wholeness`) and write it to
`resources/reader/whole-character.tflite`.

Training examples are the candidates the reader itself proposes (`reader.draft`) on synthetic
lines (`tests/line_maker.py`: 4–8 digits and capitals drawn with round pens, separated, touching
and broken into strokes), from the UNIPEN "dev" writers and from EMNIST *training* images — never
the eval writers or EMNIST test images that `benchmarks/reading_lines.py` reports on. A candidate
is whole when its ink columns cover a drawn character's (overlap ≥ 75 % of their union), as in
`reading_lines.py --fit`, which then refits the reader's CHARACTER_MODEL with the new logit.
Broken lines lift the pen by 3–10 % of the height around each junction (the benchmark's lines: 3 %),
so a character drawn in strokes that do not touch at all is still seen as one.

    .venv/bin/python tools/train_whole_character.py [--lines 3000] [--epochs 8]

About 12 min to make the examples (320 k candidates) and 20 min to train on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from line_maker import SHARED_DATA, draw_line, emnist_glyphs, pick_line, realhand_glyphs, whole_overlap  # noqa: E402

from lenet_core import reader, wholeness  # noqa: E402
from lenet_core.datasets import load_dataset  # noqa: E402
from lenet_core.inference import Recognizer  # noqa: E402

CLASSES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LAYOUTS = ("separated", "touching", "broken")
WHOLE_OVERLAP = 0.75


def examples(recognizer: Recognizer, glyphs, lines: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows (uint8) and whole/not labels of every candidate of `lines` synthetic lines."""
    rng = np.random.default_rng(seed)
    views, labels = [], []
    judge = lambda batch: np.zeros(len(batch), np.float32)  # noqa: E731  (the network being trained is not needed)
    for n in range(lines):
        spans: list = []
        # broken characters with gaps from those of the benchmark's lines (3 %) to wide ones (10 % of
        # the height each side of a junction: an H whose bar touches neither stem)
        image, _ = draw_line(pick_line(glyphs, int(rng.integers(4, 9)), rng), LAYOUTS[n % 3], rng, spans=spans,
                             gap=float(rng.uniform(0.03, 0.10)))
        made = reader.draft(image, recognizer.probabilities, recognizer.classes, judge=judge)
        cleaned = made.shared[-2].image
        for graph, found in zip(made.graphs, made.candidates):
            if not found:
                continue
            views.append((wholeness.windows(cleaned, graph, found) * 255).round().astype(np.uint8))
            labels += [whole_overlap(made, candidate, spans) >= WHOLE_OVERLAP for candidate in found]
    return np.concatenate(views), np.array(labels, np.float32)


def network():
    import keras
    from keras import layers

    x = inputs = keras.Input((*wholeness.WINDOW, 2))
    for filters in (16, 32, 48):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, layers.Dense(1)(x), name="whole_character")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=3000, help="synthetic lines per glyph source (default 3000)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "resources" / "reader" / "whole-character.tflite"))
    args = parser.parse_args()
    if args.lines < 10 or args.epochs < 1:
        parser.error("--lines must be at least 10 and --epochs at least 1")

    recognizer = Recognizer("emnist-balanced", averaging=False)
    started = time.perf_counter()
    real = realhand_glyphs(CLASSES, "dev")
    if not real:
        sys.exit(f"no real handwriting at {SHARED_DATA / 'realhand'}")
    emnist = emnist_glyphs(load_dataset(SHARED_DATA / "emnist", "balancedx", "train"), CLASSES, 20000, np.random.default_rng(12))
    parts = [examples(recognizer, real, args.lines, 11), examples(recognizer, emnist, args.lines, 12)]
    train_x, train_y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    check_x, check_y = examples(recognizer, real, max(50, args.lines // 5), 13)
    print(f"{len(train_y):,} candidates ({train_y.mean():.1%} whole), {len(check_y):,} to check; "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    from lenet_core.training import setup_tensorflow

    setup_tensorflow()
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    batch = 256

    def as_float(views, labels):
        return tf.cast(views, tf.float32) / 255.0, labels

    def stream(x, y, shuffle):
        data = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            data = data.shuffle(len(y), seed=0, reshuffle_each_iteration=True)
        return data.batch(batch).map(as_float).prefetch(2)

    model = network()
    steps = args.epochs * -(-len(train_y) // batch)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[keras.metrics.AUC(from_logits=True, name="auc")])
    model.fit(stream(train_x, train_y, True), epochs=args.epochs, validation_data=stream(check_x, check_y, False), verbose=2)

    import tempfile

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "model.tflite"
        model.export(str(target), format="litert")
        network_bytes = target.read_bytes()
    judge = wholeness.Judge(network_bytes)
    logits = judge(check_x.astype(np.float32) / 255.0)
    from sklearn.metrics import roc_auc_score

    print(f"LiteRT on the check lines: AUC {roc_auc_score(check_y, logits):.4f}; {time.perf_counter() - started:.0f} s in all")
    from lenet_core.paths import atomic_write

    with atomic_write(out) as handle:
        handle.write(network_bytes)
    print(f"wrote {out} ({len(network_bytes):,} bytes)")


if __name__ == "__main__":
    main()
