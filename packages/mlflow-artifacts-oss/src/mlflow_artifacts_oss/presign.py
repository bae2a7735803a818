"""Presigned URLs, so a proxied `mlflow server --artifacts-destination oss://...` can send clients
straight to OSS: download URLs (MultipartDownloadMixin), single PUT URLs (PresignedUploadMixin)
and multipart uploads whose parts go to presigned URLs (MultipartUploadMixin)."""

from __future__ import annotations

import os
import posixpath
from typing import Any
from urllib.parse import quote

import oss2
from mlflow.entities.multipart_upload import CreateMultipartUploadResponse, MultipartUploadCredential

from mlflow_artifacts_oss.mlflow_api import CreatePresignedUploadResponse, PresignedDownloadUrlResponse
from mlflow_artifacts_oss.transfer import content_type
from mlflow_plugins_shared.errors import invalid_parameter

MAX_EXPIRY = 7 * 24 * 3600  # OSS rejects presigned URLs valid for longer


def _check_expiry(expiration: int) -> int:
    if not isinstance(expiration, int) or not 1 <= expiration <= MAX_EXPIRY:
        raise invalid_parameter(f"Presigned URL expiration must be 1 to {MAX_EXPIRY} seconds, got {expiration!r}")
    return expiration


def _attachment(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"


class PresignMixin:
    """Mixed into OssArtifactRepository (which provides bucket, location, _call)."""

    bucket: oss2.Bucket
    location: Any
    _call: Any

    def get_download_presigned_url(self, artifact_path: str, expiration: int = 300) -> Any:
        expiration = _check_expiry(expiration)
        key = self.location.key(artifact_path)
        head = self._call(f"HEAD {self.location.uri(key)}", lambda: self.bucket.head_object(key))
        url = self.bucket.sign_url("GET", key, expiration, slash_safe=True,
                                   params={"response-content-disposition": _attachment(posixpath.basename(key))})
        return PresignedDownloadUrlResponse(url=url, headers={}, file_size=head.content_length)

    def create_presigned_upload_url(self, artifact_path: str, expiration: int = 900) -> Any:
        key = self.location.key(artifact_path)
        ctype = content_type(key)
        url = self.bucket.sign_url("PUT", key, _check_expiry(expiration), slash_safe=True,
                                   headers={"Content-Type": ctype})
        return CreatePresignedUploadResponse(presigned_url=url, headers={"Content-Type": ctype})

    def _mpu_key(self, local_file: str, artifact_path: str | None) -> str:
        return self.location.key(artifact_path, os.path.basename(local_file))

    def create_multipart_upload(self, local_file: str, num_parts: int = 1,
                                artifact_path: str | None = None) -> CreateMultipartUploadResponse:
        if not isinstance(num_parts, int) or not 1 <= num_parts <= 10000:
            raise invalid_parameter(f"num_parts must be 1 to 10000, got {num_parts!r}")
        key = self._mpu_key(local_file, artifact_path)
        upload_id = self._call(f"initiating multipart upload of {self.location.uri(key)}",
                               lambda: self.bucket.init_multipart_upload(key).upload_id)
        credentials = [
            MultipartUploadCredential(
                url=self.bucket.sign_url("PUT", key, 3600, slash_safe=True,
                                         params={"partNumber": str(n), "uploadId": upload_id}),
                part_number=n, headers={})
            for n in range(1, num_parts + 1)
        ]
        return CreateMultipartUploadResponse(credentials=credentials, upload_id=upload_id)

    def complete_multipart_upload(self, local_file: str, upload_id: str, parts: Any = None,
                                  artifact_path: str | None = None) -> None:
        key = self._mpu_key(local_file, artifact_path)
        infos = [oss2.models.PartInfo(p.part_number, (p.etag or "").strip('"')) for p in (parts or [])]
        if not infos:
            raise invalid_parameter("complete_multipart_upload needs the uploaded parts")
        self._call(f"completing multipart upload of {self.location.uri(key)}",
                   lambda: self.bucket.complete_multipart_upload(key, upload_id, sorted(infos, key=lambda p: p.part_number)))

    def abort_multipart_upload(self, local_file: str, upload_id: str, artifact_path: str | None = None) -> None:
        key = self._mpu_key(local_file, artifact_path)
        self._call(f"aborting multipart upload of {self.location.uri(key)}",
                   lambda: self.bucket.abort_multipart_upload(key, upload_id))
