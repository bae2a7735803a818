"""The OSS-protocol test server (mlflow_testenv.oss_server), driven only through the unmodified oss2 SDK."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid

import oss2
import pytest
import requests

from mlflow_testenv import session_service, start_service

REGION = "cn-hangzhou"


@pytest.fixture(scope="session")
def oss_env(tmp_path_factory):
    return session_service("oss", tmp_path_factory)


def _auth(env, version: str, secret: str | None = None):
    cls = oss2.AuthV4 if version == "v4" else oss2.Auth
    return cls(env["MLFLOW_TESTENV_OSS_KEY_ID"], secret or env["MLFLOW_TESTENV_OSS_KEY_SECRET"])


def _bucket(env, version="v1", secret=None, **kw) -> oss2.Bucket:
    return oss2.Bucket(_auth(env, version, secret), env["MLFLOW_TESTENV_OSS_ENDPOINT"],
                       env["MLFLOW_TESTENV_OSS_BUCKET"], region=REGION, **kw)


@pytest.fixture(params=["v1", "v4"])
def bucket(request, oss_env):
    return _bucket(oss_env, request.param)


@pytest.fixture
def prefix():
    return f"t-{uuid.uuid4().hex[:8]}/"


def test_put_get_head_with_user_metadata(bucket, prefix):
    key = prefix + "dir/ü n+i%c&o?de.txt"
    bucket.put_object(key, b"hello world", headers={"x-oss-meta-owner": "alice", "Content-Type": "text/plain"})
    got = bucket.get_object(key)
    assert got.read() == b"hello world"
    assert got.headers["x-oss-meta-owner"] == "alice"
    assert got.content_type == "text/plain"
    head = bucket.head_object(key)
    assert head.content_length == 11
    assert head.etag == "5EB63BBBE01EEED093CB22BB8F5ACDC3"
    assert bucket.get_object_meta(key).content_length == 11
    assert bucket.object_exists(key) and not bucket.object_exists(prefix + "nope")


def test_ranges(bucket, prefix):
    key = prefix + "r.bin"
    data = bytes(range(256)) * 4
    bucket.put_object(key, data)
    assert bucket.get_object(key, byte_range=(10, 19)).read() == data[10:20]
    assert bucket.get_object(key, byte_range=(1000, None)).read() == data[1000:]
    assert bucket.get_object(key, byte_range=(None, 5)).read() == data[-5:]
    # OSS ignores an unsatisfiable range unless the standard behaviour is asked for
    assert bucket.get_object(key, byte_range=(5000, 6000)).read() == data
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.get_object(key, byte_range=(5000, 6000), headers={"x-oss-range-behavior": "standard"})
    assert e.value.status == 416 and e.value.code == "InvalidRange"


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_wrong_secret_is_signature_does_not_match(oss_env, version, prefix):
    _bucket(oss_env, version).put_object(prefix + "x", b"x")
    bad = _bucket(oss_env, version, secret="not-the-secret")
    for call in (lambda: bad.get_object(prefix + "x"), lambda: bad.put_object(prefix + "y", b"y"),
                 lambda: bad.list_objects(prefix=prefix)):
        with pytest.raises(oss2.exceptions.OssError) as e:
            call()
        assert (e.value.status, e.value.code) == (403, "SignatureDoesNotMatch")
    assert not _bucket(oss_env, version).object_exists(prefix + "y")


def test_unknown_key_id_and_region(oss_env, prefix):
    b = oss2.Bucket(oss2.Auth("nobody", "x"), oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"], oss_env["MLFLOW_TESTENV_OSS_BUCKET"])
    with pytest.raises(oss2.exceptions.OssError) as e:
        b.get_object(prefix + "x")
    assert (e.value.status, e.value.code) == (403, "InvalidAccessKeyId")
    b4 = _bucket(oss_env, "v4")
    b4 = oss2.Bucket(b4.auth, b4.endpoint, b4.bucket_name, region="us-west-1")
    with pytest.raises(oss2.exceptions.OssError) as e:
        b4.get_object(prefix + "x")
    assert e.value.code == "InvalidArgument" and "region" in e.value.message


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_virtual_hosted_requests(oss_env, version, prefix):
    # <bucket>.<domain> does not resolve here, so the server is also the HTTP proxy for that name.
    endpoint = f"http://{oss_env['MLFLOW_TESTENV_OSS_DOMAIN']}"
    proxies = {"http": oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"]}
    b = oss2.Bucket(_auth(oss_env, version), endpoint, oss_env["MLFLOW_TESTENV_OSS_BUCKET"], region=REGION, proxies=proxies)
    b.put_object(prefix + "v.txt", b"virtual")
    assert _bucket(oss_env, version).get_object(prefix + "v.txt").read() == b"virtual"
    assert [o.key for o in oss2.ObjectIteratorV2(b, prefix=prefix)] == [prefix + "v.txt"]


def test_list_objects_v1_marker_paging_and_delimiter(bucket, prefix):
    keys = [f"{prefix}k{i:03d}" for i in range(25)] + [f"{prefix}d/{i}" for i in range(3)] + [prefix + "sp ace+&.txt"]
    for k in keys:
        bucket.put_object(k, b"1")
    first = bucket.list_objects(prefix=prefix, max_keys=10)
    assert first.is_truncated and len(first.object_list) == 10 and first.next_marker == first.object_list[-1].key
    assert sorted(o.key for o in oss2.ObjectIterator(bucket, prefix=prefix, max_keys=7)) == sorted(keys)
    top = bucket.list_objects(prefix=prefix, delimiter="/", max_keys=1000)
    assert top.prefix_list == [prefix + "d/"]
    assert len(top.object_list) == 26


def test_list_objects_v2_continuation(bucket, prefix):
    keys = sorted(f"{prefix}{i:02d}/f" for i in range(12))
    for k in keys:
        bucket.put_object(k, b"22")
    page = bucket.list_objects_v2(prefix=prefix, max_keys=5)
    assert page.is_truncated and page.next_continuation_token
    listed = [o.key for o in oss2.ObjectIteratorV2(bucket, prefix=prefix, max_keys=5)]
    assert listed == keys
    dirs = [o.key for o in oss2.ObjectIteratorV2(bucket, prefix=prefix, delimiter="/", max_keys=4)]
    assert dirs == [k[:-1] for k in keys]
    after = bucket.list_objects_v2(prefix=prefix, start_after=keys[9])
    assert [o.key for o in after.object_list] == keys[10:]
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket.list_objects_v2(prefix=prefix, max_keys=1001)
    assert e.value.code == "InvalidArgument"


def test_multipart_upload_list_parts_complete(bucket, prefix):
    key = prefix + "big.bin"
    parts_data = [os.urandom(100 * 1024), os.urandom(100 * 1024), os.urandom(1234)]
    upload_id = bucket.init_multipart_upload(key, headers={"x-oss-meta-kind": "model"}).upload_id
    parts = []
    for n, data in enumerate(parts_data, 1):
        r = bucket.upload_part(key, upload_id, n, data)
        parts.append(oss2.models.PartInfo(n, r.etag))
    listed = bucket.list_parts(key, upload_id)
    assert [(p.part_number, p.size) for p in listed.parts] == [(1, 102400), (2, 102400), (3, 1234)]
    assert not bucket.object_exists(key)  # nothing visible before complete
    result = bucket.complete_multipart_upload(key, upload_id, parts)
    assert result.etag.endswith("-3")
    got = bucket.get_object(key)
    assert got.read() == b"".join(parts_data)
    assert got.headers["x-oss-meta-kind"] == "model"
    assert got.headers["x-oss-object-type"] == "Multipart"
    whole = b"".join(parts_data)
    assert bucket.get_object(key, byte_range=(102_000, 102_900)).read() == whole[102_000:102_901]  # spans parts
    crc = oss2.utils.Crc64(0)
    crc.update(whole)
    assert int(bucket.head_object(key).headers["x-oss-hash-crc64ecma"]) == crc.crc  # combined from the parts
    bucket.copy_object(bucket.bucket_name, key, key + ".copy")
    assert bucket.get_object(key + ".copy").read() == whole
    bucket.put_object(key, b"replaced")  # the parts of the old version go away
    assert bucket.get_object(key).read() == b"replaced"


def test_multipart_abort_and_errors(bucket, prefix):
    key = prefix + "aborted.bin"
    upload_id = bucket.init_multipart_upload(key).upload_id
    small = bucket.upload_part(key, upload_id, 1, b"tiny")
    bucket.upload_part(key, upload_id, 2, b"tail")
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket.complete_multipart_upload(key, upload_id, [oss2.models.PartInfo(1, small.etag), oss2.models.PartInfo(2, "0" * 32)])
    assert e.value.code == "InvalidPart"
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket.complete_multipart_upload(key, upload_id, [oss2.models.PartInfo(1, small.etag),
                                                          oss2.models.PartInfo(2, bucket.list_parts(key, upload_id).parts[1].etag)])
    assert e.value.code == "EntityTooSmall"
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket.upload_part(key, upload_id, 10001, b"x")
    assert e.value.code == "InvalidArgument"
    bucket.abort_multipart_upload(key, upload_id)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts(key, upload_id)
    assert not bucket.object_exists(key)


def test_resumable_upload_and_download_through_oss2(bucket, prefix, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    key = prefix + "resumable.bin"
    store = oss2.ResumableStore(root=str(tmp_path / "ckpt"))
    oss2.resumable_upload(bucket, key, str(src), store=store, multipart_threshold=512 * 1024,
                          part_size=512 * 1024, num_threads=3)
    assert bucket.head_object(key).object_type == "Multipart"
    out = tmp_path / "out.bin"
    oss2.resumable_download(bucket, key, str(out), multiget_threshold=256 * 1024, part_size=256 * 1024,
                            num_threads=3, store=oss2.ResumableDownloadStore(root=str(tmp_path / "dckpt")))
    assert out.read_bytes() == src.read_bytes()


def test_copy_object_keeps_or_replaces_metadata(bucket, prefix):
    bucket.put_object(prefix + "src", b"payload", headers={"x-oss-meta-a": "1"})
    bucket.copy_object(bucket.bucket_name, prefix + "src", prefix + "kept")
    assert bucket.get_object(prefix + "kept").headers["x-oss-meta-a"] == "1"
    bucket.copy_object(bucket.bucket_name, prefix + "src", prefix + "replaced",
                       headers={"x-oss-metadata-directive": "REPLACE", "x-oss-meta-b": "2"})
    got = bucket.get_object(prefix + "replaced")
    assert got.read() == b"payload" and got.headers.get("x-oss-meta-b") == "2" and "x-oss-meta-a" not in got.headers
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.copy_object(bucket.bucket_name, prefix + "missing", prefix + "x")


def test_delete_and_batch_delete(bucket, prefix):
    keys = [f"{prefix}{i}" for i in range(5)]
    for k in keys:
        bucket.put_object(k, b"x")
    bucket.delete_object(keys[0])
    bucket.delete_object(prefix + "never-existed")  # 204, like OSS
    result = bucket.batch_delete_objects(keys[1:] + [prefix + "also missing & odd"])
    assert sorted(result.deleted_keys) == sorted(keys[1:] + [prefix + "also missing & odd"])
    assert list(oss2.ObjectIterator(bucket, prefix=prefix)) == []
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket.batch_delete_objects([f"{prefix}{i}" for i in range(1001)])
    assert e.value.code == "MalformedXML"


def test_error_codes(bucket, oss_env, prefix):
    with pytest.raises(oss2.exceptions.NoSuchKey) as e:
        bucket.get_object(prefix + "missing")
    assert e.value.status == 404 and e.value.request_id
    other = oss2.Bucket(bucket.auth, bucket.endpoint, "no-such-bucket", region=REGION)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        other.put_object("k", b"x")
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket.put_object(prefix + "md5", b"data", headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()})
    assert e.value.code == "InvalidDigest"
    assert not bucket.object_exists(prefix + "md5")
    bucket.put_object(prefix + "once", b"1")
    with pytest.raises(oss2.exceptions.OssError) as e:
        bucket.put_object(prefix + "once", b"2", headers={"x-oss-forbid-overwrite": "true"})
    assert (e.value.status, e.value.code) == (409, "FileAlreadyExists")


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_presigned_urls(oss_env, version, prefix):
    b = _bucket(oss_env, version)
    b.put_object(prefix + "p.txt", b"signed")
    url = b.sign_url("GET", prefix + "p.txt", 60)
    assert requests.get(url, timeout=10).content == b"signed"
    tampered = url.replace("p.txt", "q.txt")
    r = requests.get(tampered, timeout=10)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    expired = b.sign_url("GET", prefix + "p.txt", 1)
    time.sleep(2.1)
    r = requests.get(expired, timeout=10)
    assert r.status_code == 403 and b"expired" in r.content


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_sts_and_ecs_ram_role_credentials(oss_env, version, prefix):
    ep = oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"]
    cred = requests.post(f"{ep}/_testenv/sts", timeout=10).json()
    sts = oss2.StsAuth(cred["AccessKeyId"], cred["AccessKeySecret"], cred["SecurityToken"], auth_version=version)
    b = oss2.Bucket(sts, ep, oss_env["MLFLOW_TESTENV_OSS_BUCKET"], region=REGION)
    b.put_object(prefix + "sts", b"temporary")
    assert b.get_object(prefix + "sts").read() == b"temporary"
    assert requests.get(b.sign_url("GET", prefix + "sts", 60), timeout=10).content == b"temporary"
    wrong = oss2.StsAuth(cred["AccessKeyId"], cred["AccessKeySecret"], "forged", auth_version=version)
    with pytest.raises(oss2.exceptions.OssError) as e:
        oss2.Bucket(wrong, ep, b.bucket_name, region=REGION).get_object(prefix + "sts")
    assert e.value.code == "InvalidSecurityToken"
    provider = oss2.EcsRamRoleCredentialsProvider(oss_env["MLFLOW_TESTENV_OSS_ECS_METADATA_URL"] + "role")
    auth = oss2.ProviderAuthV4(provider) if version == "v4" else oss2.ProviderAuth(provider)
    assert oss2.Bucket(auth, ep, b.bucket_name, region=REGION).get_object(prefix + "sts").read() == b"temporary"


def test_injected_fault_is_a_server_error(oss_env, prefix):
    ep = oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"]
    b = _bucket(oss_env)
    requests.post(f"{ep}/_testenv/faults", json={"status": 503, "count": 1, "key_contains": prefix}, timeout=10)
    with pytest.raises(oss2.exceptions.ServerError) as e:
        b.put_object(prefix + "f", b"x")
    assert (e.value.status, e.value.code) == (503, "ServiceUnavailable")
    b.put_object(prefix + "f", b"x")  # the fault was used up
    assert b.get_object(prefix + "f").read() == b"x"


def test_data_survives_restart():
    srv = start_service("oss", parent_pid=os.getpid(), record=False)
    try:
        session = oss2.Session()
        b = _bucket(srv.exports, "v4", session=session)
        b.put_object("persist/me", b"on disk", headers={"x-oss-meta-k": "v"})
        session.session.close()  # the client closes first, so the port is not left in TIME_WAIT
        srv = srv.restart()
        got = _bucket(srv.exports, "v4").get_object("persist/me")
        assert got.read() == b"on disk" and got.headers["x-oss-meta-k"] == "v"
        assert [o.key for o in oss2.ObjectIterator(_bucket(srv.exports))] == ["persist/me"]
    finally:
        srv.stop()


def test_list_multipart_uploads(bucket, prefix):
    key = prefix + "pending ü.bin"
    upload_id = bucket.init_multipart_upload(key).upload_id
    assert [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket, prefix=prefix)] == [(key, upload_id)]
    bucket.abort_multipart_upload(key, upload_id)
    assert list(oss2.MultipartUploadIterator(bucket, prefix=prefix)) == []


def test_large_parts_and_ranges_across_part_boundaries(oss_env, prefix):
    """Parts larger than the server's 1 MiB receive buffer; the completed object is read from its part
    files (no copy on complete), with ranges inside, across and at the edges of parts."""
    b = _bucket(oss_env, "v4")
    key = prefix + "parts.bin"
    sizes = [1_572_864 + 5, 1_048_576 * 2 + 1, 777]
    parts_data = [os.urandom(n) for n in sizes]
    whole = b"".join(parts_data)
    upload_id = b.init_multipart_upload(key).upload_id
    infos = [oss2.models.PartInfo(n, b.upload_part(key, upload_id, n, data).etag)
             for n, data in enumerate(parts_data, 1)]
    b.complete_multipart_upload(key, upload_id, infos)  # oss2 checks the combined CRC-64
    edge = sizes[0]
    for lo, hi in ((0, 99), (edge - 10, edge + 10), (edge, edge), (edge - 1, edge - 1),
                   (edge + sizes[1] - 3, len(whole) - 1), (5, len(whole) - 6)):
        assert b.get_object(key, byte_range=(lo, hi)).read() == whole[lo:hi + 1], (lo, hi)
    assert b.get_object(key, byte_range=(None, 1000)).read() == whole[-1000:]
    assert b.get_object(key).read() == whole  # the whole object, CRC-64 checked by oss2


def test_chunked_request_body(oss_env, prefix):
    b = _bucket(oss_env)
    pieces = [os.urandom(1_500_000), b"", os.urandom(10), os.urandom(700_000)]
    b.put_object(prefix + "chunked", iter(pieces))  # an iterator: oss2 sends Transfer-Encoding: chunked
    got = b.get_object(prefix + "chunked")
    assert got.read() == b"".join(pieces)
    assert got.etag == hashlib.md5(b"".join(pieces), usedforsecurity=False).hexdigest().upper()


def test_server_crc64_matches_crcmod_for_every_buffer_type():
    from mlflow_testenv.oss_server.crc64 import combine, new_crc

    data = os.urandom(3 * 1024 * 1024 + 11)
    ref = oss2.utils.Crc64(0)
    ref.update(data)
    for piece in (data, bytearray(data), memoryview(data), memoryview(bytearray(data))):
        crc = new_crc()
        crc.update(piece[:1000])
        crc.update(piece[1000:])
        assert crc.crcValue == ref.crc
    first, second = new_crc(), new_crc()
    first.update(data[:12345])
    second.update(data[12345:])
    assert combine(first.crcValue, second.crcValue, len(data) - 12345) == ref.crc


def test_bad_crc_fault_is_caught_by_the_client(oss_env, prefix):
    ep = oss_env["MLFLOW_TESTENV_OSS_ENDPOINT"]
    b = _bucket(oss_env)
    b.put_object(prefix + "ok", b"payload")
    for method in ("PUT", "GET"):
        requests.post(f"{ep}/_testenv/faults", json={"bad_crc": True, "count": 1, "method": method,
                                                     "key_contains": prefix}, timeout=10)
        with pytest.raises(oss2.exceptions.InconsistentError):
            if method == "PUT":
                b.put_object(prefix + "ok", b"payload")
            else:
                b.get_object_to_file(prefix + "ok", os.devnull)
    assert b.get_object(prefix + "ok").read() == b"payload"  # the faults were used up
