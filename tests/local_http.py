"""A small HTTP server on 127.0.0.1 for download tests: serves one archive with Range support,
can cut a transfer short or hold it half-way, and shuts itself down after a minute at most.

Also builds that archive: a NIST-style `gzip.zip` holding a tiny EMNIST split of real digits.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tempfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lenet_core.datasets import load_dataset, write_idx

LIFETIME_S = 60


def tiny_emnist_zip(digits_mini: Path, train: int = 120, test: int = 40) -> bytes:
    """A zip laid out like NIST's gzip.zip with one split, `tinyx`, of real EMNIST digits."""
    archive = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(archive, "w") as out:
        for part, count in (("train", train), ("test", test)):
            data = load_dataset(digits_mini, "digitsmini", part).subset(slice(0, count))
            images = Path(folder) / f"emnist-tinyx-{part}-images-idx3-ubyte.gz"
            labels = Path(folder) / f"emnist-tinyx-{part}-labels-idx1-ubyte.gz"
            write_idx(images, labels, data.images, data.labels)
            for file in (images, labels):
                out.write(file, f"gzip/{file.name}")
        out.writestr("gzip/emnist-tinyx-mapping.txt", "".join(f"{digit} {48 + digit}\n" for digit in range(10)))
    return archive.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def closed_port_url() -> str:
    """A URL on loopback where nothing listens (connection refused): what offline looks like."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/gzip.zip"


class ArchiveServer:
    """Serves `payload` at `/gzip.zip`. Set `cut_after` to drop the next transfer after that many
    bytes, `hold_at` to pause a transfer there until `release()`, or `honour_ranges = False`."""

    def __init__(self, payload: bytes, name: str = "gzip.zip"):
        self.payload = payload
        self.name = name
        self.cut_after: int | None = None
        self.hold_at: int | None = None
        self.honour_ranges = True
        self.ranges: list[str | None] = []  # the Range header of every request, in order
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._deadline = threading.Timer(LIFETIME_S, self.stop)
        self._deadline.daemon = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.name}"

    def start(self) -> ArchiveServer:
        self._thread.start()
        self._deadline.start()
        return self

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        self._deadline.cancel()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
                pass

            def do_GET(self) -> None:
                if self.path != f"/{server.name}":
                    self.send_error(404)
                    return
                header = self.headers.get("Range")
                server.ranges.append(header)
                payload, start = server.payload, 0
                match = re.fullmatch(r"bytes=(\d+)-", header or "")
                if match and server.honour_ranges:
                    start = int(match[1])
                    if start >= len(payload):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(payload)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(payload) - start))
                self.send_header("Content-Type", "application/zip")
                self.end_headers()
                body = payload[start:]
                cut, server.cut_after = server.cut_after, None
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.close_connection = True
                    return
                hold = server.hold_at
                if hold is not None and 0 < hold < len(body):
                    self.wfile.write(body[:hold])
                    self.wfile.flush()
                    # One more small piece a moment later, so the client reports its progress here.
                    server._released.wait(0.3)
                    self.wfile.write(body[hold : hold + 1024])
                    self.wfile.flush()
                    server._released.wait(LIFETIME_S)
                    body = body[hold + 1024 :]
                self.wfile.write(body)

        return Handler
