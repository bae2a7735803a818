"""Server-side verification of OSS signature V1 (HMAC-SHA1) and V4 (OSS4-HMAC-SHA256),
for header-signed requests and presigned URLs, following Alibaba Cloud's API reference."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from mlflow_testenv.oss_server.errors import OssError, access_denied, invalid_argument

# Query parameters that are part of the V1 canonicalized resource.
V1_SUBRESOURCES = frozenset("""
response-content-type response-content-language response-cache-control logging
response-content-encoding acl uploadId uploads partNumber group link delete website location
objectInfo objectMeta response-expires response-content-disposition cors lifecycle restore qos
referer stat bucketInfo append position security-token live comp status vod startTime endTime
x-oss-process symlink callback callback-var tagging encryption versions versioning versionId
policy requestPayment x-oss-traffic-limit qosInfo asyncFetch x-oss-request-payer sequential
inventory inventoryId continuation-token worm wormId wormExtend replication replicationLocation
replicationProgress transferAcceleration cname metaQuery x-oss-ac-source-ip x-oss-ac-subnet-mask
x-oss-ac-vpc-id x-oss-ac-forward-allow resourceGroup style styleName x-oss-async-process
regionList x-oss-write-get-object-response bucketArchiveDirectRead httpsConfig
redundancyTransition x-oss-target-redundancy-type x-oss-redundancy-transition-taskid
accessPoint accessPointPolicy publicAccessBlock x-oss-access-point-name requesterQosInfo
qosRequester resourcePoolInfo resourcePool resourcePoolBuckets""".split())
V4_DEFAULT_SIGNED = ("content-type", "content-md5")
MAX_SKEW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Credential:
    key_id: str
    secret: str
    security_token: str = ""


@dataclass
class SignedRequest:
    """What signature verification needs from one HTTP request (already URL-decoded)."""

    method: str
    bucket: str
    key: str
    params: list[tuple[str, str]]
    headers: Mapping[str, str]  # lower-cased names


def _mismatch(string_to_sign: str) -> OssError:
    return OssError(403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. "
                    "Check your key and signing method.", StringToSign=string_to_sign)


def _v1_resource(req: SignedRequest) -> str:
    subs = sorted((k, v) for k, v in req.params if k in V1_SUBRESOURCES)
    sub = "&".join(k + "=" + v if v else k for k, v in subs)
    base = f"/{req.bucket}/{req.key}" if req.bucket else "/"
    return base + ("?" + sub if sub else "")


def _v1_string(req: SignedRequest, date: str) -> str:
    oss_headers = sorted((k, v) for k, v in req.headers.items() if k.startswith("x-oss-"))
    canon = "".join(f"{k}:{v}\n" for k, v in oss_headers)
    return "\n".join([req.method, req.headers.get("content-md5", ""),
                      req.headers.get("content-type", ""), date, canon + _v1_resource(req)])


def _v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _v4_encode(text: str, keep_slash: bool) -> str:
    out = []
    for b in text.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "_-~.") or (keep_slash and c == "/"):
            out.append(c)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def _v4_string(req: SignedRequest, params: list[tuple[str, str]], additional: list[str],
               date_time: str, scope: str, payload: str) -> str:
    uri = _v4_encode(f"/{req.bucket}/{req.key}" if req.bucket else "/", True)
    query = "&".join(k + "=" + v if v else k for k, v in sorted(
        (_v4_encode(k, False), _v4_encode(v, False)) for k, v in params))
    signed = sorted((k, v) for k, v in req.headers.items()
                    if k.startswith("x-oss-") or k in V4_DEFAULT_SIGNED or k in additional)
    headers = "".join(f"{k}:{v}\n" for k, v in signed)
    canonical = "\n".join([req.method, uri, query, headers, ";".join(sorted(additional)), payload])
    return "\n".join(["OSS4-HMAC-SHA256", date_time, scope,
                      hashlib.sha256(canonical.encode()).hexdigest()])


def _v4_signature(secret: str, date: str, region: str, product: str, string_to_sign: str) -> str:
    key = ("aliyun_v4" + secret).encode()
    for part in (date, region, product, "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class Verifier:
    """Checks a request's signature against known credentials (static keys and issued STS keys)."""

    def __init__(self, lookup: Callable[[str], Credential | None], region: str) -> None:
        self.lookup = lookup
        self.region = region

    def _credential(self, key_id: str, token: str) -> Credential:
        cred = self.lookup(key_id)
        if cred is None:
            raise OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
                           OSSAccessKeyId=key_id)
        if cred.security_token and token != cred.security_token:
            raise OssError(403, "InvalidSecurityToken", "The security token you provided is invalid.")
        return cred

    def verify(self, req: SignedRequest) -> None:
        auth = req.headers.get("authorization", "")
        query = dict(req.params)
        if auth.startswith("OSS "):
            self._verify_v1_header(req, auth[4:])
        elif auth.startswith("OSS4-HMAC-SHA256 "):
            self._verify_v4_header(req, auth[len("OSS4-HMAC-SHA256 "):])
        elif "Signature" in query and "OSSAccessKeyId" in query:
            self._verify_v1_url(req, query)
        elif query.get("x-oss-signature-version") == "OSS4-HMAC-SHA256":
            self._verify_v4_url(req, query)
        elif auth:
            raise invalid_argument("Authorization header is invalid.")
        else:
            raise access_denied("AccessDenied: anonymous access is forbidden for this operation.")

    def _verify_v1_header(self, req: SignedRequest, value: str) -> None:
        key_id, _, signature = value.rpartition(":")
        cred = self._credential(key_id, req.headers.get("x-oss-security-token", ""))
        date = req.headers.get("x-oss-date") or req.headers.get("date", "")
        _check_skew_http_date(date)
        sts = _v1_string(req, date)
        if not hmac.compare_digest(_v1_signature(cred.secret, sts), signature):
            raise _mismatch(sts)

    def _verify_v1_url(self, req: SignedRequest, query: dict[str, str]) -> None:
        cred = self._credential(query["OSSAccessKeyId"], query.get("security-token", ""))
        expires = query.get("Expires", "")
        if not expires.isdigit():
            raise invalid_argument("Expires must be a number of seconds since the epoch.")
        if int(expires) < time.time():
            raise access_denied("Request has expired.")
        sts = _v1_string(req, expires)
        if not hmac.compare_digest(_v1_signature(cred.secret, sts), query["Signature"]):
            raise _mismatch(sts)

    def _scope(self, credential: str) -> tuple[str, str, str, str]:
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aliyun_v4_request":
            raise invalid_argument("Invalid credential in Authorization header.")
        key_id, date, region, product, _ = parts
        if region != self.region:
            raise invalid_argument(f"Invalid signing region in Authorization header: {region!r}; "
                                   f"this endpoint is in {self.region!r}.")
        return key_id, date, region, product

    def _verify_v4_header(self, req: SignedRequest, value: str) -> None:
        fields = dict(p.strip().split("=", 1) for p in value.split(",") if "=" in p)
        if "Credential" not in fields or "Signature" not in fields:
            raise invalid_argument("Authorization header is invalid.")
        key_id, date, region, product = self._scope(fields["Credential"])
        cred = self._credential(key_id, req.headers.get("x-oss-security-token", ""))
        date_time = req.headers.get("x-oss-date", "")
        _check_skew_iso(date_time)
        additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
        payload = req.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
        sts = _v4_string(req, req.params, additional, date_time,
                         f"{date}/{region}/{product}/aliyun_v4_request", payload)
        if not hmac.compare_digest(_v4_signature(cred.secret, date, region, product, sts), fields["Signature"]):
            raise _mismatch(sts)

    def _verify_v4_url(self, req: SignedRequest, query: dict[str, str]) -> None:
        key_id, date, region, product = self._scope(query.get("x-oss-credential", ""))
        cred = self._credential(key_id, query.get("x-oss-security-token", ""))
        date_time = query.get("x-oss-date", "")
        expires = query.get("x-oss-expires", "")
        if not expires.isdigit():
            raise invalid_argument("x-oss-expires must be a number of seconds.")
        if _iso_to_epoch(date_time) + int(expires) < time.time():
            raise access_denied("Request has expired.")
        additional = [h for h in query.get("x-oss-additional-headers", "").split(";") if h]
        params = [(k, v) for k, v in req.params if k != "x-oss-signature"]
        sts = _v4_string(req, params, additional, date_time,
                         f"{date}/{region}/{product}/aliyun_v4_request", "UNSIGNED-PAYLOAD")
        if not hmac.compare_digest(_v4_signature(cred.secret, date, region, product, sts),
                                   query.get("x-oss-signature", "")):
            raise _mismatch(sts)


def _iso_to_epoch(value: str) -> float:
    import calendar

    try:
        return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise invalid_argument(f"Invalid x-oss-date {value!r}.") from None


def _check_skew_iso(value: str) -> None:
    if abs(_iso_to_epoch(value) - time.time()) > MAX_SKEW_SECONDS:
        raise OssError(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")


def _check_skew_http_date(value: str) -> None:
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        raise access_denied(f"Invalid date {value!r} in request.") from None
    if abs(when - time.time()) > MAX_SKEW_SECONDS:
        raise OssError(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
