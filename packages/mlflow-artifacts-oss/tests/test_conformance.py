"""The shared artifact-repository conformance suite, on the OSS test server, with signature V1,
signature V4, and V4 with every file going through multipart upload and ranged download."""

from __future__ import annotations

import pytest
from mlflow_artifacts_oss.repository import OssArtifactRepository

from mlflow_plugins_shared.testing.artifact_repo import (  # noqa: F401  (the kit's fixtures)
    ArtifactRepositoryConformance,
    local_repo,
    src_dir,
)

VARIANTS = {
    "v1": {},
    "v4": {"REGION": "cn-hangzhou", "SIGNATURE_VERSION": "v4"},
    "v4-multipart": {"REGION": "cn-hangzhou", "MULTIPART_THRESHOLD": "1", "PART_SIZE": "100KiB",
                     "DOWNLOAD_THRESHOLD": "1", "THREADS": "3"},
}


class TestOssConformance(ArtifactRepositoryConformance):
    @pytest.fixture(params=sorted(VARIANTS))
    def repo(self, request, oss_settings, root_uri):
        oss_settings(**VARIANTS[request.param])
        return OssArtifactRepository(root_uri, tracking_uri="sqlite:///unused.db", registry_uri=None)
