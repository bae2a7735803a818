"""Buckets, objects and multipart uploads kept on disk (data file + JSON metadata per object),
with an in-memory sorted key index rebuilt at start-up. Writes land in a temp file and are
renamed into place, so a reader never sees a half-written object."""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from mlflow_testenv.oss_server.crc64 import combine as crc64_combine
from mlflow_testenv.oss_server.crc64 import new_crc as _crc64
from mlflow_testenv.oss_server.errors import (
    OssError,
    invalid_argument,
    no_such_bucket,
    no_such_key,
    no_such_upload,
)

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1023
MIN_PART_SIZE = 100 * 1024
MAX_PARTS = 10000
CHUNK = 1024 * 1024


@dataclass
class ObjectMeta:
    key: str
    size: int
    etag: str  # without quotes, upper-case hex (multipart: "<hex>-<n>")
    last_modified: float
    content_type: str = "application/octet-stream"
    user_meta: dict[str, str] = field(default_factory=dict)
    crc64: str | None = None
    object_type: str = "Normal"
    # multipart objects keep their parts as files ([name, size], in order) instead of one data file,
    # so CompleteMultipartUpload does not copy the data (as on OSS, completing is cheap)
    segments: list[list] | None = None


@dataclass
class Written:
    path: Path
    size: int
    md5: bytes
    crc64: str | None


def _write_all(f: BinaryIO, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:  # an unbuffered write may be short
        view = view[f.write(view):]


def check_key(key: str) -> None:
    if not key:
        raise invalid_argument("Object name must not be empty.")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise OssError(400, "InvalidObjectName", "The name of the object is too long.")
    if key.startswith("/") or key.startswith("\\"):
        raise OssError(400, "InvalidObjectName", "The object name must not start with '/' or '\\'.")


def check_bucket_name(name: str) -> None:
    if not BUCKET_NAME.match(name):
        raise OssError(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=name)


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._index: dict[str, dict[str, ObjectMeta]] = {}
        self._sorted: dict[str, list[str]] = {}
        for bdir in sorted(p for p in root.iterdir() if p.is_dir()):
            self._load_bucket(bdir.name)

    # ---- buckets
    def _bdir(self, bucket: str) -> Path:
        return self.root / bucket

    def _load_bucket(self, bucket: str) -> None:
        metas: dict[str, ObjectMeta] = {}
        for mf in (self._bdir(bucket) / "objects").glob("*/*.json"):
            try:
                m = ObjectMeta(**json.loads(mf.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            metas[m.key] = m
        self._index[bucket] = metas
        self._sorted[bucket] = sorted(metas)

    def create_bucket(self, bucket: str) -> None:
        check_bucket_name(bucket)
        with self._lock:
            if bucket in self._index:
                return
            (self._bdir(bucket) / "objects").mkdir(parents=True, exist_ok=True)
            (self._bdir(bucket) / "uploads").mkdir(parents=True, exist_ok=True)
            (self._bdir(bucket) / "tmp").mkdir(parents=True, exist_ok=True)
            self._index[bucket] = {}
            self._sorted[bucket] = []

    def require_bucket(self, bucket: str) -> None:
        if bucket not in self._index:
            raise no_such_bucket(bucket)

    def buckets(self) -> list[str]:
        return sorted(self._index)

    # ---- objects
    def _paths(self, bucket: str, key: str) -> tuple[Path, Path]:
        h = hashlib.sha256(key.encode()).hexdigest()
        d = self._bdir(bucket) / "objects" / h[:2]
        return d / h, d / (h + ".json")

    def receive(self, bucket: str, body: Iterator[bytes | memoryview]) -> Written:
        """Stream a request body into a temp file, hashing as it goes (MD5, CRC-64 and the write
        all release the GIL, so parallel part uploads use several cores)."""
        self.require_bucket(bucket)
        md5 = hashlib.md5(usedforsecurity=False)  # OSS ETags are MD5s
        crc = _crc64()
        size = 0
        fd, name = tempfile.mkstemp(dir=self._bdir(bucket) / "tmp")
        try:
            with os.fdopen(fd, "wb", buffering=0) as f:
                for chunk in body:
                    md5.update(chunk)
                    if crc is not None:
                        crc.update(chunk)
                    _write_all(f, chunk)
                    size += len(chunk)
        except BaseException:
            os.unlink(name)
            raise
        return Written(Path(name), size, md5.digest(), str(crc.crcValue) if crc is not None else None)

    def commit(self, bucket: str, key: str, written: Written | None, meta: ObjectMeta) -> None:
        """Make `meta` (with the data just written, or its segments) the object's current version."""
        data, mfile = self._paths(bucket, key)
        data.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            old = self._index[bucket].get(key)
            if written is not None:
                os.replace(written.path, data)
            tmp = mfile.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(asdict(meta)))
            os.replace(tmp, mfile)
            idx = self._index[bucket]
            if key not in idx:
                bisect.insort(self._sorted[bucket], key)
            idx[key] = meta
            if written is None:
                data.unlink(missing_ok=True)
            if old is not None and old.segments:
                self._drop_segments(bucket, old)

    def _drop_segments(self, bucket: str, meta: ObjectMeta) -> None:
        for name, _ in meta.segments or []:
            (self._bdir(bucket) / "objects" / name).unlink(missing_ok=True)

    def discard(self, written: Written) -> None:
        written.path.unlink(missing_ok=True)

    def head(self, bucket: str, key: str) -> ObjectMeta:
        self.require_bucket(bucket)
        meta = self._index[bucket].get(key)
        if meta is None:
            raise no_such_key(key)
        return meta

    def open(self, bucket: str, key: str) -> tuple[ObjectMeta, list[tuple[BinaryIO, int]]]:
        """The object's data as open (file, size) pieces (one, or one per part of a multipart object)."""
        with self._lock:
            meta = self.head(bucket, key)
            if not meta.segments:
                return meta, [(open(self._paths(bucket, key)[0], "rb"), meta.size)]
            objects = self._bdir(bucket) / "objects"
            return meta, [(open(objects / name, "rb"), size) for name, size in meta.segments]

    def delete(self, bucket: str, key: str) -> bool:
        self.require_bucket(bucket)
        data, mfile = self._paths(bucket, key)
        with self._lock:
            old = self._index[bucket].pop(key, None)
            if old is None:
                return False
            self._drop_segments(bucket, old)
            keys = self._sorted[bucket]
            i = bisect.bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                del keys[i]
            mfile.unlink(missing_ok=True)
            data.unlink(missing_ok=True)
        return True

    def copy(self, src_bucket: str, src_key: str, bucket: str, key: str, meta: ObjectMeta | None) -> ObjectMeta:
        src_meta, pieces = self.open(src_bucket, src_key)

        def chunks() -> Iterator[bytes]:
            for f, _ in pieces:
                with f:
                    yield from iter(lambda f=f: f.read(CHUNK), b"")

        written = self.receive(bucket, chunks())
        new = ObjectMeta(**asdict(src_meta))
        new.segments, new.object_type = None, "Normal"
        new.key = key
        new.last_modified = time.time()
        if meta is not None:  # x-oss-metadata-directive: REPLACE
            new.user_meta, new.content_type = meta.user_meta, meta.content_type
        self.commit(bucket, key, written, new)
        return new

    def list(self, bucket: str, prefix: str, start_after: str, delimiter: str, max_keys: int
             ) -> tuple[list[ObjectMeta], list[str], bool, str]:
        """Objects and common prefixes after `start_after`; returns (objects, prefixes, truncated, last)."""
        self.require_bucket(bucket)
        with self._lock:
            keys = self._sorted[bucket]
            idx = self._index[bucket]
            i = bisect.bisect_right(keys, start_after) if start_after else 0
            i = max(i, bisect.bisect_left(keys, prefix))
            if delimiter and start_after.endswith(delimiter) and start_after.startswith(prefix):
                # the marker is a common prefix handed out earlier: skip everything under it
                i = max(i, bisect.bisect_left(keys, start_after[:-1] + chr(ord(start_after[-1]) + 1)))
            objects: list[ObjectMeta] = []
            prefixes: list[str] = []
            last = ""
            while i < len(keys):
                k = keys[i]
                if not k.startswith(prefix):
                    break
                if len(objects) + len(prefixes) >= max_keys:
                    return objects, prefixes, True, last
                if delimiter:
                    pos = k.find(delimiter, len(prefix))
                    if pos >= 0:
                        common = k[: pos + len(delimiter)]
                        prefixes.append(common)
                        last = common
                        # skip every key under this common prefix
                        i = bisect.bisect_left(keys, common[:-1] + chr(ord(common[-1]) + 1))
                        continue
                objects.append(idx[k])
                last = k
                i += 1
            return objects, prefixes, False, last

    # ---- multipart
    def _udir(self, bucket: str, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9A-F]{32}", upload_id):
            raise no_such_upload(upload_id)
        return self._bdir(bucket) / "uploads" / upload_id

    def initiate(self, bucket: str, key: str, meta: ObjectMeta) -> str:
        self.require_bucket(bucket)
        upload_id = uuid.uuid4().hex.upper()
        d = self._udir(bucket, upload_id)
        d.mkdir(parents=True)
        (d / "upload.json").write_text(json.dumps(asdict(meta) | {"initiated": time.time()}))
        return upload_id

    def uploads(self, bucket: str) -> list[dict]:
        self.require_bucket(bucket)
        out = []
        for f in (self._bdir(bucket) / "uploads").glob("*/upload.json"):
            try:
                info = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            out.append({"key": info["key"], "upload_id": f.parent.name, "initiated": info.get("initiated", 0)})
        return sorted(out, key=lambda u: (u["key"], u["initiated"]))

    def upload_meta(self, bucket: str, key: str, upload_id: str) -> dict:
        self.require_bucket(bucket)
        try:
            info = json.loads((self._udir(bucket, upload_id) / "upload.json").read_text())
        except (OSError, ValueError):
            raise no_such_upload(upload_id) from None
        if info["key"] != key:
            raise no_such_upload(upload_id)
        return info

    def put_part(self, bucket: str, key: str, upload_id: str, number: int, written: Written) -> None:
        self.upload_meta(bucket, key, upload_id)
        d = self._udir(bucket, upload_id)
        info = {"number": number, "size": written.size, "etag": written.md5.hex().upper(),
                "crc64": written.crc64, "last_modified": time.time()}
        with self._lock:
            if not d.exists():
                self.discard(written)
                raise no_such_upload(upload_id)
            os.replace(written.path, d / f"part-{number:05d}")
            (d / f"part-{number:05d}.json").write_text(json.dumps(info))

    def parts(self, bucket: str, key: str, upload_id: str) -> list[dict]:
        self.upload_meta(bucket, key, upload_id)
        d = self._udir(bucket, upload_id)
        out = []
        for pf in sorted(d.glob("part-*.json")):
            try:
                out.append(json.loads(pf.read_text()))
            except (OSError, ValueError):
                continue
        return out

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self.upload_meta(bucket, key, upload_id)
        with self._lock:
            shutil.rmtree(self._udir(bucket, upload_id), ignore_errors=True)

    def complete(self, bucket: str, key: str, upload_id: str, wanted: list[tuple[int, str]]) -> ObjectMeta:
        info = self.upload_meta(bucket, key, upload_id)
        have = {p["number"]: p for p in self.parts(bucket, key, upload_id)}
        if not wanted:
            raise malformed("The XML you provided was not well-formed or did not validate against our published schema.")
        numbers = [n for n, _ in wanted]
        if numbers != sorted(set(numbers)):
            raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        for n, etag in wanted:
            part = have.get(n)
            if part is None or part["etag"] != etag.strip('"').upper():
                raise OssError(400, "InvalidPart", "One or more of the specified parts could not be found "
                               "or the specified entity tag might not have matched the part's entity tag.",
                               PartNumber=str(n))
        for i, (n, _) in enumerate(wanted):
            if i < len(wanted) - 1 and have[n]["size"] < MIN_PART_SIZE:
                raise OssError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.",
                               PartNumber=str(n), MinSizeAllowed=str(MIN_PART_SIZE))
        d = self._udir(bucket, upload_id)
        etag_md5 = hashlib.md5(b"".join(bytes.fromhex(have[n]["etag"]) for n, _ in wanted), usedforsecurity=False)
        crc: int | None = 0
        for n, _ in wanted:
            part_crc = have[n].get("crc64")
            crc = None if crc is None or part_crc is None else crc64_combine(crc, int(part_crc), have[n]["size"])
        info.pop("initiated", None)
        meta = ObjectMeta(**info)
        meta.size = sum(have[n]["size"] for n, _ in wanted)
        meta.last_modified, meta.crc64 = time.time(), None if crc is None else str(crc)
        meta.etag = f"{etag_md5.hexdigest().upper()}-{len(wanted)}"
        meta.object_type = "Multipart"
        h = hashlib.sha256(key.encode()).hexdigest()
        meta.segments = [[f"{h[:2]}/{h}.{upload_id}.{n:05d}", have[n]["size"]] for n, _ in wanted]
        objects = self._bdir(bucket) / "objects"
        (objects / h[:2]).mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not d.exists():
                raise no_such_upload(upload_id)
            for (name, _), (n, _) in zip(meta.segments, wanted, strict=True):
                os.replace(d / f"part-{n:05d}", objects / name)
            self.commit(bucket, key, None, meta)
            shutil.rmtree(d, ignore_errors=True)
        return meta


def malformed(message: str) -> OssError:
    return OssError(400, "MalformedXML", message)
