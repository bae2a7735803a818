"""The plugin's CRC-64 (liblzma) against oss2's own (crcmod), and the CRC checks of CrcBucket
against the OSS test server, including a server that reports a wrong CRC (data corrupted in flight)."""

from __future__ import annotations

import io
import os

import oss2
import pytest
from mlflow_artifacts_oss import crc64
from mlflow_artifacts_oss.crc_bucket import CrcBucket


def _oss2_crc(data: bytes) -> int:
    ref = oss2.utils.Crc64(0)
    ref.update(data)
    return ref.crc


def test_crc64_matches_oss2_for_every_buffer_type():
    assert crc64.backend() == "liblzma"  # CPython's lzma module links it on this machine
    data = os.urandom(2 * 1024 * 1024 + 3)
    for piece in (data, bytearray(data), memoryview(data), memoryview(bytearray(data))):
        assert crc64.update(piece[700:], crc64.update(piece[:700])) == _oss2_crc(data)
    assert crc64.update(b"") == 0


def test_combine_matches_the_crc_of_the_concatenation():
    parts = [os.urandom(n) for n in (1, 100 * 1024, 3 * 1024 * 1024 + 7, 0, 5)]
    combined = 0
    for p in parts:
        combined = crc64.combine(combined, crc64.update(p), len(p))
    assert combined == _oss2_crc(b"".join(parts))


@pytest.fixture
def crc_bucket(oss_env, bucket_name) -> CrcBucket:
    return CrcBucket(oss2.Auth(oss_env["MLFLOW_TESTENV_OSS_KEY_ID"], oss_env["MLFLOW_TESTENV_OSS_KEY_SECRET"]),
                     oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"], bucket_name)


def test_crc_bucket_checks_every_kind_of_body(crc_bucket, raw_bucket, inject_fault, root_uri):
    prefix = root_uri.split("/", 3)[3] + "/"
    data = os.urandom(300_000)
    bodies = [data, bytearray(data), data.decode("latin-1"), io.BytesIO(data),
              oss2.utils.SizedFileAdapter(io.BytesIO(data + b"tail"), len(data))]
    for i, body in enumerate(bodies):
        key = f"{prefix}body-{i}"
        crc_bucket.put_object(key, body)
        expected = data if not isinstance(body, str) else body.encode()
        assert raw_bucket.get_object(key).read() == expected  # raw_bucket: oss2's own CRC check
        inject_fault(bad_crc=True, count=1, method="PUT", key_contains=key)
        with pytest.raises(oss2.exceptions.InconsistentError):
            crc_bucket.put_object(key, io.BytesIO(data) if isinstance(body, io.BytesIO) else expected)
    crc_bucket.put_object(prefix + "iter", iter([data, b"x"]))  # size unknown: sent chunked, as oss2 does
    assert raw_bucket.get_object(prefix + "iter").read() == data + b"x"


def test_crc_bucket_checks_parts_and_the_completed_object(crc_bucket, raw_bucket, inject_fault, root_uri):
    key = root_uri.split("/", 3)[3] + "/mp.bin"
    parts = [os.urandom(200_000), os.urandom(200_000), os.urandom(10)]
    upload_id = crc_bucket.init_multipart_upload(key).upload_id
    infos = []
    for n, data in reversed(list(enumerate(parts, 1))):  # out of order, as parallel parts finish
        if n == 2:
            inject_fault(bad_crc=True, count=1, method="PUT", key_contains=key)
            with pytest.raises(oss2.exceptions.InconsistentError):
                crc_bucket.upload_part(key, upload_id, n, data)
        r = crc_bucket.upload_part(key, upload_id, n, data)
        infos.append(oss2.models.PartInfo(n, r.etag, size=len(data), part_crc=r.crc))
    inject_fault(bad_crc=True, count=1, method="POST", key_contains=key)
    with pytest.raises(oss2.exceptions.InconsistentError):  # completed, but the combined CRC differs
        crc_bucket.complete_multipart_upload(key, upload_id, infos)
    assert raw_bucket.get_object(key).read() == b"".join(parts)
