"""A requests auth object that signs each request with SigV4 over the exact body bytes sent."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
from botocore.credentials import Credentials
from requests.auth import AuthBase

from mlflow_auth_sigv4.canonical import SigningKeys, canonical_request, host_header, payload_hash

_logger = logging.getLogger(__name__)


class SigV4Signer(AuthBase):
    """Signs host, x-amz-date, x-amz-security-token and content-type, and the body's SHA-256."""

    def __init__(self, credentials: Credentials, region: str, service: str) -> None:
        self._credentials = credentials
        self._keys = SigningKeys()
        self.region = region
        self.service = service

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = _exact_body(r)
        frozen = self._credentials.get_frozen_credentials()  # refreshes temporary credentials when due
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        parts = urlsplit(r.url or "")
        headers = {"host": host_header(parts), "x-amz-date": stamp}
        content_type = r.headers.get("Content-Type")
        if content_type:
            headers["content-type"] = content_type if isinstance(content_type, str) else content_type.decode()
        if frozen.token:
            headers["x-amz-security-token"] = frozen.token
        text, signed = canonical_request(r.method or "GET", parts, headers, payload_hash(body))
        scope = f"{stamp[:8]}/{self.region}/{self.service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(text.encode()).hexdigest()}"
        key = self._keys.get(frozen.secret_key, stamp[:8], self.region, self.service)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        r.headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, "
                                      f"SignedHeaders={signed}, Signature={signature}")
        r.headers["X-Amz-Date"] = stamp
        if frozen.token:
            r.headers["X-Amz-Security-Token"] = frozen.token
        else:
            r.headers.pop("X-Amz-Security-Token", None)
        return r

    def __repr__(self) -> str:
        return f"SigV4Signer(region={self.region!r}, service={self.service!r})"


def _exact_body(r: requests.PreparedRequest) -> object:
    """Make `r.body` the bytes that go on the wire, and return what to hash."""
    body = r.body
    if body is None or isinstance(body, bytes):
        return body or b""
    if isinstance(body, str):  # http.client would send str as latin-1; sign and send UTF-8 bytes
        data = body.encode("utf-8")
    elif hasattr(body, "seek") and hasattr(body, "tell") and hasattr(body, "read"):
        return body  # hashed in chunks, then rewound
    elif isinstance(body, Iterable):
        _logger.debug("buffering a streamed request body to sign it")
        data = b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)
        r.headers.pop("Transfer-Encoding", None)
    else:
        data = bytes(body)  # type: ignore[call-overload]
    r.body = data
    r.headers["Content-Length"] = str(len(data))
    return data
