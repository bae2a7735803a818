"""OSS error responses: HTTP status + OSS error code, as the API reference lists them."""

from __future__ import annotations


class OssError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


def no_such_key(key: str) -> OssError:
    return OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def no_such_upload(upload_id: str) -> OssError:
    return OssError(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be "
                    "invalid, or the upload may have been aborted or completed.", UploadId=upload_id)


def invalid_argument(message: str, **extra: str) -> OssError:
    return OssError(400, "InvalidArgument", message, **extra)


def malformed_xml(message: str = "The XML you provided was not well-formed.") -> OssError:
    return OssError(400, "MalformedXML", message)


def access_denied(message: str) -> OssError:
    return OssError(403, "AccessDenied", message)
