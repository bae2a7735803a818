"""A requests auth object that signs each request with SigV4 over the exact body bytes sent.

The canonical request, string to sign and key derivation are botocore's (`SigV4Auth`); its
`add_auth` is not used because it logs the signature at DEBUG level.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

import requests
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests.auth import AuthBase

_logger = logging.getLogger(__name__)
_SIGNED = ("content-type",)  # plus host, x-amz-date and x-amz-security-token, which botocore adds


class SigV4Signer(AuthBase):
    def __init__(self, credentials: Credentials, region: str, service: str) -> None:
        self._credentials = credentials
        self.region = region
        self.service = service

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = _exact_body(r)
        frozen = self._credentials.get_frozen_credentials()  # refreshes temporary credentials when due
        signer = SigV4Auth(frozen, self.service, self.region)
        headers = {k: v for k, v in r.headers.items() if k.lower() in _SIGNED}
        aws = AWSRequest(method=r.method, url=r.url, data=body, headers=headers)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime(SIGV4_TIMESTAMP)
        aws.context["timestamp"] = stamp
        aws.headers["X-Amz-Date"] = stamp
        if frozen.token:
            aws.headers["X-Amz-Security-Token"] = frozen.token
        canonical = signer.canonical_request(aws)
        signature = signer.signature(signer.string_to_sign(aws, canonical), aws)
        signed = signer.signed_headers(signer.headers_to_sign(aws))
        r.headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={signer.scope(aws)}, "
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
        return body  # botocore hashes seekable files and seeks back
    elif isinstance(body, Iterable):
        _logger.debug("buffering a streamed request body to sign it")
        data = b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)
        r.headers.pop("Transfer-Encoding", None)
    else:
        data = bytes(body)  # type: ignore[call-overload]
    r.body = data
    r.headers["Content-Length"] = str(len(data))
    return data
