"""Fetching a data set archive over HTTP: resumable (Range requests into a `.part` file),
cancellable, verified (size, sha256 when known, zip CRCs, readable splits) before anyone uses it.

Plain `urllib`, no Qt: the GUI runs `fetch_dataset` on a worker and shows its progress.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lenet_core import safety
from lenet_core.datasets import DatasetError, SplitInfo, open_source

# NIST's official location of the EMNIST IDX files (about 535 MB). Its sha256 is not published
# with it, so none is assumed here: size, zip CRCs and readable splits are what we can verify.
EMNIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
EMNIST_ARCHIVE_NAME = "gzip.zip"
PART_SUFFIX = ".part"


class DownloadError(RuntimeError):
    """A download that did not produce a usable file; the message is one clear line."""


class OfflineError(DownloadError):
    """The server cannot be reached at all (no network, name not resolved, refused)."""


class ChecksumError(DownloadError):
    """The bytes arrived but are not the expected file; the partial file is discarded."""


class DownloadCancelled(DownloadError):
    """Cancelled by the caller; the `.part` file is kept so the next try resumes."""


@dataclass(frozen=True)
class DownloadProgress:
    received: int  # bytes of the file on disk so far, resumed bytes included
    total: int | None  # None when the server does not say
    resumed_from: int  # bytes that were already there when this transfer began
    bytes_per_second: float
    stage: str = "downloading"  # "downloading", "verifying"

    @property
    def fraction(self) -> float | None:
        return self.received / self.total if self.total else None


ProgressCallback = Callable[[DownloadProgress], None]


def part_path(target: Path) -> Path:
    return target.with_name(target.name + PART_SUFFIX)


def download(
    url: str,
    target: Path | str,
    *,
    expected_sha256: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float = 30.0,
    chunk_size: int = 1 << 16,
    report_interval_s: float = 0.1,
) -> Path:
    """Download `url` to `target`, resuming a `.part` file left by an earlier try.

    The file appears at `target` only complete: its size matches what the server announced and,
    when `expected_sha256` is given, its digest matches (otherwise the `.part` is deleted).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = part_path(target)
    cancel = cancel or threading.Event()
    have = partial.stat().st_size if partial.exists() else 0
    response, total, resumed_from = _open(url, have, timeout_s)
    digest = hashlib.sha256()
    if resumed_from:
        _hash_file(partial, digest)  # the digest covers the whole file, not only this transfer
    received = resumed_from
    started = last_report = time.perf_counter()

    def report(stage: str = "downloading") -> None:
        if progress is not None:
            elapsed = time.perf_counter() - started
            rate = (received - resumed_from) / elapsed if elapsed > 0 else 0.0
            progress(DownloadProgress(received, total, resumed_from, rate, stage))

    report()
    with response, open(partial, "ab" if resumed_from else "wb") as out:
        while True:
            if cancel.is_set():
                raise DownloadCancelled(f"download cancelled after {_megabytes(received)}; starting again resumes it")
            try:
                chunk = response.read1(chunk_size)  # what has arrived, so progress moves on slow links
            except (OSError, http.client.HTTPException) as error:
                raise DownloadError(f"the connection broke after {_megabytes(received)} ({_reason(error)}); try again to resume") from None
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            now = time.perf_counter()
            if now - last_report >= report_interval_s:
                last_report = now
                report()
    report()
    if total is not None and received != total:
        raise DownloadError(f"incomplete: {_megabytes(received)} of {_megabytes(total)} arrived; try again to resume")
    if expected_sha256 and digest.hexdigest() != expected_sha256.lower():
        partial.unlink(missing_ok=True)
        raise ChecksumError(f"checksum mismatch for {target.name}: the file is not the expected one (deleted; try again)")
    os.replace(partial, target)
    return target


def fetch_dataset(
    url: str,
    target: Path | str,
    *,
    expected_sha256: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float = 30.0,
) -> list[SplitInfo]:
    """Download a data set archive (unless a verified copy is already there) and check it can
    be trained on; returns its splits. A file that fails the checks is removed."""
    target = Path(target)
    if not target.exists():
        download(url, target, expected_sha256=expected_sha256, progress=progress, cancel=cancel, timeout_s=timeout_s)
    if progress is not None:
        size = target.stat().st_size
        progress(DownloadProgress(size, size, size, 0.0, "verifying"))
    try:
        return verify_archive(target)
    except DownloadError:
        target.unlink(missing_ok=True)
        raise


def verify_archive(path: Path | str) -> list[SplitInfo]:
    """Every member's CRC is right and the data set reader lists at least one split."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            problem = archive_problem(archive.infolist())
            if problem:
                raise DownloadError(f"{path.name} cannot be used: {problem}")
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:
        raise DownloadError(f"{path.name} is not a readable zip archive ({error})") from None
    if damaged is not None:
        raise DownloadError(f"{path.name} is damaged: {damaged} fails its CRC check")
    try:
        splits = open_source(path).splits()
    except DatasetError as error:
        raise DownloadError(f"{path.name} holds no usable data set: {error.problem}") from None
    if not splits:
        raise DownloadError(f"{path.name} holds no data set splits")
    return splits


MAX_ARCHIVE_MEMBERS = 10_000
MAX_ARCHIVE_BYTES = 8 * 1024**3  # what all members may expand to (NIST's gzip.zip: 0.6 GB)


def archive_problem(members: list[zipfile.ZipInfo]) -> str | None:
    """Why a downloaded archive is not opened (too many members, a bomb, encrypted or
    unsupported members), from its directory alone, or None. Member names are never paths."""
    if len(members) > MAX_ARCHIVE_MEMBERS:
        return f"it holds {len(members):,} files (at most {MAX_ARCHIVE_MEMBERS:,})"
    total = 0
    for info in members:
        problem = safety.zip_member_problem(info)
        if problem:
            return problem
        total += info.file_size
    if total > MAX_ARCHIVE_BYTES:
        return f"it expands to {safety.megabytes(total)} (at most {safety.megabytes(MAX_ARCHIVE_BYTES)})"
    return None


# --- HTTP -----------------------------------------------------------------------------------


_CONTENT_RANGE = re.compile(r"bytes\s+(?P<start>\d+)-(?P<end>\d+)/(?P<total>\d+|\*)", re.IGNORECASE)


def _open(url: str, have: int, timeout_s: float):
    """Open the transfer; returns (response, total size or None, bytes already on disk that it continues)."""
    request = urllib.request.Request(url, headers={"User-Agent": "lenet-studio", "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left past what we hold: the .part may be complete
            match = re.search(r"/(\d+)", error.headers.get("Content-Range", ""))
            if match and int(match[1]) == have:
                return _EmptyResponse(), have, have
            raise DownloadError(f"the server refused to resume at {_megabytes(have)}; delete {url.rsplit('/', 1)[-1]}{PART_SUFFIX} and try again") from None
        raise DownloadError(f"the server answered {error.code} {error.reason} for {url}") from None
    except urllib.error.URLError as error:
        raise OfflineError(f"cannot reach {_host(url)} ({_reason(error.reason)})") from None
    except (TimeoutError, ConnectionError) as error:
        raise OfflineError(f"cannot reach {_host(url)} ({_reason(error)})") from None
    length = response.headers.get("Content-Length")
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not match or int(match["start"]) != have:
            response.close()
            raise DownloadError("the server resumed at the wrong place; delete the partial file and try again")
        total = int(match["total"]) if match["total"] != "*" else None
        return response, total, have
    # 200: the server ignores ranges (or nothing was there): start from the beginning.
    return response, int(length) if length and length.isdigit() else None, 0


class _EmptyResponse:
    def read1(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _hash_file(path: Path, digest) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or url


def _reason(error: object) -> str:
    if isinstance(error, socket.gaierror):
        return "the name does not resolve: no internet connection?"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(getattr(error, "strerror", None) or error)
    return text or type(error).__name__


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"

