"""HTTP request handling: addressing (path-style / virtual-hosted), authentication, and the
object, listing and multipart operations."""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from mlflow_testenv.http_server import LocalHTTPServer
from mlflow_testenv.oss_server.errors import OssError, invalid_argument, malformed_xml
from mlflow_testenv.oss_server.signing import Credential, SignedRequest, Verifier
from mlflow_testenv.oss_server.storage import CHUNK, MAX_PARTS, ObjectMeta, Store, check_key
from mlflow_testenv.oss_server.xmlbody import error_body, http_date, iso8601, parse, render

_logger = logging.getLogger("oss_server")
ECS_PREFIX = "/_ecs/latest/meta-data/ram/security-credentials/"
ADMIN_PREFIX = "/_testenv/"
MAX_DELETE_KEYS = 1000


@dataclass
class Fault:
    status: int
    count: int
    method: str = ""
    key_contains: str = ""
    drop: bool = False  # close the connection instead of answering
    code: str = ""
    # answer normally but report a wrong x-oss-hash-crc64ecma, as if the body had been corrupted in flight
    bad_crc: bool = False


@dataclass
class Config:
    data: Path
    key_id: str
    secret: str
    region: str = "cn-hangzhou"
    domain: str = "oss.test"
    buckets: list[str] = field(default_factory=list)
    # cap each connection's body throughput (MiB/s, 0 = none): models a WAN link, where one TCP
    # connection cannot use the whole bandwidth (benchmarks only)
    throttle_mibps: float = 0.0


class Pacer:
    """Sleeps so that bytes moved on one connection stay under a rate."""

    def __init__(self, mibps: float) -> None:
        self.rate = mibps * 1024 * 1024
        self.start = time.monotonic()
        self.moved = 0

    def __call__(self, nbytes: int) -> None:
        if self.rate <= 0:
            return
        self.moved += nbytes
        ahead = self.moved / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            time.sleep(ahead)


class OssServer(LocalHTTPServer):

    def __init__(self, address: tuple[str, int], config: Config) -> None:
        super().__init__(address, Handler)
        self.config = config
        self.store = Store(config.data)
        for b in config.buckets:
            self.store.create_bucket(b)
        self.sts: dict[str, Credential] = {}
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.verifier = Verifier(self._lookup, config.region)

    def _lookup(self, key_id: str) -> Credential | None:
        if key_id == self.config.key_id:
            return Credential(key_id, self.config.secret)
        return self.sts.get(key_id)

    def issue_sts(self) -> Credential:
        cred = Credential("STS." + secrets.token_hex(8), secrets.token_urlsafe(24), secrets.token_urlsafe(48))
        with self.lock:
            self.sts[cred.key_id] = cred
        return cred

    def take_fault(self, method: str, key: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.count > 0 and (not f.method or f.method == method) and f.key_contains in key:
                    f.count -= 1
                    return f
        return None


_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


class Handler(BaseHTTPRequestHandler):
    server: OssServer
    protocol_version = "HTTP/1.1"
    server_version = "AliyunOSS"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        _logger.debug("%s " + format, self.client_address[0], *args)

    # ---- plumbing
    def _dispatch(self) -> None:
        self.request_id = uuid.uuid4().hex[:24].upper()
        self._body_read = False
        self._pace = Pacer(self.server.config.throttle_mibps)
        self._bad_crc = False
        try:
            self._route()
        except OssError as e:
            self._drain()
            body = error_body(e, self.request_id, self.headers.get("host", ""))
            self._send(e.status, body if self.command != "HEAD" else b"",
                       {"Content-Type": "application/xml", "x-oss-ec": "0000-00000000"},
                       length=len(body))
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:  # a server bug: answer 500 InternalError, keep serving
            _logger.exception("internal error")
            self._drain()
            err = OssError(500, "InternalError", "We encountered an internal error. Please try again.")
            body = error_body(err, self.request_id, "")
            self._send(500, body, {"Content-Type": "application/xml"})

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _dispatch

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("x-oss-request-id", self.request_id)
        self.send_header("Date", http_date(time.time()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _body_chunks(self) -> Iterator[memoryview]:
        """The request body in pieces of up to CHUNK bytes, read straight into one reused buffer.

        Each piece is a view of that buffer: use it before asking for the next one."""
        self._body_read = True
        buf = memoryview(bytearray(CHUNK))
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield from self._read_exactly(size, buf)
                self.rfile.readline(3)
        yield from self._read_exactly(int(self.headers.get("content-length") or 0), buf)

    def _read_exactly(self, remaining: int, buf: memoryview) -> Iterator[memoryview]:
        while remaining:
            n = self.rfile.readinto(buf[: min(remaining, len(buf))])
            if not n:
                raise ConnectionError("client went away")
            remaining -= n
            self._pace(n)
            yield buf[:n]

    def _body(self, limit: int = 8 * 1024 * 1024) -> bytes:
        data = bytearray()
        for piece in self._body_chunks():
            data += piece
            if len(data) > limit:
                self.close_connection = True  # the rest of the body is left unread
                raise invalid_argument("Request body is too large.")
        return bytes(data)

    def _drain(self) -> None:
        if not self._body_read:
            try:
                for _ in self._body_chunks():
                    pass
            except (ConnectionError, ValueError):
                self.close_connection = True

    # ---- addressing
    def _target(self) -> tuple[str, str, list[tuple[str, str]], str]:
        parts = urlsplit(self.path)
        host = (parts.netloc or self.headers.get("host", "")).split(":")[0].lower()
        params = parse_qsl(parts.query, keep_blank_values=True)
        path = parts.path or "/"
        domain = self.server.config.domain
        if host.endswith("." + domain) and not _IP.match(host):
            bucket = host[: -len(domain) - 1]
            key = unquote(path[1:])
        else:
            bucket, _, raw_key = path[1:].partition("/")
            bucket, key = unquote(bucket), unquote(raw_key)
        return bucket, key, params, path

    # ---- routing
    def _route(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(ECS_PREFIX) and self.command == "GET":
            return self._ecs_credentials()
        if path.startswith(ADMIN_PREFIX):
            return self._admin(path[len(ADMIN_PREFIX):])
        bucket, key, params, _ = self._target()
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.verifier.verify(SignedRequest(self.command, bucket, key, params, headers))
        fault = self.server.take_fault(self.command, key)
        if fault is not None and fault.bad_crc:
            self._bad_crc = True
        elif fault is not None:
            if fault.drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            code = fault.code or ("ServiceUnavailable" if fault.status == 503 else "InternalError")
            raise OssError(fault.status, code, "Injected fault (testenv).")
        q = dict(params)
        if not bucket:
            if self.command == "GET":
                return self._list_buckets()
            raise invalid_argument("This operation needs a bucket.")
        if not key:
            return self._bucket_op(bucket, q)
        check_key(key)
        m = self.command
        if m == "PUT" and "partNumber" in q and "uploadId" in q:
            return self._upload_part(bucket, key, q)
        if m == "PUT":
            if "x-oss-copy-source" in self.headers:
                return self._copy(bucket, key)
            return self._put(bucket, key)
        if m == "POST" and "uploads" in q:
            return self._initiate(bucket, key)
        if m == "POST" and "uploadId" in q:
            return self._complete(bucket, key, q["uploadId"])
        if m == "DELETE" and "uploadId" in q:
            self.server.store.abort(bucket, key, q["uploadId"])
            return self._send(204)
        if m == "GET" and "uploadId" in q:
            return self._list_parts(bucket, key, q)
        if m in ("GET", "HEAD"):
            return self._get(bucket, key, q, head=m == "HEAD" or "objectMeta" in q)
        if m == "DELETE":
            self.server.store.delete(bucket, key)
            return self._send(204)
        raise OssError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    def _bucket_op(self, bucket: str, q: dict[str, str]) -> None:
        m = self.command
        if m == "PUT" and not q:
            self.server.store.create_bucket(bucket)
            return self._send(200)
        if m == "POST" and "delete" in q:
            return self._delete_multiple(bucket, q)
        if m == "GET" and not ({"uploads", "acl", "bucketInfo", "location"} & set(q)):
            if q.get("list-type") == "2":
                return self._list_v2(bucket, q)
            return self._list_v1(bucket, q)
        if m == "GET" and "uploads" in q:
            return self._list_uploads(bucket, q)
        if m == "GET" and "bucketInfo" in q:
            self.server.store.require_bucket(bucket)
            return self._xml(render("BucketInfo", ("Bucket", [("Name", bucket), ("Location", f"oss-{self.server.config.region}"),
                                                               ("StorageClass", "Standard")])))
        raise OssError(501, "NotImplemented", "This bucket operation is not implemented by the test server.")

    def _xml(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, body, {"Content-Type": "application/xml", **(headers or {})})

    # ---- objects
    def _meta_from_headers(self, key: str) -> ObjectMeta:
        user = {k.lower()[len("x-oss-meta-"):]: v for k, v in self.headers.items() if k.lower().startswith("x-oss-meta-")}
        ctype = self.headers.get("content-type") or "application/octet-stream"
        return ObjectMeta(key=key, size=0, etag="", last_modified=time.time(), content_type=ctype, user_meta=user)

    def _check_overwrite(self, bucket: str, key: str) -> None:
        if self.headers.get("x-oss-forbid-overwrite", "").lower() == "true":
            try:
                self.server.store.head(bucket, key)
            except OssError:
                return
            raise OssError(409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")

    def _receive_checked(self, bucket: str):
        store = self.server.store
        written = store.receive(bucket, self._body_chunks())
        md5 = self.headers.get("content-md5")
        if md5 is not None and md5 != base64.b64encode(written.md5).decode():
            store.discard(written)
            raise OssError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        return written

    def _put(self, bucket: str, key: str) -> None:
        self.server.store.require_bucket(bucket)
        self._check_overwrite(bucket, key)
        meta = self._meta_from_headers(key)
        written = self._receive_checked(bucket)
        meta.size, meta.etag, meta.crc64 = written.size, written.md5.hex().upper(), written.crc64
        self.server.store.commit(bucket, key, written, meta)
        self._send(200, headers=self._etag_headers(meta))

    def _etag_headers(self, meta: ObjectMeta) -> dict[str, str]:
        return self._crc_header({"ETag": f'"{meta.etag}"'}, meta.crc64)

    def _crc_header(self, headers: dict[str, str], crc: str | None) -> dict[str, str]:
        if crc is not None:
            headers["x-oss-hash-crc64ecma"] = str(int(crc) ^ 1) if self._bad_crc else crc
        return headers

    def _copy(self, bucket: str, key: str) -> None:
        src = unquote(self.headers["x-oss-copy-source"])
        src_bucket, _, src_key = src.lstrip("/").partition("/")
        if not src_key:
            raise invalid_argument("x-oss-copy-source must be /bucket/key.")
        self._check_overwrite(bucket, key)
        self.server.store.require_bucket(bucket)
        replace = self.headers.get("x-oss-metadata-directive", "COPY").upper() == "REPLACE"
        meta = self.server.store.copy(src_bucket, src_key, bucket, key, self._meta_from_headers(key) if replace else None)
        self._xml(render("CopyObjectResult", ("ETag", f'"{meta.etag}"'), ("LastModified", iso8601(meta.last_modified))),
                  headers=self._etag_headers(meta))

    def _get(self, bucket: str, key: str, q: dict[str, str], head: bool) -> None:
        meta, pieces = self.server.store.open(bucket, key)
        try:
            headers = {"Content-Type": q.get("response-content-type", meta.content_type),
                       "Last-Modified": http_date(meta.last_modified), "Accept-Ranges": "bytes",
                       "x-oss-object-type": meta.object_type, "x-oss-storage-class": "Standard",
                       "ETag": f'"{meta.etag}"'}
            for k, v in meta.user_meta.items():
                headers["x-oss-meta-" + k] = v
            for p, h in (("response-content-disposition", "Content-Disposition"),
                         ("response-cache-control", "Cache-Control"),
                         ("response-content-encoding", "Content-Encoding")):
                if p in q:
                    headers[h] = q[p]
            start, end = 0, meta.size - 1
            status = 200
            rng = self._range(meta.size)
            if rng is not None:
                start, end = rng
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{meta.size}"
            else:
                self._crc_header(headers, meta.crc64)
            length = max(0, end - start + 1)
            self._send(status, b"", headers, length=length)
            if head or not length:
                return
            self.wfile.flush()
            offset = 0  # of the current piece within the object
            for f, size in pieces:
                lo, hi = max(start, offset), min(end + 1, offset + size)
                while lo < hi:
                    n = hi - lo if self._pace.rate <= 0 else min(hi - lo, CHUNK)
                    self.connection.sendfile(f, lo - offset, n)
                    self._pace(n)
                    lo += n
                offset += size
        finally:
            for f, _ in pieces:
                f.close()

    def _range(self, size: int) -> tuple[int, int] | None:
        value = self.headers.get("range")
        if not value:
            return None
        standard = self.headers.get("x-oss-range-behavior", "").lower() == "standard"
        m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value)
        if m is None or (not m.group(1) and not m.group(2)):
            return None  # OSS ignores a malformed Range and returns the whole object
        a, b = m.group(1), m.group(2)
        if not a:
            n = int(b)
            return (max(0, size - n), size - 1) if n and size else None
        start = int(a)
        end = min(int(b), size - 1) if b else size - 1
        if start >= size or (b and int(b) < start):
            if standard:
                raise OssError(416, "InvalidRange", "The requested range cannot be satisfied.")
            return None
        return start, end

    # ---- listing
    def _max_keys(self, q: dict[str, str], name: str = "max-keys", default: int = 100) -> int:
        raw = q.get(name, str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise invalid_argument(f"Argument {name} must be an integer from 1 to 1000.", ArgumentName=name,
                                   ArgumentValue=raw)
        return int(raw)

    def _list_common(self, bucket: str, q: dict[str, str], start_after: str, max_keys: int):
        url = q.get("encoding-type") == "url"
        if "encoding-type" in q and not url:
            raise invalid_argument("The encoding-type must be url.")
        enc = (lambda s: quote(s, safe="/")) if url else (lambda s: s)
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        objects, prefixes, truncated, last = self.server.store.list(bucket, prefix, start_after, delimiter, max_keys)
        contents = [("Contents", [("Key", enc(o.key)), ("LastModified", iso8601(o.last_modified)),
                                  ("ETag", f'"{o.etag}"'), ("Type", o.object_type), ("Size", o.size),
                                  ("StorageClass", "Standard"), ("Owner", [("ID", "0"), ("DisplayName", "0")])])
                    for o in objects]
        common = [("CommonPrefixes", [("Prefix", enc(p))]) for p in prefixes]
        head = [("Name", bucket), ("Prefix", enc(prefix)), ("MaxKeys", max_keys), ("Delimiter", enc(delimiter))]
        if url:
            head.append(("EncodingType", "url"))
        return head, contents, common, truncated, last, enc

    def _list_v1(self, bucket: str, q: dict[str, str]) -> None:
        max_keys = self._max_keys(q)
        marker = q.get("marker", "")
        head, contents, common, truncated, last, enc = self._list_common(bucket, q, marker, max_keys)
        tail = [("IsTruncated", str(truncated).lower())]
        if truncated:
            tail.append(("NextMarker", enc(last)))
        self._xml(render("ListBucketResult", *head[:2], ("Marker", enc(marker)), *head[2:], *tail, *contents, *common))

    def _list_v2(self, bucket: str, q: dict[str, str]) -> None:
        max_keys = self._max_keys(q)
        token = q.get("continuation-token")
        start = q.get("start-after", "")
        if token is not None:
            try:
                start = max(start, base64.urlsafe_b64decode(token.encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise invalid_argument("The continuation token provided is incorrect.") from None
        head, contents, common, truncated, last, enc = self._list_common(bucket, q, start, max_keys)
        extra = [("StartAfter", enc(q["start-after"]))] if "start-after" in q else []
        if token is not None:
            extra.append(("ContinuationToken", token))
        tail = [("IsTruncated", str(truncated).lower()), ("KeyCount", len(contents) + len(common))]
        if truncated:
            tail.append(("NextContinuationToken", base64.urlsafe_b64encode(last.encode()).decode()))
        self._xml(render("ListBucketResult", *head, *extra, *tail, *contents, *common))

    def _list_buckets(self) -> None:
        buckets = [("Bucket", [("CreationDate", iso8601(0)), ("ExtranetEndpoint", self.server.config.domain),
                               ("IntranetEndpoint", self.server.config.domain), ("Location", f"oss-{self.server.config.region}"),
                               ("Name", b), ("Region", self.server.config.region), ("StorageClass", "Standard")])
                   for b in self.server.store.buckets()]
        self._xml(render("ListAllMyBucketsResult", ("Owner", [("ID", "0"), ("DisplayName", "0")]), ("Buckets", buckets)))

    def _delete_multiple(self, bucket: str, q: dict[str, str]) -> None:
        self.server.store.require_bucket(bucket)
        if "content-md5" not in self.headers:
            raise OssError(400, "MissingArgument", "Missing Some Required Arguments.", ArgumentName="Content-MD5")
        import hashlib

        body = self._body()
        if base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode() != self.headers["content-md5"]:
            raise OssError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        root = parse(body)
        if root.tag != "Delete":
            raise malformed_xml()
        keys = [(o.findtext("Key") or "") for o in root.findall("Object")]
        if not keys or len(keys) > MAX_DELETE_KEYS:
            raise malformed_xml(f"A Delete request must name 1 to {MAX_DELETE_KEYS} objects.")
        quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
        enc = (lambda s: quote(s, safe="/")) if q.get("encoding-type") == "url" else (lambda s: s)
        for k in keys:
            check_key(k)
            self.server.store.delete(bucket, k)
        deleted = [] if quiet else [("Deleted", [("Key", enc(k))]) for k in keys]
        extra = [("EncodingType", "url")] if q.get("encoding-type") == "url" else []
        self._xml(render("DeleteResult", *extra, *deleted))

    # ---- multipart
    def _initiate(self, bucket: str, key: str) -> None:
        self._check_overwrite(bucket, key)
        upload_id = self.server.store.initiate(bucket, key, self._meta_from_headers(key))
        self._xml(render("InitiateMultipartUploadResult", ("Bucket", bucket), ("Key", key), ("UploadId", upload_id)))

    def _list_uploads(self, bucket: str, q: dict[str, str]) -> None:
        prefix = q.get("prefix", "")
        uploads = [u for u in self.server.store.uploads(bucket) if u["key"].startswith(prefix)]
        url = q.get("encoding-type") == "url"
        enc = (lambda s: quote(s, safe="/")) if url else (lambda s: s)
        self._xml(render("ListMultipartUploadsResult", ("Bucket", bucket), ("KeyMarker", ""), ("UploadIdMarker", ""),
                         ("NextKeyMarker", ""), ("NextUploadIdMarker", ""), ("Delimiter", ""), ("Prefix", enc(prefix)),
                         ("MaxUploads", 1000), ("IsTruncated", "false"),
                         *([("EncodingType", "url")] if url else []),
                         *[("Upload", [("Key", enc(u["key"])), ("UploadId", u["upload_id"]),
                                       ("Initiated", iso8601(u["initiated"]))]) for u in uploads]))

    def _upload_part(self, bucket: str, key: str, q: dict[str, str]) -> None:
        raw = q["partNumber"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PARTS:
            raise invalid_argument(f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive.",
                                   ArgumentName="partNumber", ArgumentValue=raw)
        self.server.store.upload_meta(bucket, key, q["uploadId"])
        written = self._receive_checked(bucket)
        self.server.store.put_part(bucket, key, q["uploadId"], int(raw), written)
        self._send(200, headers=self._crc_header({"ETag": f'"{written.md5.hex().upper()}"'}, written.crc64))

    def _complete(self, bucket: str, key: str, upload_id: str) -> None:
        store = self.server.store
        store.upload_meta(bucket, key, upload_id)
        body = self._body()
        if self.headers.get("x-oss-complete-all", "").lower() == "yes":
            if body:
                raise invalid_argument("With x-oss-complete-all the body must be empty.")
            wanted = [(p["number"], p["etag"]) for p in store.parts(bucket, key, upload_id)]
        else:
            root = parse(body)
            if root.tag != "CompleteMultipartUpload":
                raise malformed_xml()
            try:
                wanted = [(int(p.findtext("PartNumber") or ""), p.findtext("ETag") or "") for p in root.findall("Part")]
            except ValueError:
                raise malformed_xml() from None
        self._check_overwrite(bucket, key)
        meta = store.complete(bucket, key, upload_id, wanted)
        self._xml(render("CompleteMultipartUploadResult", ("Location", f"/{bucket}/{key}"), ("Bucket", bucket),
                         ("Key", key), ("ETag", f'"{meta.etag}"')), headers=self._etag_headers(meta))

    def _list_parts(self, bucket: str, key: str, q: dict[str, str]) -> None:
        max_parts = self._max_keys(q, "max-parts", 1000)
        marker_raw = q.get("part-number-marker", "0") or "0"
        if not marker_raw.isdigit():
            raise invalid_argument("part-number-marker must be an integer.")
        marker = int(marker_raw)
        parts = [p for p in self.server.store.parts(bucket, key, q["uploadId"]) if p["number"] > marker]
        truncated = len(parts) > max_parts
        parts = parts[:max_parts]
        next_marker = parts[-1]["number"] if parts else marker
        self._xml(render("ListPartsResult", ("Bucket", bucket), ("Key", key), ("UploadId", q["uploadId"]),
                         ("PartNumberMarker", marker), ("NextPartNumberMarker", next_marker), ("MaxParts", max_parts),
                         ("IsTruncated", str(truncated).lower()),
                         *[("Part", [("PartNumber", p["number"]), ("LastModified", iso8601(p["last_modified"])),
                                     ("ETag", f'"{p["etag"]}"'), ("Size", p["size"])]) for p in parts]))

    # ---- test-only endpoints (credentials and fault injection)
    def _ecs_credentials(self) -> None:
        cred = self.server.issue_sts()
        now = time.time()
        body = json.dumps({"Code": "Success", "AccessKeyId": cred.key_id, "AccessKeySecret": cred.secret,
                           "SecurityToken": cred.security_token,
                           "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
                           "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}).encode()
        self._send(200, body, {"Content-Type": "application/json"})

    def _admin(self, what: str) -> None:
        if what == "sts" and self.command == "POST":
            self._body()
            cred = self.server.issue_sts()
            body = json.dumps({"AccessKeyId": cred.key_id, "AccessKeySecret": cred.secret,
                               "SecurityToken": cred.security_token}).encode()
            return self._send(200, body, {"Content-Type": "application/json"})
        if what == "faults" and self.command == "POST":
            try:
                spec = json.loads(self._body() or b"{}")
                fault = Fault(int(spec.get("status", 503)), int(spec.get("count", 1)), str(spec.get("method", "")),
                              str(spec.get("key_contains", "")), bool(spec.get("drop", False)),
                              str(spec.get("code", "")), bool(spec.get("bad_crc", False)))
            except (ValueError, TypeError):
                raise invalid_argument("fault spec must be JSON {status, count, method, key_contains, drop, code, "
                                       "bad_crc}") from None
            with self.server.lock:
                self.server.faults.append(fault)
            return self._send(204)
        if what == "faults" and self.command == "DELETE":
            with self.server.lock:
                self.server.faults.clear()
            return self._send(204)
        if what == "health":
            return self._send(200, b"ok")
        raise OssError(404, "NotFound", "Unknown test-server endpoint.")
