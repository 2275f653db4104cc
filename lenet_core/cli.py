"""The command line: `train`, `evaluate`, `predict`, `read` and `models` over the same core the
GUI uses. Errors are one line on stderr and a non-zero exit; other inputs still get processed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # as a shell reports a Ctrl-C


def _error(message: str) -> None:
    print(f"lenet-studio: error: {message}", file=sys.stderr)


def _options(args):
    from lenet_core import preprocess

    mode = "drawing" if getattr(args, "drawing", False) else "photo"
    defaults = preprocess.PipelineOptions()
    return preprocess.PipelineOptions(
        mode=mode,
        invert=getattr(args, "invert", "auto"),
        threshold=getattr(args, "threshold", defaults.threshold),
        threshold_level=getattr(args, "level", defaults.threshold_level),
        stroke=getattr(args, "stroke", defaults.stroke),
        border=getattr(args, "border", defaults.border),
        remove_lines=not getattr(args, "keep_lines", False),
    )


def _region(text: str) -> tuple[int, int, int, int]:
    """`--region X,Y,W,H` in pixels of the (upright) image."""
    try:
        x, y, w, h = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H in pixels, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError("the region's width and height must be positive")
    return x, y, w, h


def _each_image(args, handle) -> int:
    """Load the model, then `handle(recognizer, path, image, options)` for every image argument;
    a bad image is one error line and the others still run. Returns the exit code."""
    from lenet_core.bundle import BundleError
    from lenet_core.imageio import ImageReadError, read_image
    from lenet_core.inference import Recognizer

    try:
        recognizer = Recognizer(args.model)
    except (BundleError, ValueError) as error:
        _error(str(error))
        return EXIT_ERROR
    if getattr(args, "charset", None) is not None:
        from lenet_core import charset

        try:
            charset.mask(args.charset, recognizer.classes)
        except charset.CharsetError as error:
            _error(f"--charset: {error}")
            return EXIT_USAGE
    failures = 0
    options = _options(args)
    for path in args.images:
        try:
            handle(recognizer, path, read_image(path), options)
        except ImageReadError as error:
            _error(str(error))
            failures += 1
        except ValueError as error:  # e.g. a --region outside this image
            _error(f"{path}: {error}")
            failures += 1
    return EXIT_ERROR if failures else EXIT_OK


def _top(pairs) -> list[dict]:
    return [{"char": char, "p": round(p, 5)} for char, p in pairs]


def cmd_predict(args) -> int:
    def predict(recognizer, path, image, options) -> None:
        started = time.perf_counter()
        prediction = recognizer.recognise(image, options, args.top, charset=args.charset)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if args.json:
            record = {"path": str(path), "model": recognizer.name, "empty": prediction.empty, "top": _top(prediction.top), "ms": round(elapsed_ms, 2)}
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif prediction.empty:
            print(f"{path}: nothing to read (no ink found)", flush=True)
        else:
            guesses = "  ".join(f"{char} {p:.1%}" for char, p in prediction.top)
            print(f"{path}: {guesses}", flush=True)

    return _each_image(args, predict)


def cmd_read(args) -> int:
    """Every character of each image, segmented and read exactly as the Photo page does."""

    def read(recognizer, path, image, options) -> None:
        started = time.perf_counter()
        reading = recognizer.read(image, options, args.top, region=args.region, split=not args.one, charset=args.charset,
                                  search=not args.components)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if args.json:
            record = {
                "path": str(path),
                "model": recognizer.name,
                "text": reading.text,
                "size": [int(image.shape[1]), int(image.shape[0])],
                "characters": [
                    {"char": character.char, "box": list(character.box), "line": character.line, "word": character.word,
                     "top": _top(character.top)}
                    for character in reading.characters
                ],
                "alternative": reading.alternative,
                "left_out": reading.segmentation.left_out,
                "ms": round(elapsed_ms, 2),
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
            return
        if reading.segmentation.left_out:
            print(f"lenet-studio: note: {path}: only the first {len(reading.characters)} characters were read, "
                  f"{reading.segmentation.left_out} more were not", file=sys.stderr)
        if reading.empty:
            print(f"{path}: nothing to read (no ink found)", flush=True)
        elif "\n" in reading.text:
            print(f"{path}:", *(f"  {line}" for line in reading.text.split("\n")), sep="\n", flush=True)
        else:
            print(f"{path}: {reading.text}", flush=True)

    return _each_image(args, read)


def cmd_evaluate(args) -> int:
    import numpy as np

    from lenet_core.bundle import BundleError
    from lenet_core.datasets import DatasetError, load_dataset
    from lenet_core.evaluate import evaluate
    from lenet_core.inference import Recognizer

    try:
        recognizer = Recognizer(args.model)
        data = load_dataset(args.data, args.split, args.part)
    except (BundleError, DatasetError, ValueError) as error:
        _error(str(error))
        return EXIT_ERROR
    if data.classes != recognizer.classes:
        _error(f"the model has {len(recognizer.classes)} classes but {data.name} has {data.n_classes}; pick a matching split")
        return EXIT_ERROR
    if args.limit and len(data) > args.limit:
        data = data.subset(np.arange(args.limit))
    started = time.perf_counter()
    inputs = data.images.astype(np.float32) / 255.0
    progress = _Counter("evaluating", len(inputs) * (1 if args.no_averaging else 2))
    try:  # a damaged network's NaN probabilities are a ValueError with one line
        result = evaluate(_probabilities_counted(recognizer, inputs, False, progress), data.labels, data.classes, worst=args.worst)
        averaged = None
        if not args.no_averaging:  # what the app shows: test-time averaging (lenet_core.inference)
            averaged = evaluate(_probabilities_counted(recognizer, inputs, True, progress), data.labels, data.classes, worst=args.worst)
    except ValueError as error:
        progress.done()
        _error(str(error))
        return EXIT_ERROR
    progress.done()
    seconds = time.perf_counter() - started
    if args.json:
        extra = {"accuracy_averaged": round(averaged.accuracy, 5), "weighted_f1_averaged": round(averaged.weighted_f1, 5)} if averaged else {}
        print(json.dumps({"model": recognizer.name, "data": data.name, **result.summary(), **extra, "seconds": round(seconds, 2)}))
    else:
        print(f"{recognizer.name} on {data.name}:")
        print(result.report())
        if averaged:
            print(f"with test-time averaging (as the app reads): accuracy {averaged.accuracy:.2%}   weighted F1 {averaged.weighted_f1:.4f}")
    return EXIT_OK


class _Counter:
    """How far a long job is, on stderr: a live line in a terminal, a plain line every tenth when
    piped (so a log shows that something is happening, without a line per step)."""

    def __init__(self, what: str, total: int):
        self.what, self.total, self.count = what, max(int(total), 1), 0
        self.live = sys.stderr.isatty()
        self.started = time.perf_counter()
        self._tenth = 0

    def add(self, n: int) -> None:
        self.count += n
        share = min(self.count / self.total, 1.0)
        if self.live:
            print(f"\r{self.what}: {self.count:,}/{self.total:,} ({share:.0%})", end="", file=sys.stderr, flush=True)
        elif int(share * 10) > self._tenth:
            self._tenth = int(share * 10)
            print(f"{self.what}: {self.count:,}/{self.total:,} ({share:.0%}, {time.perf_counter() - self.started:.0f}s)",
                  file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _probabilities_counted(recognizer, inputs, averaging: bool, progress: _Counter, chunk: int = 2000):
    import numpy as np

    parts = []
    for start in range(0, len(inputs), chunk):
        part = inputs[start : start + chunk]
        parts.append(recognizer.probabilities_batched(part, averaging=averaging))
        progress.add(len(part))
    return np.concatenate(parts) if parts else recognizer.probabilities_batched(inputs[:0], averaging=averaging)


class _PrintProgress:
    """Training progress on stderr: one line per epoch, a live line in a terminal."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.live = sys.stderr.isatty()
        self._tenth = (0, 0)  # (epoch, tenth of it) last printed when piped

    def on_start(self, info):
        if not self.quiet:
            print(f"{info.architecture}: {info.parameters:,} parameters, {len(info.classes)} classes, device {info.device}", file=sys.stderr)

    def on_batch(self, progress):
        if not self.live and not self.quiet:  # piped: a plain line every tenth of an epoch
            tenth = (progress.epoch, int(10 * progress.batch / max(progress.steps, 1)))
            if tenth[1] > 0 and tenth > self._tenth and progress.batch < progress.steps:
                self._tenth = tenth
                print(
                    f"  batch {progress.batch}/{progress.steps} of epoch {progress.epoch}/{progress.epochs}: "
                    f"loss {progress.loss:.4f} acc {progress.accuracy:.3f} ETA {progress.eta_s:,.0f}s",
                    file=sys.stderr, flush=True,
                )
        if self.live and not self.quiet:
            print(
                f"\repoch {progress.epoch}/{progress.epochs} batch {progress.batch}/{progress.steps} "
                f"loss {progress.loss:.4f} acc {progress.accuracy:.3f} {progress.samples_per_second:,.0f}/s ETA {progress.eta_s:,.0f}s ",
                end="", file=sys.stderr, flush=True,
            )

    def on_epoch(self, result):
        if not self.quiet:
            prefix = "\r" if self.live else ""
            validation = (
                f" val_loss {result.val_loss:.4f} val_acc {result.val_accuracy:.4f}" if math.isfinite(result.val_loss) else ""
            )  # none with --validation 0
            print(
                f"{prefix}epoch {result.epoch}: loss {result.loss:.4f} acc {result.accuracy:.4f}{validation} "
                f"({result.seconds:.0f}s, lr {result.learning_rate:.2g})",
                file=sys.stderr, flush=True,
            )

    def on_log(self, message):
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


def train_config(args):
    """The TrainConfig a `train` command line describes."""
    from lenet_core import adapt
    from lenet_core.training import TrainConfig

    base = getattr(args, "base", None)
    epochs = args.epochs if args.epochs is not None else (adapt.FINE_TUNE_EPOCHS if base else 10)
    batch_size = args.batch_size if args.batch_size not in (None, "auto") else (adapt.FINE_TUNE_BATCH if base else 128)
    config = TrainConfig(
        base=base, data=str(args.data), split=args.split, architecture=args.arch, epochs=epochs, batch_size=batch_size,
        learning_rate=args.lr, validation_fraction=args.validation, augment=not args.no_augment, seed=args.seed,
        schedule=args.schedule, label_smoothing=args.label_smoothing, balance_classes=not args.no_balance,
        max_samples=args.max_samples, patience=args.patience, dropout=args.dropout, augment_strength=args.augment_strength,
        pen_fraction=args.pen_fraction, extra_data=args.extra_data, extra_per_class=args.extra_per_class,
        real_data=args.real_data, real_repeat=args.real_repeat, touching=args.touching,
    )
    return _speed_settings(config, args)


# --- speed, presets and distribution: `--jit`, `--batch-size auto`, `--preset`, `--strategy` ------

_CONFIG_FIELDS = {  # train option → the TrainConfig field it sets (what a preset must leave alone)
    "arch": "architecture", "epochs": "epochs", "batch_size": "batch_size", "lr": "learning_rate",
    "validation": "validation_fraction", "schedule": "schedule", "label_smoothing": "label_smoothing",
    "dropout": "dropout", "no_augment": "augment", "augment_strength": "augment_strength", "jit": "jit_compile",
    "warmup": "warmup_epochs", "no_balance": "balance_classes", "seed": "seed", "patience": "patience",
}


def _batch_size(text: str):
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of samples or auto, got {text!r}") from None


def _given_options(args) -> set[str]:
    """The train options the command line spells out (a preset fills in only the others)."""
    argv = getattr(args, "argv", None)
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    if argv is None:  # parsed elsewhere (tests): what differs from the defaults
        return {action.dest for action in train._actions if getattr(args, action.dest, None) != action.default}
    for action in train._actions:
        action.default = argparse.SUPPRESS
    given, _ = train.parse_known_args(argv[argv.index("train") + 1:] if "train" in argv else argv)
    return set(vars(given))


def _speed_settings(config, args):
    """The preset, compile mode, batch choice and strategy; ValueError (one line) for bad values."""
    from dataclasses import replace

    from lenet_core import distribute, presets

    if args.jit not in ("on", "off", "auto"):
        raise ValueError(f"--jit must be on, off or auto, not {args.jit!r}")
    if args.strategy not in distribute.STRATEGIES:
        raise ValueError(f"--strategy must be one of {', '.join(distribute.STRATEGIES)}, not {args.strategy!r}")
    if args.strategy == "multi-worker":
        distribute.cluster_spec()  # TF_CONFIG checked before TensorFlow loads (DistributeError is a ValueError)
    if args.warmup is not None and not 0 <= args.warmup < config.epochs:
        raise ValueError("--warmup must be at least 0 and below the number of epochs")
    config = replace(
        config, jit_compile={"on": True, "off": False, "auto": None}[args.jit], auto_batch_size=args.batch_size == "auto",
        strategy=args.strategy, warmup_epochs=args.warmup or 0.0,
    )
    if args.preset is not None:
        if args.preset not in presets.PRESETS:
            raise ValueError(f"--preset must be one of {', '.join(presets.PRESETS)}, not {args.preset!r}")
        given = {_CONFIG_FIELDS[name] for name in _given_options(args) if name in _CONFIG_FIELDS}
        config = presets.preset_config(args.preset, config, keep=given)
    return config


def cmd_train(args) -> int:
    import signal
    import threading

    from lenet_core.datasets import DatasetError
    from lenet_core.paths import user_models_dir
    from lenet_core.training import Trainer, TrainingError

    try:
        config = train_config(args)
    except ValueError as error:
        _error(str(error))
        return EXIT_USAGE
    out = Path(args.out) if args.out else user_models_dir() / f"{args.name or 'model'}.lenet"
    problem = _output_problem(out)  # before training: an hour's run is not lost to a bad --out
    if problem:
        _error(problem)
        return EXIT_ERROR
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl-C: finish the batch, save as partial
    try:
        result = Trainer(config, _PrintProgress(args.quiet), stop).run()
    except (DatasetError, TrainingError, ValueError) as error:
        _error(str(error))
        return EXIT_ERROR
    from lenet_core.distribute import is_chief

    if not is_chief(config.strategy):  # a multi-worker run: the chief saves the model
        print(json.dumps({"saved": None, "note": "not the chief worker: the chief saves the model",
                          "epochs_run": len(result.history), "seconds": round(result.seconds, 1), "device": result.device}))
        return EXIT_OK
    if not result.history:  # stopped (Ctrl-C) before one epoch ended: a model of nothing
        _error(f"stopped before the first epoch ended ({result.stop_reason or 'stopped'}): nothing was saved")
        return EXIT_INTERRUPTED
    try:
        path = result.save(out, args.name or out.stem)
    except OSError as error:
        _error(f"cannot save {out} ({error.strerror or error})")
        return EXIT_ERROR
    summary = result.metadata(args.name or out.stem)
    print(json.dumps({
        "saved": str(path), "architecture": config.architecture, "epochs_run": len(result.history), "partial": result.partial,
        "accuracy": summary["metrics"].get("accuracy"), "weighted_f1": summary["metrics"].get("weighted_f1"),
        "seconds": round(result.seconds, 1), "device": result.device,
        **({"adaptation": summary["adaptation"]} if "adaptation" in summary else {}),
    }))
    return EXIT_OK


def cmd_export(args) -> int:
    from lenet_core.bundle import BundleError
    from lenet_core.export import ExportError, export_model

    try:
        written = export_model(args.model, args.format, args.out)
    except (BundleError, ExportError) as error:
        _error(str(error))
        return EXIT_ERROR
    except OSError as error:
        _error(f"{args.out}: cannot write ({error.strerror or error})")
        return EXIT_ERROR
    print(json.dumps({"exported": str(Path(args.out)), "format": args.format, "files": [path.name for path in written]}))
    return EXIT_OK


def _output_problem(out: Path) -> str | None:
    from lenet_core.bundle import SUFFIX
    from lenet_core.safety import output_problem

    target = out if out.suffix == SUFFIX else out.with_name(out.name + SUFFIX)  # as bundle.write_bundle names it
    return output_problem(out) or (output_problem(target) if target != out else None)


def cmd_models(args) -> int:
    from lenet_core.bundle import list_models

    listing = list_models()
    for model in listing.bundles:
        origin = "shipped" if model.shipped else str(model.path)
        print(f"{model.describe()}  [{origin}]")
    for skipped in listing.skipped:
        print(f"skipped {skipped}", file=sys.stderr)
    return EXIT_OK


CHARSET_HELP = ("characters the answer may hold: all, digits, letters, upper, lower, or a string of them "
                "such as 0123456789ABCDEF (default all)")


def build_parser() -> argparse.ArgumentParser:
    from lenet_core import __version__

    parser = argparse.ArgumentParser(prog="lenet-studio", description="LeNet Studio: handwriting recognition with LeNet-5 networks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="recognise one character per image file")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", help="model name or .lenet file (default: emnist-balanced)")
    predict.add_argument("--top", type=int, default=5, metavar="K", help="how many guesses to print (default 5)")
    predict.add_argument("--json", action="store_true", help="one JSON object per image")
    predict.add_argument("--drawing", action="store_true", help="clean drawings: skip the photo thresholding")
    predict.add_argument("--invert", choices=("auto", "on", "off"), default="auto", help="ink polarity (default auto)")
    predict.add_argument("--charset", metavar="SET", help=CHARSET_HELP)
    predict.set_defaults(run=cmd_predict)

    read = commands.add_parser("read", help="read every character in each image file (a word, a code, lines of text)")
    read.add_argument("images", nargs="+", metavar="IMAGE")
    read.add_argument("--model", help="model name or .lenet file (default: emnist-balanced)")
    read.add_argument("--top", type=int, default=5, metavar="K", help="guesses per character in --json (default 5)")
    read.add_argument("--json", action="store_true", help="one JSON object per image: text, boxes, top-k per character")
    read.add_argument("--region", type=_region, metavar="X,Y,W,H", help="read only this part of the image")
    read.add_argument("--one", action="store_true", help="read all the ink as one character")
    read.add_argument("--charset", metavar="SET", help=CHARSET_HELP)
    read.add_argument("--components", action="store_true",
                      help="the old reader: one character per blob of ink, no cuts through touching characters")
    read.add_argument("--drawing", action="store_true", help="clean drawings: skip the photo thresholding")
    read.add_argument("--invert", choices=("auto", "on", "off"), default="auto",
                      help="ink polarity: on = dark ink on light paper, off = light on dark (default auto)")
    read.add_argument("--threshold", choices=("otsu", "adaptive", "fixed", "none"), default="otsu", help="(default otsu)")
    read.add_argument("--level", type=float, default=0.5, help="ink level 0..1 for --threshold fixed (default 0.5)")
    read.add_argument("--stroke", type=float, help="thicken strokes by this much (28-px units; default: automatic)")
    read.add_argument("--border", type=float, default=2.0, help="empty margin around each character, 28-px units (default 2)")
    read.add_argument("--keep-lines", action="store_true", help="do not remove the rules of lined or squared paper")
    read.set_defaults(run=cmd_read)

    evaluate = commands.add_parser("evaluate", help="accuracy, weighted F1 and worst confusions on a data set")
    evaluate.add_argument("--model", help="model name or .lenet file (default: emnist-balanced)")
    evaluate.add_argument("--data", required=True, help="data folder, gzip.zip, CSV, .mat or image folder")
    evaluate.add_argument("--split", help="split name, e.g. balancedx (needed when the source has several)")
    evaluate.add_argument("--part", default="test", help="train or test (default test)")
    evaluate.add_argument("--limit", type=int, help="only the first N samples")
    evaluate.add_argument("--worst", type=int, default=10, help="how many confused pairs to list")
    evaluate.add_argument("--no-averaging", action="store_true", help="skip the test-time-averaged figures")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_evaluate)

    train = commands.add_parser("train", help="train a network and save it as a model")
    from lenet_core.models import ARCHITECTURES, DEFAULT_ARCHITECTURE

    train.add_argument("--data", required=True, help="data folder, gzip.zip, CSV, .mat or image folder")
    train.add_argument("--split", help="split name, e.g. balancedx")
    train.add_argument("--arch", choices=sorted(ARCHITECTURES), default=DEFAULT_ARCHITECTURE)
    train.add_argument("--base", metavar="MODEL",
                       help="fine-tune this model (name or .lenet) on the data instead of training from scratch; "
                            "its classes are kept and its architecture used")
    train.add_argument("--epochs", type=int, help="(default 10; 12 with --base)")
    train.add_argument("--batch-size", type=_batch_size,
                       help="samples per step, or auto: the fastest here (default 128; 32 with --base)")
    train.add_argument("--lr", type=float, help="learning rate (default: the architecture's; 0.0005 with --base)")
    train.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    train.add_argument("--validation", type=float, default=0.1, help="validation fraction (default 0.1)")
    train.add_argument("--no-augment", action="store_true")
    train.add_argument("--augment-strength", type=float, default=1.0, metavar="S",
                       help="scale the augmentation's rotation, shear, size, shift and stroke ranges (default 1)")
    train.add_argument("--pen-fraction", type=float, default=0.0, metavar="F",
                       help="share of training images redrawn with a random round pen, as tablets and mice write (default 0)")
    train.add_argument("--extra-data", metavar="SPLIT:PART",
                       help="more images from the same source, e.g. bymerge:test (test-part images are never taken)")
    train.add_argument("--extra-per-class", type=int, default=4000, metavar="N",
                       help="with --extra-data: top each class up to N images (default 4000)")
    train.add_argument("--real-data", metavar="FOLDER",
                       help="real pen characters to add (labels.csv with path,label_char,writer; e.g. UNIPEN): "
                            "only the writers not held out for measuring")
    train.add_argument("--real-repeat", type=int, default=2, metavar="N", help="with --real-data: each image N times (default 2)")
    train.add_argument("--touching", type=int, default=0, metavar="N",
                       help="add N training images of characters cut out of touching neighbours, as the line reader cuts them (default 0)")
    train.add_argument("--dropout", type=float, help="dropout rate (default: the architecture's)")
    train.add_argument("--no-balance", action="store_true", help="do not weight rare classes up")
    train.add_argument("--label-smoothing", type=float, default=0.0)
    train.add_argument("--max-samples", type=int, help="train on a random subset of N samples")
    train.add_argument("--patience", type=int, help="stop after N epochs without better validation accuracy")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--name", help="model name (default: the output file's name)")
    train.add_argument("--out", help="output .lenet file (default: the user's model folder)")
    train.add_argument("--quiet", action="store_true")
    # speed, presets and distribution (checked in _speed_settings, so a bad value is one line)
    train.add_argument("--preset", metavar="quick|full",
                       help="quick: ≥ 88 %% on EMNIST balanced in ~10 min on 2 cores; full: the EMNIST-only 20-epoch balanced recipe (your options win)")
    train.add_argument("--jit", default="auto", metavar="on|off|auto",
                       help="XLA compilation; auto: what a short probe measured faster on this machine (default)")
    train.add_argument("--warmup", type=float, metavar="EPOCHS", help="cosine schedule: warm the rate up over this many epochs")
    train.add_argument("--strategy", default="default", metavar="default|mirrored|multi-worker",
                       help="tf.distribute: mirrored = every local GPU; multi-worker = the cluster in TF_CONFIG")
    train.set_defaults(run=cmd_train)

    export = commands.add_parser("export", help="write a model's network, labels.json and a model card into a folder")
    export.add_argument("model", metavar="MODEL", help="model name or .lenet file")
    export.add_argument("--format", choices=("keras", "tflite"), required=True, help="keras (.keras) or tflite (LiteRT)")
    export.add_argument("--out", required=True, metavar="FOLDER", help="the folder to write (new or empty)")
    export.set_defaults(run=cmd_export)

    listing = commands.add_parser("models", help="list the shipped and user models")
    listing.set_defaults(run=cmd_models)
    return parser


COMMANDS = ("predict", "evaluate", "train", "models", "read", "export")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from lenet_core.safety import cli_problem

    problem = cli_problem(args)  # NaN, inf and out-of-range numbers, before any long work
    if problem:
        _error(problem)
        return EXIT_USAGE
    args.argv = list(sys.argv[1:] if argv is None else argv)  # which options were given (presets fill in the rest)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
