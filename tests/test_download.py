"""Downloading a data set archive against a local HTTP server on loopback: progress, checksum,
resume after a broken transfer, cancel, a server without Range support, and offline."""

from __future__ import annotations

import threading

import pytest
from local_http import ArchiveServer, closed_port_url, sha256, tiny_emnist_zip

from lenet_core import download
from lenet_core.download import ChecksumError, DownloadCancelled, DownloadError, OfflineError


@pytest.fixture(scope="module")
def archive(digits_mini) -> bytes:
    return tiny_emnist_zip(digits_mini)


@pytest.fixture
def server(archive):
    running = ArchiveServer(archive).start()
    yield running
    running.stop()


def test_fetch_reports_progress_verifies_and_lists_splits(server, archive, tmp_path):
    target = tmp_path / "emnist" / "gzip.zip"
    reports = []
    splits = download.fetch_dataset(server.url, target, expected_sha256=sha256(archive), progress=reports.append)
    assert [info.name for info in splits] == ["tinyx"] and splits[0].parts == {"test": 40, "train": 120}
    assert target.read_bytes() == archive
    assert not download.part_path(target).exists()
    downloading = [r for r in reports if r.stage == "downloading"]
    assert downloading[0].received == 0 and downloading[-1].received == len(archive) == downloading[-1].total
    assert downloading[-1].fraction == 1.0
    assert reports[-1].stage == "verifying"
    assert download.fetch_dataset(server.url, target) == splits  # already there: verified, not fetched again
    assert len(server.ranges) == 1


def test_checksum_mismatch_leaves_nothing_behind(server, tmp_path):
    target = tmp_path / "gzip.zip"
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        download.fetch_dataset(server.url, target, expected_sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_broken_transfer_resumes_with_a_range_request(server, archive, tmp_path):
    target = tmp_path / "gzip.zip"
    server.cut_after = 20_000
    with pytest.raises(DownloadError, match="try again to resume"):
        download.download(server.url, target, expected_sha256=sha256(archive))
    assert download.part_path(target).stat().st_size == 20_000 and not target.exists()
    reports = []
    download.download(server.url, target, expected_sha256=sha256(archive), progress=reports.append)
    assert server.ranges == [None, "bytes=20000-"]
    assert reports[0].resumed_from == 20_000
    assert target.read_bytes() == archive


def test_cancel_keeps_the_part_and_a_complete_part_is_finished_by_a_416(server, archive, tmp_path):
    target = tmp_path / "gzip.zip"
    cancel = threading.Event()

    def cancel_half_way(progress):
        if progress.received > len(archive) // 2:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="resumes"):
        download.download(server.url, target, progress=cancel_half_way, cancel=cancel, chunk_size=4096, report_interval_s=0)
    kept = download.part_path(target).stat().st_size
    assert len(archive) // 2 < kept < len(archive)
    download.part_path(target).write_bytes(archive)  # as if the rest had arrived before the cancel
    download.download(server.url, target, expected_sha256=sha256(archive))
    assert server.ranges[-1] == f"bytes={len(archive)}-"  # answered 416: nothing left to send
    assert target.read_bytes() == archive


def test_server_without_ranges_starts_again(server, archive, tmp_path):
    target = tmp_path / "gzip.zip"
    download.part_path(target).write_bytes(b"stale bytes from an older file")
    server.honour_ranges = False
    download.download(server.url, target, expected_sha256=sha256(archive))
    assert target.read_bytes() == archive


def test_a_file_that_is_not_a_data_set_is_removed(tmp_path):
    bad = ArchiveServer(b"<html>a login page, not a zip</html>").start()
    try:
        target = tmp_path / "gzip.zip"
        with pytest.raises(DownloadError, match="not a readable zip"):
            download.fetch_dataset(bad.url, target)
        assert list(tmp_path.iterdir()) == []
    finally:
        bad.stop()


def test_offline_is_one_clear_line(tmp_path):
    with pytest.raises(OfflineError) as raised:
        download.fetch_dataset(closed_port_url(), tmp_path / "gzip.zip", timeout_s=5)
    message = str(raised.value)
    assert message == "cannot reach 127.0.0.1 (connection refused)"
    assert list(tmp_path.iterdir()) == []
