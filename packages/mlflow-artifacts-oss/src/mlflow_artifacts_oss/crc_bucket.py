"""An oss2 Bucket that checks the CRC-64 of uploads itself, with liblzma instead of crcmod.

oss2 (with `enable_crc=True`) checks every PUT, part and completed multipart upload against the
server's `x-oss-hash-crc64ecma`. Its crcmod loop holds the GIL, so 8 part threads hash one part at a
time and the client cannot use a second core. This bucket is built with `enable_crc=False` and does
the same checks on the same values (and raises the same `InconsistentError`), computing the CRC
while the body is read for sending, outside the GIL. Downloads keep oss2's own checks
(`download_bucket`).
"""

from __future__ import annotations

from typing import Any

import oss2
from oss2.utils import check_crc, file_object_remaining_bytes

from mlflow_artifacts_oss import crc64


class CrcReader:
    """A sized file-like body that computes the CRC-64 of what is read from it."""

    def __init__(self, data: Any, size: int) -> None:
        self._data = data
        self.len = size  # requests reads the body length from `len`
        self.crc = 0

    def read(self, amt: int | None = None) -> bytes:
        chunk = self._data.read(amt)
        if chunk:
            self.crc = crc64.update(chunk, self.crc)
        return chunk

    def __iter__(self) -> CrcReader:
        return self

    def __next__(self) -> bytes:
        chunk = self.read(1024 * 1024)
        if not chunk:
            raise StopIteration
        return chunk


def _sized(data: Any) -> tuple[Any, int] | None:
    """(body, size) for data whose size is known up front, else None."""
    if isinstance(data, str):
        data = data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), len(data)
    size = getattr(data, "len", None)
    if isinstance(size, int):
        return data, size
    if hasattr(data, "read") and hasattr(data, "seek") and hasattr(data, "tell"):
        try:
            return data, file_object_remaining_bytes(data)
        except (OSError, ValueError):
            return None
    return None


class CrcBucket(oss2.Bucket):
    """`oss2.Bucket` for uploads: CRC-64 checked by this class, not by oss2 (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["enable_crc"] = False
        super().__init__(*args, **kwargs)

    def _checked_put(self, what: str, send: Any, data: Any) -> Any:
        sized = _sized(data)
        if sized is None:  # an iterable of unknown size: no CRC, as oss2 would stream it
            return send(data)
        body, size = sized
        if isinstance(body, bytes):
            client_crc = crc64.update(body)
            result = send(body)
        else:
            reader = CrcReader(body, size)
            result = send(reader)
            client_crc = reader.crc
        if result.crc is not None:
            check_crc(what, client_crc, result.crc, result.request_id)
        return result

    def put_object(self, key: str, data: Any, headers: Any = None, progress_callback: Any = None) -> Any:
        return self._checked_put("put object", lambda body: super(CrcBucket, self).put_object(
            key, body, headers=headers, progress_callback=progress_callback), data)

    def upload_part(self, key: str, upload_id: str, part_number: int, data: Any, progress_callback: Any = None,
                    headers: Any = None) -> Any:
        return self._checked_put("upload part", lambda body: super(CrcBucket, self).upload_part(
            key, upload_id, part_number, body, progress_callback=progress_callback, headers=headers), data)

    def complete_multipart_upload(self, key: str, upload_id: str, parts: Any, headers: Any = None) -> Any:
        result = super().complete_multipart_upload(key, upload_id, parts, headers=headers)
        if parts and result.crc is not None:
            combined = 0
            for part in sorted(parts, key=lambda p: p.part_number):  # the order oss2 sends them in
                if not part.part_crc or not part.size:
                    return result  # a part without a CRC: nothing to compare (as in oss2)
                combined = crc64.combine(combined, part.part_crc, part.size)
            check_crc("multipart upload", combined, result.crc, result.request_id)
        return result
