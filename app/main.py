"""`lenet-studio`: the desktop app, or with a sub-command (train, evaluate, predict, read,
models) the command line, which never loads Qt.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before any heavy import: the reference for launch timings

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from app.streams import ensure_standard_streams

    missing_streams = ensure_standard_streams()  # first: a windowed bundle may have no stdout/stderr
    argv = sys.argv[1:] if argv is None else argv
    from lenet_core.cli import COMMANDS

    if argv and argv[0] in COMMANDS:
        from lenet_core.cli import main as cli_main

        return cli_main(argv)
    parser = argparse.ArgumentParser(prog="lenet-studio", description="LeNet Studio desktop app (sub-commands: " + ", ".join(COMMANDS) + ")")
    parser.add_argument("images", nargs="*", help="image files to open on the Photo page")
    parser.add_argument("--model", help="model name or .lenet file to start with")
    parser.add_argument("--smoke-test", action="store_true", help="launch with the default model (or --model), draw a shipped sample, print timings as JSON, exit")
    parser.add_argument("--screenshot", metavar="PNG", help="with --smoke-test: also save a screenshot of the window")
    parser.add_argument("--version", action="store_true")
    args = parser.parse_args(argv)
    if args.version:
        from lenet_core import __version__

        print(f"lenet-studio {__version__}")
        return 0
    return run_gui(args, missing_streams)


def run_gui(args: argparse.Namespace, missing_streams: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.errors import install_exception_hook, setup_logging
    from lenet_core.paths import APP_NAME, APP_SLUG

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_SLUG)
    app.setDesktopFileName(APP_SLUG)
    log_path = setup_logging()
    if missing_streams:
        logging.getLogger("lenet_studio").info("no console (%s missing): output goes to the log only", ", ".join(missing_streams))
    if not args.smoke_test:
        install_exception_hook(log_path)

    from app.window import MainWindow

    model = args.model
    if args.smoke_test and model is None:
        from lenet_core.bundle import DEFAULT_MODEL

        model = DEFAULT_MODEL  # a check of the installation, not of the user's last choice
    window = MainWindow(model=model)
    if args.smoke_test:
        from app.smoke import SmokeTest

        smoke = SmokeTest(window, STARTED, args.screenshot)
        QTimer.singleShot(0, smoke.begin)
        window.show()
        window.start()
        app.exec()
        return smoke.exit_code
    window.show()
    window.start()
    window.open_images(args.images)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
