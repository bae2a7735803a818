"""Parallel ranged download of one object into a temporary file, CRC-64 checked.

oss2's `resumable_download` copies each range in 16 KiB reads, each through a new requests
generator and crcmod, all under the GIL: about 8 s of client CPU per GiB, so on a fast link parallel
ranges are no faster than one GET. Here each range is read in 256 KiB blocks, hashed by liblzma
(outside the GIL) and written with `pwrite` at its offset; the ranges' CRCs are combined and checked
against the object's `x-oss-hash-crc64ecma` (as oss2 does). A retry after a transient fault fetches
only the ranges that are still missing; if the object changed meanwhile (new ETag) it starts over.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import oss2
from oss2.utils import check_crc

from mlflow_artifacts_oss import crc64

READ_BLOCK = 256 * 1024


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


class RangedDownload:
    """One object to `tmp_path` in ranges of `part_size`; `run()` may be called again after a fault."""

    def __init__(self, bucket: oss2.Bucket, key: str, tmp_path: str, part_size: int, threads: int,
                 progress: Callable[[int], None]) -> None:
        self.bucket, self.key, self.tmp_path = bucket, key, tmp_path
        self.part_size, self.threads, self.progress = part_size, threads, progress
        self.etag: str | None = None
        self.crcs: dict[int, tuple[int, int]] = {}  # range start -> (length, CRC-64) of ranges on disk
        self._lock = threading.Lock()
        self._moved = 0

    def run(self) -> None:
        head = self.bucket.head_object(self.key)
        size = int(head.content_length or 0)
        if head.etag != self.etag:  # first run, or the object was replaced: start over
            self.etag, self.crcs, self._moved = head.etag, {}, 0
        ranges = [(start, min(start + self.part_size, size)) for start in range(0, size, self.part_size)
                  if start not in self.crcs]
        fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, size)
            if ranges:
                with ThreadPoolExecutor(max_workers=min(self.threads, len(ranges))) as pool:
                    futures = [pool.submit(self._fetch, fd, start, end) for start, end in ranges]
                    try:
                        for f in futures:
                            f.result()
                    finally:
                        for f in futures:
                            f.cancel()
        finally:
            os.close(fd)
        combined = 0
        for start in sorted(self.crcs):
            length, crc = self.crcs[start]
            combined = crc64.combine(combined, crc, length)
        if head.server_crc is not None:
            try:
                check_crc("ranged download", combined, head.server_crc, head.request_id)
            except oss2.exceptions.InconsistentError:
                self.crcs, self._moved = {}, 0  # which range is wrong is unknown: fetch them all again
                raise

    def _fetch(self, fd: int, start: int, end: int) -> None:
        result = self.bucket.get_object(self.key, byte_range=(start, end - 1), headers={"If-Match": self.etag})
        crc, pos = 0, start
        for block in result.resp.response.iter_content(READ_BLOCK):
            crc = crc64.update(block, crc)
            _pwrite_all(fd, block, pos)
            pos += len(block)
        if pos != end:
            raise oss2.exceptions.InconsistentError(f"range {start}-{end - 1}: got {pos - start} bytes",
                                                    result.request_id)
        with self._lock:
            self.crcs[start] = (end - start, crc)
            self._moved += end - start
            self.progress(self._moved)
